"""IMDi's pages: rounds and their inboxes, registering received applications, the case page (formal check,
reviewers, reviews, decision, appeals, audit trail), the reviewer pool, ranking and allocation, approval and
release, and the reviewers' own pages (assignments, impartiality, scoring).

Every view is thin: load, check a predicate from grants.review.permissions (403), validate, call one operation,
commit, redirect. The operations' error keys become translated messages here (``problem``)."""

from io import BytesIO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from grants.accounts import operations as accounts_ops
from grants.accounts.models import Municipality, User
from grants.applications import attachments as files
from grants.applications import queries as application_queries
from grants.applications import sections
from grants.applications.documents import application_pdf
from grants.applications.forms import ACTIVITY_CHOICES, SECTION_TITLES
from grants.applications.models import Attachment
from grants.applications.operations import section_answers
from grants.applications.workflow import State
from grants.core import audit
from grants.core.money import format_kroner
from grants.errors import BudgetExceeded, DomainError, NotPermitted, ValidationFailed, render_error
from grants.extensions import db
from grants.review import operations as ops
from grants.review import permissions, queries, scoring
from grants.review.forms import (
    AssignForm,
    AutoAssignForm,
    DecisionForm,
    DeclarationForm,
    FormalCheckForm,
    PoolForm,
    RegisterForm,
    ReverseAppealForm,
    UpholdAppealForm,
    allocation_form,
    review_form,
    review_values,
)
from grants.review.letters import letter_language_for
from grants.review.models import Appeal, AppealState, Assignment, Decision, DecisionState
from grants.rounds.models import Round
from grants.templating import state_names

bp = Blueprint("review", __name__, url_prefix="/saksbehandling")


# --- messages ------------------------------------------------------------------------------------------------

def problem(key, **detail):
    """The translated message for an operation's error key."""
    remaining = detail.get("remaining")
    messages = {
        "not_permitted": lambda: _("You do not have permission to do this."),
        "four_eyes": lambda: _("A decision must be approved by someone other than the person who proposed it, "
                               "and not by someone who has declared a conflict of interest."),
        "conflict_declared": lambda: _("This person has declared a conflict of interest in the application and "
                                       "cannot be assigned."),
        "reason_required": lambda: _("Give a reason."),
        "not_allowed": lambda: _("This cannot be done while the application has its present status."),
        "formal_check_missing": lambda: _("The application has not passed the formal check yet."),
        "not_imdi": lambda: _("Only IMDi's staff can review applications."),
        "no_reviewers": lambda: _("Add reviewers to the round before assigning automatically."),
        "channel": lambda: _("Choose e-mail or post."),
        "review_submitted": lambda: _("The review is submitted and can no longer be changed."),
        "review_incomplete": lambda: _("Score every criterion and choose a recommendation before you submit."),
        "suggested_amount": lambda: _("The suggested amount cannot be more than the amount applied for."),
        "above_applied": lambda: _("The amount cannot be more than the amount applied for."),
        "amount_required": lambda: _("Enter the amount granted."),
        "reasons_required": lambda: _("Give the reasons for the decision: the rules, the facts or the main "
                                      "considerations."),
        "over_budget": lambda: _("This is more than what remains of the round's budget (%(remaining)s).",
                                 remaining=format_kroner(remaining or 0)),
        "appeals_not_allowed": lambda: _("Decisions in this round cannot be appealed."),
        "not_released": lambda: _("The decision has not been sent yet."),
        "appeal_too_late": lambda: _("The deadline for appealing has passed."),
        "appeal_handled": lambda: _("The appeal has already been handled."),
        "text_required": lambda: _("Write what you appeal and why."),
        "missing": lambda: _("Choose a score."),
        "out_of_scale": lambda: _("Choose a score on the scale."),
        "comment_required": lambda: _("A comment is required for the two lowest scores."),
    }
    return messages[key]() if key in messages else _("This cannot be done.")


def _field_error(form, error, field_name=None):
    """Put an operation's error next to its field, or at the top of the form."""
    field = getattr(form, field_name or error.detail.get("field") or "", None)
    message = problem(error.message, **error.detail)
    if field is None:
        form.form_errors.append(message)
    else:
        field.errors = [*field.errors, message]


