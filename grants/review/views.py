"""IMDi's pages of reviewing: rounds and their inboxes, registering received applications, the case page (formal
check, reviewers, reviews, the decision and appeals as grants.decisions keeps them, audit trail), the reviewer
pool, ranking and allocation, and the reviewers' own pages (assignments, impartiality, scoring). Approval and
release are grants.decisions.views.

Every view names its parts for grants.frame.act: load (404), a predicate of the permissions modules (403), the
form, one operation, where to go. Error keys become messages from the one catalogue (grants.errors)."""

import re
from io import BytesIO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from grants import drafts
from grants.accounts import operations as accounts_ops
from grants.accounts.models import Municipality, User
from grants.applications import attachments as files
from grants.applications import queries as application_queries
from grants.applications import sections
from grants.applications.documents import application_pdf
from grants.applications.forms import ACTIVITY_CHOICES, SECTION_TITLES
from grants.applications.models import Attachment
from grants.applications.workflow import State
from grants.core import audit
from grants.decisions import operations as decision_ops
from grants.decisions import permissions as decision_permissions
from grants.decisions import queries as decision_queries
from grants.decisions.forms import DecisionForm, ReverseAppealForm, UpholdAppealForm
from grants.decisions.letters import letter_language_for
from grants.decisions.models import Appeal, AppealState
from grants.errors import NotPermitted, ValidationFailed, message_for
from grants.extensions import db
from grants.frame import act, acting_user, put_error
from grants.i18n import kroner, title_in
from grants.review import operations as ops
from grants.review import permissions, queries, scoring
from grants.review.forms import (
    AssignForm,
    AutoAssignForm,
    DeclarationForm,
    FormalCheckForm,
    PoolForm,
    RegisterForm,
    ReviewerListFilter,
    allocation_form,
    review_form,
    review_values,
)
from grants.review.models import ASSIGNMENT_STATE_TITLES, RECOMMENDATION_TITLES, Assignment
from grants.rounds.models import Round
from grants.templating import state_names

bp = Blueprint("review", __name__, url_prefix="/saksbehandling")


# --- loading and access ------------------------------------------------------------------------------------------

@bp.before_request
@login_required
def _imdi_only():
    if not current_user.is_imdi:
        abort(403)



def _round(round_id):
    if not permissions.can_work_on_round(current_user):
        abort(403)
    return db.get_or_404(Round, round_id)


def _application(application_id):
    application = application_queries.application_for_view(application_id)
    if application is None:
        abort(404)
    if not permissions.can_view_case(application, acting_user()):
        abort(403)
    return application


def _allow(allowed):
    if not allowed:
        abort(403)


# --- rounds and the inbox --------------------------------------------------------------------------------------

INBOX_STATES = ("submitted", "in_review", "granted", "rejected", "dismissed", "withdrawn", "reported", "closed",
                "declined")
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
    if request.method == "GET":
        return render_template("review/register.html", round=round_, form=form)
    return act(
        lambda: ops.register_received(
            round_, acting_user(), municipality=db.session.scalar(
                select(Municipality).where(Municipality.number == form.municipality.data)),
            title=form.title.data.strip(), amount_applied=form.amount_applied.amount, channel=form.channel.data,
            received_at=form.received_at.moment, note=(form.note.data or "").strip()),
        form=form, again=lambda f: render_template("review/register.html", round=round_, form=f),
        success=lambda application: _("The application is registered as %(reference)s.",
                                      reference=application.reference),
        done=lambda application: url_for("review.case", application_id=application.id))


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
    return act(lambda: ops.add_round_reviewer(round_, db.session.get(User, int(form.user.data)), acting_user()),
               form=form, field="user", again=lambda f: _reviewers_page(round_, pool_form=f)[0],
               success=lambda row: _("%(name)s is added to the round's reviewers.", name=row.user.name),
               done=url_for("review.reviewers", round_id=round_.id))


@bp.route("/runder/<int:round_id>/fagvurderere/fordel", methods=["POST"])
def auto_assign(round_id):
    round_ = _round(round_id)
    _allow(permissions.is_caseworker(current_user))
    form = AutoAssignForm(prefix="auto")
    return act(lambda: ops.auto_assign(round_, acting_user(), per_application=form.per_application.data),
               form=form, field="per_application", again=lambda f: _reviewers_page(round_, auto_form=f)[0],
               success=lambda made: ngettext("%(num)d assignment was made.", "%(num)d assignments were made.", made),
               done=url_for("review.reviewers", round_id=round_.id))


