"""Domain errors, and the handlers that turn them and HTTP errors into pages."""

from flask import flash, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
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


# --- the catalogue: every error key the domain raises, and what the user is told, in their language -----------
# Each entry takes the error's detail (a dict) and gives the message; gettext finds nb, nn and en in the catalogues.
# tests/unit/test_error_catalogue.py checks that every key raised anywhere in grants/ has an entry here.

def _kroner(value):
    from grants.i18n import kroner

    return kroner(value or 0)


def _oslo(value):
    """A UTC time as the reader's language writes its Oslo day and time (grants.core.wording.moment_in)."""
    from grants.core.wording import moment_in
    from grants.i18n import current_language

    return moment_in(value, current_language()) if value is not None else ""


def _oslo_day(value):
    from grants.core.timeutil import oslo_date

    return oslo_date(value).strftime("%d.%m.%Y") if value is not None else ""


def _password_limits():
    from grants.accounts.passwords import MAX_LENGTH, MIN_LENGTH

    return MIN_LENGTH, MAX_LENGTH


CATALOGUE = {
    # who may
    "not_permitted": lambda d: _("You do not have permission to do this."),
    "four_eyes": lambda d: _("A decision must be approved by someone other than the person who proposed it, and "
                             "not by someone who has declared a conflict of interest."),
    "conflict_declared": lambda d: _("This person has declared a conflict of interest in the application and "
                                     "cannot be assigned."),
    "not_imdi": lambda d: _("Only IMDi's staff can review applications."),
    "cannot_start": lambda d: _("Applications can be started only by a kommune's staff while the round is open."),
    "first_user_needs_imdi": lambda d: _("The first user of a kommune is approved by IMDi."),
    # the case's state
    "not_allowed": lambda d: _("This cannot be done while the application has its present status."),
    "not_editable": lambda d: _("The application is sent and can no longer be changed."),
    "already_submitted": lambda d: _("The application is already sent."),
    "not_withdrawable": lambda d: _("The application has a decision that has been sent, so it can no longer be "
                                    "withdrawn."),
    "formal_check_missing": lambda d: _("The application has not passed the formal check yet."),
    "draft_locked": lambda d: _("The deadline has passed. The draft can be read but no longer changed."),
    "deadline_passed": lambda d: _("The deadline has passed. The application can no longer be sent or changed."),
    "conflict": lambda d: _("Someone else saved this part of the application after you opened it."),
    "incomplete": lambda d: _("The application is not complete. Fill in what is missing before you send it."),
    # what was typed
    "reason_required": lambda d: _("Give a reason."),
    "channel": lambda d: _("Choose e-mail or post."),
    "no_reviewers": lambda d: _("Add reviewers to the round before assigning automatically."),
    "review_submitted": lambda d: _("The review is submitted and can no longer be changed."),
    "review_incomplete": lambda d: _("Score every criterion and choose a recommendation before you submit."),
    "missing": lambda d: _("Choose a score."),
    "out_of_scale": lambda d: _("Choose a score on the scale."),
    "comment_required": lambda d: _("A comment is required for the two lowest scores."),
    "suggested_amount": lambda d: _("The suggested amount cannot be more than the amount applied for."),
    "above_applied": lambda d: _("The amount cannot be more than the amount applied for."),
    "amount_required": lambda d: _("Enter the amount granted."),
    "reasons_required": lambda d: _("Give the reasons for the decision: the rules, the facts or the main "
                                    "considerations."),
    "too_long_value": lambda d: _("This is far longer than the field takes. Shorten it; nothing in this part was "
                                  "saved."),
    # money
    "over_budget": lambda d: _("This is more than what remains of the round's budget (%(remaining)s).",
                               remaining=_kroner(d.get("remaining"))),
    # appeals
    "appeals_not_allowed": lambda d: _("Decisions in this round cannot be appealed."),
    "not_released": lambda d: _("The decision has not been sent yet."),
    "appeal_too_late": lambda d: _("The deadline for appealing has passed."),
    "appeal_handled": lambda d: _("The appeal has already been handled."),
    "text_required": lambda d: _("Write what you appeal and why."),
    # attachments
    "empty_file": lambda d: _("The file is empty."),
    "too_large": lambda d: _("The file is larger than 10 MB."),
    "too_many": lambda d: _("An application can have at most 10 attachments."),
    "wrong_type": lambda d: _("The file must be a PDF, DOCX, ODT or XLSX document."),
    "name_mismatch": lambda d: _("The file's content does not match its name. Upload a PDF, DOCX, ODT or XLSX "
                                 "document with the right ending."),
    # rounds
    "deadline_before_opening": lambda d: _("The deadline must be after the opening."),
    "budget_not_positive": lambda d: _("The amount must be more than zero."),
    "year_not_deadline_year": lambda d: _("The year must be the year of the deadline."),
    "dates_locked": lambda d: _("The round has received applications, so its year, opening and deadline can no "
                                "longer be changed here. Use \"Change the deadline\" to move the deadline."),
    "deadline_unchanged": lambda d: _("Choose a date other than the present deadline."),
    "deadline_before_received": lambda d: _("Applications have been received up to this date; the deadline "
                                            "cannot be before it."),
    # publishing
    "deadline_not_passed": lambda d: _("The round's deadline has not passed: applications can be sent until "
                                       "%(deadline)s. Publish after that, when every application is decided.",
                                       deadline=_oslo(d.get("deadline"))),
    "decisions_not_released": lambda d: ngettext(
        "%(num)d application has no released decision yet. Every application must be decided and the decision "
        "sent before the summary is published.",
        "%(num)d applications have no released decision yet. Every application must be decided and the decisions "
        "sent before the summary is published.", d.get("open") or 0),
    "note_required": lambda d: _("A correction needs a note that says what was corrected."),
    "unpublish_reason_required": lambda d: _("Give a reason for unpublishing."),
    "already_unpublished": lambda d: _("This summary is already withdrawn from publication."),
    # the grant
    "grant_answered": lambda d: _("The grant has already been answered."),
    "conditions_not_confirmed": lambda d: _("Confirm that the municipality accepts the conditions."),
    "account_number_invalid": lambda d: _("Enter a Norwegian account number of 11 digits, for example "
                                          "1234.56.78903. Check the digits: this number does not exist."),
    "grant_not_accepted": lambda d: _("The municipality has not accepted the grant, so nothing can be paid yet."),
    "payment_not_positive": lambda d: _("Enter an amount of at least 1 krone."),
    "payment_above_payable": lambda d: _("This is more than can be paid now (%(payable)s). What is held back until "
                                         "the report is approved is paid after that.",
                                         payable=_kroner(d.get("payable"))),
    "payment_handled": lambda d: _("Someone else has handled this payment already."),
    "paid_on_required": lambda d: _("Enter the date the payment was made."),
    "paid_on_future": lambda d: _("The date of payment cannot be in the future."),
    "paid_on_before_approval": lambda d: _("The date of payment cannot be before the payment was approved "
                                           "(%(day)s).", day=_oslo_day(d.get("approved"))),
    # the report on a grant
    "report_not_draft": lambda d: _("This version of the report is sent and can no longer be changed."),
    "report_conflict": lambda d: _("Someone else saved the report after you opened it. Open it again to see "
                                   "what they saved."),
    "report_spending_lines": lambda d: _("Enter what was spent on each line of the budget, 0 where nothing was "
                                         "spent."),
    "report_unused_above_paid": lambda d: _("Unused funds cannot be more than what was paid out (%(paid)s).",
                                            paid=_kroner(d.get("paid"))),
    "report_assessed": lambda d: _("Someone else has assessed this report already."),
    "report_too_many": lambda d: _("A report can have at most %(n)s documents.", n=d.get("n") or 10),
    "resubmit_by_required": lambda d: _("Enter the date by which the municipality sends the report again."),
    "resubmit_by_past": lambda d: _("The date cannot be in the past."),
    # messages on a case
    "message_required": lambda d: _("Write the message."),
    "request_not_internal": lambda d: _("An internal note cannot ask the municipality for an answer."),
    "answer_by_past": lambda d: _("The date to answer by cannot be in the past."),
    "too_many_files": lambda d: _("A message can have at most %(n)s documents attached.", n=d.get("n")),
    "file_refused": lambda d: _("The file %(name)s was not accepted, so nothing was sent. %(reason)s",
                                name=d.get("name") or "", reason=message_for(d.get("reason"))),
    "no_open_request": lambda d: _("IMDi is not asking for more information now, so documents cannot be added to "
                                   "the application. Send them with a message instead."),
    "too_many_supplements": lambda d: _("At most %(n)s documents can be sent afterwards to an application.",
                                        n=d.get("n")),
    # repayment claims (krav om tilbakebetaling)
    "claim_grant_not_accepted": lambda d: _("Only a grant the municipality has accepted can be claimed back."),
    "claim_amount_required": lambda d: _("Enter the amount to claim back, at least 1 krone."),
    "claim_above_paid": lambda d: _("This is more than can be claimed back (%(claimable)s). A claim cannot be more "
                                    "than what has been paid on the grant, less its other repayment claims.",
                                    claimable=_kroner(d.get("claimable"))),
    "reason_too_long": lambda d: _("The reason can be at most %(n)s characters.", n=d.get("limit") or 3000),
    "due_on_required": lambda d: _("Enter the date the amount must be repaid by."),
    "due_on_past": lambda d: _("The due date cannot be in the past."),
    "claim_four_eyes": lambda d: _("A repayment claim must be approved by someone other than the person who "
                                   "proposed it, and not by someone who has declared a conflict of interest."),
    "claim_handled": lambda d: _("Someone else has handled this repayment claim already."),
    "claim_due_passed": lambda d: _("The due date of this claim has passed. Withdraw it and propose it again with "
                                    "a new due date."),
    "claim_not_collecting": lambda d: _("Repayments can only be recorded on an approved claim that is not yet "
                                        "repaid in full."),
    "repayment_above_claim": lambda d: _("This is more than is still owed on the claim (%(outstanding)s).",
                                         outstanding=_kroner(d.get("outstanding"))),
    "received_on_required": lambda d: _("Enter the date the repayment was received."),
    "received_on_future": lambda d: _("The date received cannot be in the future."),
    "received_on_before_claim": lambda d: _("The date received cannot be before the claim was approved (%(day)s).",
                                            day=_oslo_day(d.get("approved"))),
    # accounts
    "too_short": lambda d: _("The password must be at least %(n)s characters.", n=_password_limits()[0]),
    "too_long": lambda d: _("The password can be at most %(n)s characters.", n=_password_limits()[1]),
    "too_common": lambda d: _("This password is too common. Choose one that is harder to guess."),
    "same_as_email": lambda d: _("The password cannot be your e-mail address."),
    "email_taken": lambda d: _("A user with this e-mail address already exists."),
    "wrong_password": lambda d: _("The current password is wrong."),
    "token_invalid": lambda d: _("The link is invalid or has expired. Ask for a new one."),
    "not_staff_role": lambda d: _("Choose an IMDi role."),
    "organisation_number_invalid": lambda d: _("Enter an organisation number of 9 digits. Check the digits: this "
                                               "number does not exist."),
    "organisation_number_taken": lambda d: _("%(municipality)s already has this organisation number.",
                                             municipality=d.get("municipality") or ""),
    # the second factor (grants.accounts.mfa)
    "code_wrong": lambda d: _("The code is wrong. Type the six digits your app shows now, or one of your recovery "
                              "codes."),
    "code_used": lambda d: _("This code has been used already. Wait until your app shows a new code, and type "
                             "that one."),
    "code_clock": lambda d: _("The code is from another time than now: the clock of your phone is probably wrong. "
                              "Check that your phone sets its date and time automatically, then type the new "
                              "code."),
    "recovery_code_used": lambda d: _("This recovery code has been used already. Each recovery code works once: "
                                      "type another one."),
    "not_enrolled": lambda d: _("You have not set up a second factor yet."),
}


def message_for(key, **detail):
    """The message for an error key (str) in the user's language (str), with ``detail`` (the DomainError's detail:
    amounts in whole kroner, times in UTC) filled in. A key with no entry gets the general "This cannot be done."
    (tests/unit/test_error_catalogue.py keeps that from happening to any key the code raises)."""
    entry = CATALOGUE.get(key)
    return entry(detail) if entry is not None else _("This cannot be done.")


def error_message(error):
    """``message_for`` of a DomainError."""
    return message_for(error.message, **error.detail)


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
        return render_error(error.status, error_message(error))

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
            # "try again shortly"; the pool reconnects by itself once the server is back
            # (grants.db.configure_postgresql discards a connection the server has ended).
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
