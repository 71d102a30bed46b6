"""One request frame for the views that change something (DESIGN.md: views are thin).

A view names its parts and ``act`` runs them in this order, the same everywhere:

    load the objects (the view: 404)  ->  permission (the view: 403)  ->  validate the form  ->  one operation
    ->  commit once  ->  the notices queued in that transaction go to the outbox worker (grants.notify.outbox
    hands them over after the commit)  ->  flash and redirect (Post/Redirect/Get)

A refusal of the domain (a DomainError) rolls everything back and becomes a message from the one catalogue
(grants.errors.CATALOGUE) in the user's language: beside its field and in the form's error summary when the view
gave a form and a page to show it again, otherwise on the error page with the error's status."""

from flask import flash, redirect
from flask_login import current_user

from grants.errors import BudgetExceeded, DomainError, ValidationFailed, error_message
from grants.extensions import db


def acting_user():
    """The signed-in user as the User object itself (the operations take a User, not Flask-Login's proxy)."""
    return current_user._get_current_object()


def put_error(form, error, field_name=None):
    """Show ``error`` (a DomainError) on ``form``: beside ``field_name`` (or the field the error names, detail
    "field"), or at the top of the form when the form has no such field. The form's error summary lists both."""
    message = error_message(error)
    field = getattr(form, field_name or error.detail.get("field") or "", None)
    if field is None or not hasattr(field, "errors"):
        form.form_errors.append(message)
    else:
        field.errors = [*(field.errors or []), message]


# The refusals that are about what was typed, shown on the form. The others (the case's state changed: 409; no
# right to do it: 403) get the error page with their status.
ABOUT_THE_FORM = (ValidationFailed, BudgetExceeded)


def act(operation, *, done, form=None, again=None, success=None, field=None, show=None, on_form=ABOUT_THE_FORM,
        refused=None):
    """Run one change in the request and answer it.

    ``operation`` is called with no arguments (a lambda around one use case from an ``operations`` module; it may
    raise DomainError). ``done(result)`` gives the URL to go to afterwards (or ``done`` is that URL). ``form``, if
    given, is validated first (``form.validate()``); ``again(form)`` gives the page that shows the form again
    with its errors (answered 422). ``success`` (str, or callable(result) giving str or None) is flashed after the
    commit. ``field`` names the form field that gets an error without a field of its own, or is a callable(error)
    giving that name. ``show(form, error)``, if given, places the error itself (an error about several fields).
    ``on_form`` are the DomainError classes shown on the form (by default ValidationFailed and BudgetExceeded).
    ``refused``, if given, is where a refusal not shown on a form goes: ``refused`` (a URL, or callable(error)
    giving one) after the error's message is flashed; a page with a list of actions sends the user back to it.

    Returns the response. Commits exactly once, and only when the operation returned; rolls back otherwise. Raises
    the DomainError again when there is neither a form to show it on nor a ``refused`` page (the app's handler
    makes the error page)."""
    if form is not None and not form.validate():
        return again(form), 422
    try:
        result = operation()
    except DomainError as error:
        db.session.rollback()
        if form is None or again is None or not isinstance(error, on_form):
            if refused is None:
                raise
            flash(error_message(error), "error")
            return redirect(refused(error) if callable(refused) else refused)
        if show is not None:
            show(form, error)
        else:
            put_error(form, error, field(error) if callable(field) else field)
        return again(form), 422
    db.session.commit()
    message = success(result) if callable(success) else success
    if message:
        flash(message, "success")
    return redirect(done(result) if callable(done) else done)