@bp.errorhandler(DomainError)
def _domain_error(error):
    db.session.rollback()
    return render_error(error.status, problem(error.message, **error.detail))


# --- loading and access ------------------------------------------------------------------------------------------

@bp.before_request
@login_required
def _imdi_only():
    if not current_user.is_imdi:
        abort(403)


def _user():
    return current_user._get_current_object()


def _round(round_id):
    if not permissions.can_work_on_round(current_user):
        abort(403)
    return db.get_or_404(Round, round_id)


def _application(application_id):
    application = application_queries.application_for_view(application_id)
    if application is None:
        abort(404)
    if not permissions.can_view_case(application, _user()):
        abort(403)
    return application


def _allow(allowed):
    if not allowed:
        abort(403)


# --- rounds and the inbox --------------------------------------------------------------------------------------

INBOX_STATES = ("submitted", "in_review", "granted", "rejected", "dismissed", "withdrawn", "reported", "closed")
SORTS = (("reference", _l("Reference number")), ("municipality", _l("Municipality")),
         ("amount", _l("Amount applied for")), ("received", _l("Received")), ("state", _l("Status")),
         ("score", _l("Score")))


@bp.route("/")
def rounds():
    _allow(permissions.can_work_on_round(current_user))
    return render_template("review/rounds.html", rounds=queries.rounds_with_counts())


@bp.route("/runder/<int:round_id>")
def inbox(round_id):
    round_ = _round(round_id)
    from grants.review.forms import InboxFilterForm

    names = state_names()
    form = InboxFilterForm(request.args, states=[(s, names[s]) for s in INBOX_STATES], counties=queries.counties())
    filters = {"state": form.state.data if form.state.data in INBOX_STATES else None,
               "county": form.county.data or None,
               "activity": form.activity.data if form.activity.data in dict(ACTIVITY_CHOICES) else None}
    sort = request.args.get("sort") if request.args.get("sort") in dict(SORTS) else "reference"
    page = queries.inbox(round_.id, sort=sort, page=request.args.get("side", 1, type=int), **filters)
    return render_template("review/inbox.html", round=round_, form=form, page=page, sort=sort, sorts=SORTS,
                           filters={k: v for k, v in filters.items() if v}, activity_labels=dict(ACTIVITY_CHOICES))


@bp.route("/runder/<int:round_id>/registrer", methods=["GET", "POST"])
def register(round_id):
    round_ = _round(round_id)
    _allow(permissions.can_register_received(current_user))
    form = RegisterForm()
    form.municipality.choices = [("", _("Choose a municipality"))] + [
        (m.number, f"{m.display_name} ({m.number})") for m in accounts_ops.municipalities()]
    if form.validate_on_submit():
        municipality = db.session.scalar(select(Municipality).where(Municipality.number == form.municipality.data))
        application = ops.register_received(
            round_, _user(), municipality=municipality, title=form.title.data.strip(),
            amount_applied=form.amount_applied.amount, channel=form.channel.data,
            received_at=form.received_at.moment, note=(form.note.data or "").strip())
        db.session.commit()
        flash(_("The application is registered as %(reference)s.", reference=application.reference), "success")
        return redirect(url_for("review.case", application_id=application.id))
    return render_template("review/register.html", round=round_, form=form), 422 if form.errors else 200


# --- the round's reviewers -----------------------------------------------------------------------------------

def _reviewers_page(round_, pool_form=None, auto_form=None, status=200):
    pool = queries.round_pool(round_.id)
    pool_form = pool_form or PoolForm(formdata=None, prefix="pool")
    in_pool = {user.id for user, _load in pool}
    pool_form.user.choices = [("", _("Choose a person"))] + [
        (str(u.id), f"{u.name} ({u.email})") for u in queries.imdi_people() if u.id not in in_pool]
    return render_template("review/reviewers.html", round=round_, pool=pool, pool_form=pool_form,
                           auto_form=auto_form or AutoAssignForm(formdata=None, prefix="auto"),
                           can_manage=permissions.is_caseworker(current_user)), status