# --- ranking and allocation ------------------------------------------------------------------------------------

def _ranking_page(round_, rows, form, status=200):
    return render_template("review/ranking.html", round=round_, rows=rows, form=form,
                           committed=decision_ops.committed_amount(round_.id),
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
    """decision_ops.set_allocation for every amount typed; each row's error stays with its row."""
    ok = True
    for row in rows:
        field = form[f"amount_{row.application_id}"]
        if field.amount is None:
            continue
        try:
            decision_ops.set_allocation(row.application, acting_user(), field.amount)
        except ValidationFailed as error:
            put_error(form, error, field.name)
            ok = False
    return ok


@bp.route("/runder/<int:round_id>/rangering/fyll", methods=["POST"])
def fill(round_id):
    round_ = _round(round_id)
    _allow(permissions.is_caseworker(current_user))
    amounts = decision_ops.fill_allocations(round_, acting_user(), queries.ranked(round_))
    db.session.commit()
    flash(_("Amounts are set by rank: %(total)s of %(budget)s.", total=kroner(sum(amounts.values())),
            budget=kroner(round_.budget)), "success")
    return redirect(url_for("review.ranking", round_id=round_.id))


# --- the case page ---------------------------------------------------------------------------------------------

def _answer_sections(application):
    """[(title, rows)] of each section the applicant filled in, read-only."""
    result = []
    for section, title in SECTION_TITLES.items():
        form = sections.saved_section(application, section)
        if form is not None:
            result.append((str(title), sections.shown_rows(form, _language())))
    return result


def _case_forms(application):
    """The case page's forms, unbound, for what this user may do now."""
    user = acting_user()
    language = letter_language_for(application.municipality)
    forms = {"check_form": None, "assign_form": None, "decision_form": None}
    if permissions.can_formal_check(application, user):
        forms["check_form"] = FormalCheckForm(formdata=None, prefix="check",
                                              data={**ops.suggested_check(application), "letter_language": language})
    if permissions.can_assign(application, user):
        forms["assign_form"] = _assign_form(application, formdata=None)
    if decision_permissions.can_propose(application, user):
        forms["decision_form"] = DecisionForm(formdata=None, prefix="decision", data={"letter_language": language},
                                              amount_applied=application.amount_applied)
    return forms


def _assign_form(application, formdata):
    form = AssignForm(formdata=formdata, prefix="assign")
    taken = {a.reviewer_id for a in queries.assignments_for(application.id) if a.is_current}
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
    user = acting_user()
    staff = permissions.can_work_on_round(user)
    submitted = [r for r in queries.reviews_for(application.id) if r.is_submitted]
    reviews = submitted if ops.can_see_other_reviews(application, user) else []
    decision = decision_ops.current_decision(application) if staff else None
    appeals = decision_queries.appeals_for(application.id) if staff else []
    handles = decision_permissions.can_handle_appeal(application, user)
    appeal_forms = _appeal_forms(appeals, application) if handles else {}
    appeal_forms.update(bound.pop("appeal_forms", {}))
    forms = {**_case_forms(application), **bound}
    return render_template(
        "review/case.html", application=application, staff=staff, sections=_answer_sections(application),
        check=queries.formal_check_of(application.id) if staff else None,
        assignments=queries.assignments_for(application.id) if staff else [],
        reviewed={r.reviewer_id for r in submitted},
        declarations=queries.declarations_for(application.id) if staff else [],
        own_assignment=permissions.assignment_of(application, user),
        can_declare=permissions.can_declare(application, user), can_score=permissions.can_score(application, user),
        reviews=reviews, criteria=application.round.criteria,
        aggregate=scoring.aggregate([r.weighted_score for r in reviews], application.round.score_spread_threshold),
        decision=decision, can_approve=decision is not None and decision_permissions.can_approve(decision, user),
        appeals=appeals, appeal_forms=appeal_forms, audit_entries=audit.entries_for(application) if staff else [],
        **forms,
    ), status


@bp.route("/soknader/<int:application_id>")
def case(application_id):
    return _case_page(_application(application_id))


@bp.route("/soknader/<int:application_id>/formell-kontroll", methods=["POST"])
def formal_check(application_id):
    application = _application(application_id)
    _allow(permissions.can_formal_check(application, acting_user()))
    form = FormalCheckForm(prefix="check")
    accept = request.form.get("check-verdict") == "accept"
    return act(
        lambda: ops.formal_check(
            application, acting_user(), checks=form.checks(), accept=accept, reason_code=form.reason_code.data or None,
            reason_text=form.reason_text.data,
            letter_language=letter_language_for(application.municipality, form.letter_language.data)),
        form=form, again=lambda f: _case_page(application, check_form=f)[0],
        success=_("The application is accepted for review.") if accept
        else _("A dismissal is proposed. It takes effect when it is approved and sent."),
        done=url_for("review.case", application_id=application.id))


@bp.route("/soknader/<int:application_id>/fagvurderere", methods=["POST"])
def assign(application_id):
    application = _application(application_id)
    _allow(permissions.can_assign(application, acting_user()))
    form = _assign_form(application, request.form)
    return act(lambda: ops.assign(application, db.session.get(User, int(form.reviewer.data)), acting_user()),
               form=form, field="reviewer", on_form=(ValidationFailed, NotPermitted),  # conflict_declared
               again=lambda f: _case_page(application, assign_form=f)[0],
               success=lambda assignment: _("%(name)s is assigned.", name=assignment.reviewer.name),
               done=url_for("review.case", application_id=application.id) + "#reviewers")


@bp.route("/soknader/<int:application_id>/fagvurderere/<int:assignment_id>/fjern", methods=["POST"])
def unassign(application_id, assignment_id):
    application = _application(application_id)
    _allow(permissions.can_assign(application, acting_user()))
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.application_id != application.id:
        abort(404)
    return act(lambda: ops.remove_assignment(assignment, acting_user()),
               success=_("%(name)s is taken off the application.", name=assignment.reviewer.name),
               done=url_for("review.case", application_id=application.id) + "#reviewers")


@bp.route("/soknader/<int:application_id>/vedtak", methods=["POST"])
def propose(application_id):
    application = _application(application_id)
    _allow(decision_permissions.can_propose(application, acting_user()))
    form = DecisionForm(prefix="decision", amount_applied=application.amount_applied)
    return act(
        lambda: decision_ops.propose_decision(
            application, acting_user(), **form.values(),
            letter_language=letter_language_for(application.municipality, form.letter_language.data)),
        form=form, field=_decision_field, again=lambda f: _case_page(application, decision_form=f)[0],
        success=_("The decision is proposed. Another person must approve it."),
        done=url_for("review.case", application_id=application.id) + "#decision")


def _decision_field(error):
    """The decision form's field for an error of the decision: the reasons go under the first reasons field, the
    rest (amount, budget) under the amount."""
    return {"reasons": "reasons_rules"}.get(error.detail.get("field"), "amount")


def _appeal(appeal_id):
    appeal = db.get_or_404(Appeal, appeal_id)
    application = _application(appeal.application_id)
    _allow(decision_permissions.can_handle_appeal(application, acting_user()))
    return appeal, application


@bp.route("/klager/<int:appeal_id>/omgjor", methods=["POST"])
def reverse_appeal(appeal_id):
    appeal, application = _appeal(appeal_id)
    form = ReverseAppealForm(prefix=f"reverse-{appeal.id}", amount_applied=application.amount_applied)
    return act(
        lambda: decision_ops.reverse_appeal(
            appeal, acting_user(), form.note.data, **form.values(),
            letter_language=letter_language_for(application.municipality, form.letter_language.data)),
        form=form, field=_decision_field,
        again=lambda f: _case_page(application, appeal_forms={appeal.id: (f, UpholdAppealForm(
            formdata=None, prefix=f"uphold-{appeal.id}"))})[0],
        success=_("The decision is reversed. The new decision must be approved and sent."),
        done=url_for("review.case", application_id=application.id) + "#appeals")


@bp.route("/klager/<int:appeal_id>/oppretthold", methods=["POST"])
def uphold_appeal(appeal_id):
    appeal, application = _appeal(appeal_id)
    form = UpholdAppealForm(prefix=f"uphold-{appeal.id}")
    return act(lambda: decision_ops.uphold_appeal(appeal, acting_user(), form.note.data), form=form,
               again=lambda f: _case_page(application, appeal_forms={appeal.id: (ReverseAppealForm(
                   formdata=None, prefix=f"reverse-{appeal.id}", amount_applied=application.amount_applied), f)})[0],
               success=_("The decision is upheld and the appeal is sent on to the ministry."),
               done=url_for("review.case", application_id=application.id) + "#appeals")


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
    """The reviewer's list: open work first, a GET filter by round (default: the rounds with work left), in pages."""
    chosen = request.args.get("runde", queries.OPEN_ROUNDS)
    # A round's id in ASCII digits ("²".isdigit() is true too, and int() refuses it), or one of the two choices.
    if re.fullmatch(r"[0-9]{1,9}", chosen):
        rounds = int(chosen)
    else:
        rounds = chosen if chosen == queries.ALL_ROUNDS else queries.OPEN_ROUNDS
    listing = queries.reviewer_list(acting_user(), rounds=rounds, page=request.args.get("side", 1, type=int))
    form = ReviewerListFilter(rounds=listing.rounds, shown=listing.shown, open_value=queries.OPEN_ROUNDS,
                              all_value=queries.ALL_ROUNDS,
                              title_of=lambda round_: round_.localised("title", _language()))
    return render_template("review/my_assignments.html", listing=listing, form=form)


@bp.route("/soknader/<int:application_id>/habilitet", methods=["GET", "POST"])
def declare(application_id):
    application = application_queries.application_for_view(application_id)
    if application is None:
        abort(404)
    _allow(permissions.can_declare(application, acting_user()))
    form = DeclarationForm()
    if request.method == "GET":
        return render_template("review/declare.html", application=application, form=form)
    conflict = form.conflict.data == "yes"
    return act(lambda: ops.declare(application, acting_user(), conflict=conflict, reason=form.reason.data), form=form,
               again=lambda f: render_template("review/declare.html", application=application, form=f),
               success=_("Your declaration is saved. You will not assess this application.") if conflict
               else _("Your declaration is saved. You can now assess the application."),
               done=url_for("review.my_assignments") if conflict
               else url_for("review.score", application_id=application.id))


@bp.route("/soknader/<int:application_id>/vurdering", methods=["GET", "POST"])
def score(application_id):
    application = _application(application_id)
    _allow(permissions.can_score(application, acting_user()))
    own = next((r for r in queries.reviews_for(application.id) if r.reviewer_id == acting_user().id), None)
    criteria = application.round.criteria
    form = review_form(criteria, language=_language(), amount_applied=application.amount_applied,
                       formdata=request.form if request.method == "POST" else None, review=own)
    submit = request.form.get("action") == "submit"

    def page(f):
        return render_template("review/score.html", application=application, form=f, review=own,
                               sections=_answer_sections(application))

    if request.method == "GET":
        return page(form)
    if drafts.leaving(request.form):
        # A language button or a link left the page: the draft is kept (if what was typed can be), then go on.
        def keep_and_leave():
            ops.save_review(application, acting_user(), **review_values(form, criteria), submit=False)
            return drafts.leave(request.form, url_for("review.score", application_id=application.id),
                                lambda: _("Your draft is saved."))

        return act(keep_and_leave, form=form, again=page, show=_review_errors, done=lambda target: target)
    return act(lambda: ops.save_review(application, acting_user(), **review_values(form, criteria), submit=submit),
               form=form, again=page, show=_review_errors,
               success=_("Your review is submitted.") if submit else _("Your draft is saved."),
               done=url_for("review.case" if submit else "review.score", application_id=application.id))


def _review_errors(form, error):
    for criterion_id, key in (error.detail.get("problems") or {}).items():
        name = f"comment_{criterion_id}" if key == "comment_required" else f"score_{criterion_id}"
        form[name].errors = [*form[name].errors, message_for(key)]
    if error.detail.get("recommendation_missing"):
        form.recommendation.errors = [*form.recommendation.errors, _("Choose a recommendation.")]
    if error.message != "review_incomplete":
        put_error(form, error)


def _language():
    from grants.i18n import current_language

    return current_language()


@bp.app_template_global()
def review_state_label(state):
    """A reviewer's assignment state (AssignmentState) by its title, in the page's language."""
    return title_in(ASSIGNMENT_STATE_TITLES, state)


@bp.app_template_global()
def audit_action_label(action):
    """An audit entry's action by its title (grants.core.audit.ACTION_TITLES), in the page's language."""
    return title_in(audit.ACTION_TITLES, action)


@bp.app_template_global()
def recommendation_label(value):
    """A reviewer's recommendation by its title, in the page's language."""
    return title_in(RECOMMENDATION_TITLES, value)
