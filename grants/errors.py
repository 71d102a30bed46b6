"""Domain errors, and the handlers that turn them and HTTP errors into pages."""

from flask import flash, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule of the domain said no. The message is shown to the user."""

    status = 409

    def __init__(self, message, **detail):
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidTransition(DomainError):
    status = 409


class NotPermitted(DomainError):
    status = 403


class BudgetExceeded(DomainError):
    status = 409


class DeadlinePassed(DomainError):
    status = 409


class ValidationFailed(DomainError):
    status = 422


class StaleData(DomainError):
    """Someone else saved the same object since it was read."""

    status = 409


ERROR_TEMPLATES = {400, 403, 404, 409, 422, 429, 500}


def _wants_json():
    return request.path.startswith("/api/")


def render_error(status, message=None, headers=None):
    """The error page (or JSON under /api/) for ``status``; ``headers`` such as Allow or Retry-After are kept."""
    headers = [(k, v) for k, v in headers or () if k.lower() != "content-type"]
    if _wants_json():
        return jsonify({"error": status, "message": message}), status, headers
    # A client error without a page of its own (405, 413...) gets the page for a bad request, not a server error.
    fallback = 400 if 400 <= status < 500 else 500
    template = f"errors/{status if status in ERROR_TEMPLATES else fallback}.html"
    return render_template(template, message=message), status, headers


def register_error_handlers(app):
    from grants.extensions import db, login_manager

    @app.errorhandler(DomainError)
    def domain_error(error):
        db.session.rollback()
        return render_error(error.status, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        # A form without its token, or with another session's (a page left open past the session, or a form
        # posted from another site): nothing was done, and the user is told why in words they can act on.
        return render_error(400, _("The form had expired or did not come from this service, so nothing was "
                                   "saved. Go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code and error.code < 400:
            return error
        if error.code == 413:
            flash(_("The file is too large."), "error")
        headers = error.get_headers()
        # A refused login attempt says when to try again: the length of the limit's window, the longest wait.
        window = getattr(getattr(error, "limit", None), "limit", None)
        if error.code == 429 and window is not None:
            headers.append(("Retry-After", str(window.get_expiry())))
        return render_error(error.code or 500, None, headers)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        if database_unavailable(error):
            # PostgreSQL restarting or out of reach: the transaction was rolled back, nothing was saved. 503 says
            # "try again shortly"; the pool (pool_pre_ping) reconnects by itself once the server is back.
            app.logger.warning("database unavailable on %s %s: %s", request.method, request.path,
                               str(error).splitlines()[0])
            # Nothing below (the language, the page, the response headers) may ask the database who is logged in.
            g._login_user = login_manager.anonymous_user()
            status, headers = 503, {"Retry-After": "5", "Cache-Control": "no-store"}
        else:
            app.logger.exception("unhandled error on %s %s", request.method, request.path)
            status, headers = 500, {}
        try:
            db.session.rollback()
        except Exception:  # noqa: S110 - a dead connection cannot roll back; the pool discards it
            pass
        try:
            body, status, _headers = render_error(status)
        except Exception:  # the template itself failed: answer in plain text
            body = "Service Unavailable" if status == 503 else "Internal Server Error"
        return body, status, headers


    @app.teardown_appcontext
    def end_session_even_if_the_database_is_gone(_exc):
        """Runs before Flask-SQLAlchemy's own teardown. Ending the session rolls back; if PostgreSQL cut the
        connection meanwhile, that raises after the page was made, and gunicorn would answer its own 500 instead
        of the page. The connection is invalidated by then and the pool drops it, so the error can go."""
        try:
            db.session.remove()
        except Exception as error:
            if not database_unavailable(error):
                raise
            app.logger.warning("database connection lost at the end of a request: %s", str(error).splitlines()[0])
            db.session.registry.clear()


def database_unavailable(error):
    """True for a failure to reach the database (refused, restarting, connection cut), not for a bad query."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    text = str(error.orig or error).lower()
    return any(sign in text for sign in (
        "connection", "starting up", "shutting down", "terminating", "server closed", "could not connect",
        "the database system is", "ssl syscall", "eof detected"))