@bp.route("/runder/<int:round_id>/fagvurderere", methods=["GET", "POST"])
def reviewers(round_id):
    round_ = _round(round_id)
    if request.method == "GET":
        return _reviewers_page(round_)
    _allow(permissions.is_caseworker(current_user))
    form = PoolForm(prefix="pool")
    form.user.choices = [(str(u.id), u.name) for u in queries.imdi_people()]
    if not form.validate():
        return _reviewers_page(round_, pool_form=form, status=422)
    person = db.session.get(User, int(form.user.data))
    ops.add_round_reviewer(round_, person, _user())
    db.session.commit()
    flash(_("%(name)s is added to the round's reviewers.", name=person.name), "success")
    return redirect(url_for("review.reviewers", round_id=round_.id))


@bp.route("/runder/<int:round_id>/fagvurderere/fordel", methods=["POST"])
def auto_assign(round_id):
    round_ = _round(round_id)
    _allow(permissions.is_caseworker(current_user))
    form = AutoAssignForm(prefix="auto")
    try:
        if form.validate():
            made = ops.auto_assign(round_, _user(), per_application=form.per_application.data)
            db.session.commit()
            flash(ngettext("%(num)d assignment was made.", "%(num)d assignments were made.", made), "success")
            return redirect(url_for("review.reviewers", round_id=round_.id))
    except ValidationFailed as error:
        db.session.rollback()
        _field_error(form, error, "per_application")
    return _reviewers_page(round_, auto_form=form, status=422)


# --- ranking and allocation ------------------------------------------------------------------------------------

def _ranking_page(round_, rows, form, status=200):
    return render_template("review/ranking.html", round=round_, rows=rows, form=form,
                           committed=ops.committed_amount(round_.id),
                           can_allocate=permissions.is_caseworker(current_user)), status


@bp.route("/runder/<int:round_id>/rangering", methods=["GET", "POST"])
def ranking(round_id):
    round_ = _round(round_id)
    rows = queries.ranked(round_)
    editable = [r for r in rows if r.application.state == State.in_review]
    if request.method == "GET":
        return _ranking_page(round_, rows, allocation_form(editable))
    _allow(permissions.is_caseworker(current_user))
    form = allocation_form(editable, request.form)
    if form.validate() and _set_allocations(form, editable):
        db.session.commit()
        flash(_("The amounts are saved."), "success")
        return redirect(url_for("review.ranking", round_id=round_.id))
    db.session.rollback()
    return _ranking_page(round_, rows, form, status=422)


def _set_allocations(form, rows):
    """ops.set_allocation for every amount typed; each row's error stays with its row."""
    ok = True
    for row in rows:
        field = form[f"amount_{row.application_id}"]
        if field.amount is None:
            continue
        try:
            ops.set_allocation(row.application, _user(), field.amount)
        except ValidationFailed as error:
            _field_error(form, error, field.name)
            ok = False
    return ok


@bp.route("/runder/<int:round_id>/rangering/fyll", methods=["POST"])
def fill(round_id):
    round_ = _round(round_id)
    _allow(permissions.is_caseworker(current_user))
    amounts = ops.fill_allocations(round_, _user(), queries.ranked(round_))
    db.session.commit()
    flash(_("Amounts are set by rank: %(total)s of %(budget)s.", total=format_kroner(sum(amounts.values())),
            budget=format_kroner(round_.budget)), "success")
    return redirect(url_for("review.ranking", round_id=round_.id))


# --- approval and release --------------------------------------------------------------------------------------

@bp.route("/runder/<int:round_id>/godkjenning")
def approvals(round_id):
    round_ = _round(round_id)
    _allow(permissions.is_approver(current_user))
    proposals = queries.proposals(round_.id)
    approvable = permissions.approvable(proposals, _user())
    return render_template("review/approvals.html", round=round_, proposals=proposals, approvable=approvable,
                           committed=ops.committed_amount(round_.id))


