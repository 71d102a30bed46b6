"""Security headers on every response, and the session rules of RELIABILITY.md."""

from datetime import UTC, datetime, timedelta

from flask import Request, request, session
from flask_login import current_user, logout_user
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


class CleanRequest(Request):
    """Form fields and query parameters without NUL and the other control characters no person types (tab and
    line ends kept). PostgreSQL refuses NUL in text, and nothing else in a form needs them: a field that held
    one is saved without it instead of the request ending in a 500."""

    def _load_form_data(self):
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form is not None and any(_dirty(v) for v in form.values()):
            self.__dict__["form"] = ImmutableMultiDict(
                [(key, value.translate(_CONTROL)) for key, value in form.items(multi=True)])

    @cached_property
    def args(self):
        args = super().args
        if any(_dirty(v) for v in args.values()):
            return ImmutableMultiDict([(key, value.translate(_CONTROL)) for key, value in args.items(multi=True)])
        return args


def _dirty(value):
    return isinstance(value, str) and any(ord(c) < 32 and c not in "\t\n\r" for c in value)


def static_headers(headers, path, url):
    """The security headers a static file needs, for WhiteNoise (grants.static_files), which serves
    ``/static/`` before a request reaches Flask's own after_request hook: ``headers`` (wsgiref Headers) gains
    them; ``path`` and ``url`` are the file and its URL, the same for every file."""
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"


def session_timing(config):
    """(idle seconds, warning seconds) of the session, from ``config``: the idle end is PERMANENT_SESSION_LIFETIME
    (a timedelta or seconds, as Flask takes it); the warning comes SESSION_WARNING_SECONDS before it, but never
    in the first half of the idle time (a short lifetime still leaves time to work before the warning)."""
    lifetime = config["PERMANENT_SESSION_LIFETIME"]
    idle = int(lifetime.total_seconds() if isinstance(lifetime, timedelta) else lifetime)
    warning = min(int(config.get("SESSION_WARNING_SECONDS", 120)), idle // 2)
    return idle, warning


def init_app(app):
    app.request_class = CleanRequest

    @app.context_processor
    def _session_timing():
        idle, warning = session_timing(app.config)
        return {"session_idle_seconds": idle, "session_warning_seconds": warning}

    @app.before_request
    def enforce_absolute_session_lifetime():
        if not current_user.is_authenticated:
            return
        started = session.get("login_at")
        limit = timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
        if started is None or datetime.now(UTC) - datetime.fromtimestamp(started, UTC) > limit:
            logout_user()
            session.clear()

    @app.after_request
    def security_headers(response):
        # A session with something in it expires after the idle time (PERMANENT_SESSION_LIFETIME), not with the
        # browser. An empty one stays empty: a visitor who only reads public pages is given no cookie at all.
        if session and not session.permanent:
            session.permanent = True
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
