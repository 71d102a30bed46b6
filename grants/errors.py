"""Domain errors, and the handlers that turn them and HTTP errors into pages."""

from flask import flash, jsonify, render_template, request
from flask_babel import gettext as _
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


def render_error(status, message=None):
    if _wants_json():
        return jsonify({"error": status, "message": message}), status
    template = f"errors/{status if status in ERROR_TEMPLATES else 500}.html"
    return render_template(template, message=message), status


def register_error_handlers(app):
    from grants.extensions import db

    @app.errorhandler(DomainError)
    def domain_error(error):
        db.session.rollback()
        return render_error(error.status, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code and error.code < 400:
            return error
        if error.code == 413:
            flash(_("The file is too large."), "error")
        return render_error(error.code or 500, None)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        try:
            return render_error(500)
        except Exception:  # the template itself failed: answer in plain text
            return "Internal Server Error", 500