@bp.route("/vedtak/<int:decision_id>/godkjenn", methods=["POST"])
def approve(decision_id):
    decision = db.get_or_404(Decision, decision_id)
    _allow(permissions.can_approve(decision, _user()))
    try:
        ops.approve_decision(decision, _user())
    except BudgetExceeded as error:
        db.session.rollback()
        flash(problem(error.message, **error.detail), "error")
    else:
        db.session.commit()
        flash(_("The decision for %(reference)s is approved.", reference=decision.application.reference), "success")
    if request.form.get("back") == "case":
        return redirect(url_for("review.case", application_id=decision.application_id))
    return redirect(url_for("review.approvals", round_id=decision.round_id))


@bp.route("/runder/<int:round_id>/godkjenning/alle", methods=["POST"])
def approve_all(round_id):
    round_ = _round(round_id)
    _allow(permissions.is_approver(current_user))
    approved, refused = ops.approve_all(round_, _user())
    db.session.commit()
    flash(ngettext("%(num)d decision was approved.", "%(num)d decisions were approved.", len(approved)),
          "success")
    for decision, error in refused:
        flash(_("%(reference)s was not approved: %(reason)s", reference=decision.application.reference,
                reason=problem(error.message, **error.detail)), "error")
    return redirect(url_for("review.approvals", round_id=round_.id))


@bp.route("/runder/<int:round_id>/send-ut", methods=["GET", "POST"])
def release(round_id):
    round_ = _round(round_id)
    _allow(permissions.can_release(current_user))
    if request.method == "GET":
        approved = [d for d in queries.proposals(round_.id) if d.state == DecisionState.approved]
        held = [(d, problem(key)) for d in approved if (key := ops.release_blocker(d)) is not None]
        ready = [d for d in approved if all(d is not h for h, _reason in held)]
        return render_template("review/release.html", round=round_, approved=ready, held=held)
    released, held = ops.release_round(round_, _user())
    db.session.commit()
    flash(ngettext("%(num)d decision was sent.", "%(num)d decisions were sent.", len(released)), "success")
    if held:  # still approved: the release page lists each with what stands in its way
        flash(ngettext("%(num)d decision could not be sent; see why below.",
                       "%(num)d decisions could not be sent; see why below.", len(held)), "error")
        return redirect(url_for("review.release", round_id=round_.id))
    return redirect(url_for("review.approvals", round_id=round_.id))


# --- the case page ---------------------------------------------------------------------------------------------

def _answer_sections(application):
    """[(title, rows)] of each section the applicant filled in, read-only."""
    from grants.applications.views import saved_rows

    result = []
    for section, title in SECTION_TITLES.items():
        if section_answers(application, section) is not None:
            rows = saved_rows(sections.build_form(application, section, csrf=False))
            shown = {"True": _("Yes"), "False": _("No")}
            result.append((str(title), [(label, shown.get(value, value)) for label, value in rows]))
    return result


def _case_forms(application):
    """The case page's forms, unbound, for what this user may do now."""
    user = _user()
    language = letter_language_for(application.municipality)
    forms = {"check_form": None, "assign_form": None, "decision_form": None}
    if permissions.can_formal_check(application, user):
        forms["check_form"] = FormalCheckForm(formdata=None, prefix="check",
                                              data={**ops.suggested_check(application), "letter_language": language})
    if permissions.can_assign(application, user):
        forms["assign_form"] = _assign_form(application, formdata=None)
    if permissions.can_propose(application, user):
        forms["decision_form"] = DecisionForm(formdata=None, prefix="decision", data={"letter_language": language},
                                              amount_applied=application.amount_applied)
    return forms


def _assign_form(application, formdata):
    form = AssignForm(formdata=formdata, prefix="assign")
    taken = {a.reviewer_id for a in queries.assignments_for(application.id) if a.state != "removed"}
    form.reviewer.choices = [("", _("Choose a reviewer"))] + [
        (str(u.id), u.name) for u, _load in queries.round_pool(application.round_id) if u.id not in taken]
    return form


