"""Security headers on every response, and the session rules of RELIABILITY.md."""

from datetime import UTC, datetime, timedelta

from flask import request, session
from flask_login import current_user, logout_user

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def init_app(app):
    @app.before_request
    def enforce_absolute_session_lifetime():
        session.permanent = True  # idle timeout = PERMANENT_SESSION_LIFETIME
        if not current_user.is_authenticated:
            return
        started = session.get("login_at")
        limit = timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
        if started is None or datetime.now(UTC) - datetime.fromtimestamp(started, UTC) > limit:
            logout_user()
            session.clear()

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # From the session cookie, not current_user: after a commit the user's attributes are expired, and
        # reloading them here would turn a page already made (a submission's receipt redirect) into a 500 if
        # the database went away meanwhile.
        if session.get("_user_id") and not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        return response