def _appeal_forms(appeals, application):
    language = letter_language_for(application.municipality)
    return {a.id: (ReverseAppealForm(formdata=None, prefix=f"reverse-{a.id}", data={"letter_language": language},
                                     amount_applied=application.amount_applied),
                   UpholdAppealForm(formdata=None, prefix=f"uphold-{a.id}"))
            for a in appeals if a.state == AppealState.lodged}


def _case_page(application, status=200, **bound):
    """The case page with what this user may see; ``bound`` replaces a form by the one just posted."""
    user = _user()
    staff = permissions.can_work_on_round(user)
    reviews = []
    if ops.can_see_other_reviews(application, user):
        reviews = [r for r in queries.reviews_for(application.id) if r.is_submitted]
    decision = ops.current_decision(application) if staff else None
    appeals = queries.appeals_for(application.id) if staff else []
    appeal_forms = _appeal_forms(appeals, application) if permissions.can_handle_appeal(application, user) else {}
    appeal_forms.update(bound.pop("appeal_forms", {}))
    forms = {**_case_forms(application), **bound}
    return render_template(
        "review/case.html", application=application, staff=staff, sections=_answer_sections(application),
        check=queries.formal_check_of(application.id) if staff else None,
        assignments=queries.assignments_for(application.id) if staff else [],
        declarations=queries.declarations_for(application.id) if staff else [],
        own_assignment=permissions.assignment_of(application, user),
        can_declare=permissions.can_declare(application, user), can_score=permissions.can_score(application, user),
        reviews=reviews, criteria=application.round.criteria,
        aggregate=scoring.aggregate([r.weighted_score for r in reviews], application.round.score_spread_threshold),
        decision=decision, can_approve=decision is not None and permissions.can_approve(decision, user),
        appeals=appeals, appeal_forms=appeal_forms, audit_entries=audit.entries_for(application) if staff else [],
        **forms,
    ), status


@bp.route("/soknader/<int:application_id>")
def case(application_id):
    return _case_page(_application(application_id))


@bp.route("/soknader/<int:application_id>/formell-kontroll", methods=["POST"])
def formal_check(application_id):
    application = _application(application_id)
    _allow(permissions.can_formal_check(application, _user()))
    form = FormalCheckForm(prefix="check")
    accept = request.form.get("check-verdict") == "accept"
    try:
        if form.validate():
            ops.formal_check(application, _user(), checks=form.checks(), accept=accept,
                             reason_code=form.reason_code.data or None, reason_text=form.reason_text.data,
                             letter_language=letter_language_for(application.municipality, form.letter_language.data))
            db.session.commit()
            flash(_("The application is accepted for review.") if accept
                  else _("A dismissal is proposed. It takes effect when it is approved and sent."), "success")
            return redirect(url_for("review.case", application_id=application.id))
    except ValidationFailed as error:
        db.session.rollback()
        _field_error(form, error)
    return _case_page(application, 422, check_form=form)


@bp.route("/soknader/<int:application_id>/fagvurderere", methods=["POST"])
def assign(application_id):
    application = _application(application_id)
    _allow(permissions.can_assign(application, _user()))
    form = _assign_form(application, request.form)
    try:
        if form.validate():
            reviewer = db.session.get(User, int(form.reviewer.data))
            ops.assign(application, reviewer, _user())
            db.session.commit()
            flash(_("%(name)s is assigned.", name=reviewer.name), "success")
            return redirect(url_for("review.case", application_id=application.id) + "#reviewers")
    except NotPermitted as error:
        db.session.rollback()
        _field_error(form, error, "reviewer")
    return _case_page(application, 422, assign_form=form)


@bp.route("/soknader/<int:application_id>/fagvurderere/<int:assignment_id>/fjern", methods=["POST"])
def unassign(application_id, assignment_id):
    application = _application(application_id)
    _allow(permissions.can_assign(application, _user()))
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.application_id != application.id:
        abort(404)
    ops.remove_assignment(assignment, _user())
    db.session.commit()
    flash(_("%(name)s is taken off the application.", name=assignment.reviewer.name), "success")
    return redirect(url_for("review.case", application_id=application.id) + "#reviewers")


@bp.route("/soknader/<int:application_id>/vedtak", methods=["POST"])
def propose(application_id):
    application = _application(application_id)
    _allow(permissions.can_propose(application, _user()))
    form = DecisionForm(prefix="decision", amount_applied=application.amount_applied)
    try:
        if form.validate():
            ops.propose_decision(application, _user(), **form.values(), letter_language=letter_language_for(
                application.municipality, form.letter_language.data))
            db.session.commit()
            flash(_("The decision is proposed. Another person must approve it."), "success")
            return redirect(url_for("review.case", application_id=application.id) + "#decision")
    except (ValidationFailed, BudgetExceeded) as error:
        db.session.rollback()
        _field_error(form, error, {"reasons": "reasons_rules"}.get(error.detail.get("field"), "amount"))
    return _case_page(application, 422, decision_form=form)


def _appeal(appeal_id):
    appeal = db.get_or_404(Appeal, appeal_id)
    application = _application(appeal.application_id)
    _allow(permissions.can_handle_appeal(application, _user()))
    return appeal, application


@bp.route("/klager/<int:appeal_id>/omgjor", methods=["POST"])
def reverse_appeal(appeal_id):
    appeal, application = _appeal(appeal_id)
    form = ReverseAppealForm(prefix=f"reverse-{appeal.id}", amount_applied=application.amount_applied)
    try:
        if form.validate():
            ops.reverse_appeal(appeal, _user(), form.note.data, **form.values(), letter_language=letter_language_for(
                application.municipality, form.letter_language.data))
            db.session.commit()
            flash(_("The decision is reversed. The new decision must be approved and sent."), "success")
            return redirect(url_for("review.case", application_id=application.id) + "#appeals")
    except (ValidationFailed, BudgetExceeded) as error:
        db.session.rollback()
        _field_error(form, error, {"reasons": "reasons_rules"}.get(error.detail.get("field"), "amount"))
    return _case_page(application, 422, appeal_forms={appeal.id: (form, UpholdAppealForm(
        formdata=None, prefix=f"uphold-{appeal.id}"))})


@bp.route("/klager/<int:appeal_id>/oppretthold", methods=["POST"])
def uphold_appeal(appeal_id):
    appeal, application = _appeal(appeal_id)
    form = UpholdAppealForm(prefix=f"uphold-{appeal.id}")
    if not form.validate():
        return _case_page(application, 422)
    ops.uphold_appeal(appeal, _user(), form.note.data)
    db.session.commit()
    flash(_("The decision is upheld and the appeal is sent on to the ministry."), "success")
    return redirect(url_for("review.case", application_id=application.id) + "#appeals")


# --- the application's documents, for everyone who may see the case (reviewers too) -------------------------

@bp.route("/soknader/<int:application_id>/soknad.pdf")
def application_document(application_id):
    application = _application(application_id)
    return send_file(BytesIO(application_pdf(application)), mimetype="application/pdf", as_attachment=True,
                     download_name=f"soknad-{application.reference or application.id}.pdf", max_age=0)


@bp.route("/soknader/<int:application_id>/vedlegg/<int:attachment_id>")
def attachment(application_id, attachment_id):
    application = _application(application_id)
    item = db.session.get(Attachment, attachment_id)
    if item is None or item.application_id != application.id:
        abort(404)
    return send_file(files.path_of(item), mimetype=item.content_type, as_attachment=True,
                     download_name=item.original_name, max_age=0)


# --- reviewers ---------------------------------------------------------------------------------------------------

@bp.route("/mine")
def my_assignments():
    return render_template("review/my_assignments.html", rows=queries.my_assignments(_user()))


@bp.route("/soknader/<int:application_id>/habilitet", methods=["GET", "POST"])
def declare(application_id):
    application = application_queries.application_for_view(application_id)
    if application is None:
        abort(404)
    _allow(permissions.can_declare(application, _user()))
    form = DeclarationForm()
    try:
        if form.validate_on_submit():
            conflict = form.conflict.data == "yes"
            ops.declare(application, _user(), conflict=conflict, reason=form.reason.data)
            db.session.commit()
            flash(_("Your declaration is saved. You will not assess this application.") if conflict
                  else _("Your declaration is saved. You can now assess the application."), "success")
            return redirect(url_for("review.my_assignments") if conflict
                            else url_for("review.score", application_id=application.id))
    except ValidationFailed as error:
        db.session.rollback()
        _field_error(form, error)
    return render_template("review/declare.html", application=application, form=form), \
        422 if request.method == "POST" else 200


@bp.route("/soknader/<int:application_id>/vurdering", methods=["GET", "POST"])
def score(application_id):
    application = _application(application_id)
    _allow(permissions.can_score(application, _user()))
    own = next((r for r in queries.reviews_for(application.id) if r.reviewer_id == _user().id), None)
    criteria = application.round.criteria
    form = review_form(criteria, language=_language(), amount_applied=application.amount_applied,
                       formdata=request.form if request.method == "POST" else None, review=own)
    submit = request.form.get("action") == "submit"
    try:
        if request.method == "POST" and form.validate():
            ops.save_review(application, _user(), **review_values(form, criteria), submit=submit)
            db.session.commit()
            flash(_("Your review is submitted.") if submit else _("Your draft is saved."), "success")
            return redirect(url_for("review.case" if submit else "review.score", application_id=application.id))
    except ValidationFailed as error:
        db.session.rollback()
        _review_errors(form, error)
    return render_template("review/score.html", application=application, form=form, review=own,
                           sections=_answer_sections(application)), 422 if request.method == "POST" else 200


def _review_errors(form, error):
    for criterion_id, key in (error.detail.get("problems") or {}).items():
        name = f"comment_{criterion_id}" if key == "comment_required" else f"score_{criterion_id}"
        form[name].errors = [*form[name].errors, problem(key)]
    if error.detail.get("recommendation_missing"):
        form.recommendation.errors = [*form.recommendation.errors, _("Choose a recommendation.")]
    if error.message != "review_incomplete":
        _field_error(form, error)


def _language():
    from grants.i18n import current_language

    return current_language()


@bp.app_template_global()
def review_state_label(state):
    return {"assigned": _("Waiting for the impartiality declaration"), "active": _("Assessing"),
            "removed": _("Removed")}.get(str(state), str(state))


@bp.app_template_global()
def decision_state_label(state):
    return {"proposed": _("Proposed"), "approved": _("Approved"), "released": _("Sent"),
            "withdrawn": _("Withdrawn"), "superseded": _("Replaced"),
            "cancelled": _("Cancelled: the application was withdrawn")}.get(str(state), str(state))


@bp.app_template_global()
def outcome_label(outcome):
    return {"granted": _("Grant"), "rejected": _("Rejection"), "dismissed": _("Dismissal")}.get(str(outcome),
                                                                                                 str(outcome))


@bp.app_template_global()
def appeal_state_label(state):
    return {"lodged": _("Lodged"), "reversed": _("Reversed"), "upheld": _("Upheld, sent to the ministry")}.get(
        str(state), str(state))


@bp.app_template_global()
def audit_action_label(action):
    return {
        "create": _("Draft started"), "submit": _("Submitted"), "withdraw": _("Withdrawn"),
        "register_received": _("Registered as received"), "accept_for_review": _("Accepted for review"),
        "formal_check_failed": _("Formal check: dismissal proposed"), "assign": _("Reviewer assigned"),
        "unassign": _("Reviewer removed"), "declare": _("Impartiality declared"),
        "submit_review": _("Review submitted"), "propose": _("Decision proposed"), "approve": _("Decision approved"),
        "release": _("Decision sent"), "appeal": _("Appeal lodged"), "uphold_appeal": _("Appeal upheld"),
        "reverse_appeal": _("Decision reversed on appeal"), "add_attachment": _("Attachment added"),
        "remove_attachment": _("Attachment removed"),
        "cancel_decision": _("Decision cancelled: the application was withdrawn"),
    }.get(str(action), str(action))


@bp.app_template_global()
def recommendation_label(value):
    return {"grant": _("Grant"), "reject": _("Reject"), "unsure": _("Unsure")}.get(str(value), str(value or ""))

