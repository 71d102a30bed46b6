"""Forms of IMDi's side (and the kommune's appeal). They check the shape of the input; the rules are the
operations' (grants.review.operations), whose errors the views put back on the fields."""

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from grants.applications.forms import ACTIVITY_CHOICES
from grants.core.forms import KronerField, NumberRange, OsloDateTimeField, WholeNumberField, required
from grants.decisions.forms import LETTER_LANGUAGE_HINT, LETTER_LANGUAGES  # noqa: F401 - the formal check's
from grants.review.models import DismissalReason, Recommendation

DISMISSAL_REASONS = [
    (DismissalReason.late.value, _l("Received after the deadline")),
    (DismissalReason.ineligible.value, _l("The applicant cannot apply for this grant")),
    (DismissalReason.outside_scheme.value, _l("Outside the scheme's purpose")),
    (DismissalReason.incomplete.value, _l("The application is incomplete")),
]
RECOMMENDATIONS = [
    (Recommendation.grant.value, _l("Grant")),
    (Recommendation.reject.value, _l("Reject")),
    (Recommendation.unsure.value, _l("Unsure")),
]
CHECKS = ("eligible_applicant", "in_time", "complete", "within_scheme", "conditions_met")


class InboxFilterForm(Form):
    """The inbox's filters: a GET form, so no CSRF token."""

    state = SelectField(_l("Status"), validators=[Optional()], validate_choice=False)
    county = SelectField(_l("County"), validators=[Optional()], validate_choice=False)
    activity = SelectField(_l("Activity"), validators=[Optional()], validate_choice=False,
                           choices=[("", _l("All activities")), *ACTIVITY_CHOICES])

    def __init__(self, formdata, *, states, counties):
        super().__init__(formdata)
        self.state.choices = [("", _l("All states")), *states]
        self.county.choices = [("", _l("All counties"))] + [(c.number, c.name) for c in counties]


class ReviewerListFilter(Form):
    """The reviewer's list's round filter: a GET form, so no CSRF token. ``rounds`` are the reviewer's rounds
    (queries.ReviewerRound); ``shown`` the filter in force."""

    runde = SelectField(_l("Round"), validators=[Optional()], validate_choice=False)

    def __init__(self, *, rounds, shown, open_value, all_value, title_of):
        super().__init__(data={"runde": str(shown)})
        self.runde.choices = [(open_value, _l("Rounds with applications left to assess")),
                              (all_value, _l("All rounds"))] + [
            (str(r.round.id), gettext("%(round)s (%(open)d of %(total)d left to assess)", round=title_of(r.round),
                                      open=r.open, total=r.total)) for r in rounds]


class RegisterForm(FlaskForm):
    municipality = SelectField(_l("Municipality"), validators=[required(_l("Choose the municipality."))],
                               validate_choice=True)
    title = StringField(_l("Project title"), validators=[required(_l("Enter a title.")), Length(max=200)])
    amount_applied = KronerField(_l("Amount applied for"), validators=[required(_l("Enter the amount."))],
                                 minimum=1)
    channel = RadioField(_l("Received by"), choices=[("email", _l("E-mail")), ("post", _l("Post"))],
                         validators=[required(_l("Choose how the application came in."))])
    received_at = OsloDateTimeField(_l("Received (Oslo time)"),
                                    validators=[required(_l("Enter when the application was received."))],
                                    description=_l("The date and time on the e-mail or the postmark."))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=3000)])


class FormalCheckForm(FlaskForm):
    eligible_applicant = BooleanField(_l("The applicant may apply (a municipality)"))
    in_time = BooleanField(_l("Received before the deadline"))
    complete = BooleanField(_l("The application is complete"))
    within_scheme = BooleanField(_l("Within the scheme (no ordinary running costs)"))
    conditions_met = BooleanField(_l("The round's conditions are met (participants, own contribution)"))
    reason_code = SelectField(_l("Reason for dismissal"), validators=[Optional()], validate_choice=True,
                              choices=[("", _l("Choose a reason")), *DISMISSAL_REASONS])
    reason_text = TextAreaField(_l("The facts, in words the municipality understands"),
                                validators=[Optional(), Length(max=5000)])
    letter_language = SelectField(_l("Language of the letter"), choices=LETTER_LANGUAGES, validate_choice=True,
                                  description=LETTER_LANGUAGE_HINT)

    def checks(self):
        return {name: bool(getattr(self, name).data) for name in CHECKS}


class AssignForm(FlaskForm):
    reviewer = SelectField(_l("Reviewer"), validators=[required(_l("Choose a reviewer."))], validate_choice=True)


class PoolForm(FlaskForm):
    user = SelectField(_l("Person"), validators=[required(_l("Choose a person."))], validate_choice=True)


class AutoAssignForm(FlaskForm):
    per_application = WholeNumberField(_l("Reviewers per application"), default=2,
                                   validators=[required(), NumberRange(min=1, max=5)])


class DeclarationForm(FlaskForm):
    conflict = RadioField(_l("Impartiality"), validators=[required(_l("Choose one."))], choices=[
        ("no", _l("I have no conflict of interest in this application")),
        ("yes", _l("I have a conflict of interest in this application")),
    ], description=_l("You have a conflict of interest if you, or someone close to you, has a part in the "
                      "application or an interest in its outcome (forvaltningsloven §§ 6-10)."))
    reason = TextAreaField(_l("What is the conflict of interest?"), validators=[Optional(), Length(max=2000)],
                           description=_l("Required when you have a conflict of interest."))


class ReviewBase(FlaskForm):
    recommendation = RadioField(_l("Your recommendation"), choices=RECOMMENDATIONS, validators=[Optional()])
    suggested_amount = KronerField(_l("Suggested amount"), validators=[Optional()], minimum=0,
                                   description=_l("Optional. At most the amount applied for."))
    comment = TextAreaField(_l("Overall comment"), validators=[Optional(), Length(max=10000)])


def review_form(criteria, *, language, amount_applied, formdata=None, review=None):
    """The scoring form of a round: one radio scale and one comment per criterion, filled from ``review``."""

    class ReviewForm(ReviewBase):
        pass

    data = {}
    for criterion in criteria:
        scale = [(value, str(value)) for value in range(criterion.scale_min, criterion.scale_max + 1)]
        setattr(ReviewForm, f"score_{criterion.id}", RadioField(
            criterion.localised("title", language), choices=scale, coerce=int, validators=[Optional()],
            description=criterion.localised("description", language) or None))
        setattr(ReviewForm, f"comment_{criterion.id}", TextAreaField(
            _l("Comment"), validators=[Optional(), Length(max=5000)],
            description=_l("Required for the two lowest scores (%(low)s and %(next)s).",
                           low=criterion.scale_min, next=criterion.scale_min + 1)))
    if review is not None and formdata is None:
        data = {"recommendation": review.recommendation and str(review.recommendation),
                "suggested_amount": review.suggested_amount, "comment": review.comment}
        for score in review.scores:
            data[f"score_{score.criterion_id}"] = score.value
            data[f"comment_{score.criterion_id}"] = score.comment
    form = ReviewForm(formdata=formdata, data=data)
    form.suggested_amount.maximum = amount_applied
    form.criteria = [(c, form[f"score_{c.id}"], form[f"comment_{c.id}"]) for c in criteria]
    return form


def review_values(form, criteria):
    """Keyword arguments for operations.save_review."""
    return dict(
        values={c.id: form[f"score_{c.id}"].data for c in criteria if form[f"score_{c.id}"].data is not None},
        comments={c.id: form[f"comment_{c.id}"].data or "" for c in criteria},
        recommendation=form.recommendation.data or None,
        suggested_amount=form.suggested_amount.amount,
        comment=form.comment.data or "",
    )


def allocation_form(rows, formdata=None):
    """One amount per ranked application, named amount_<application id>, filled with what is set."""

    class AllocationForm(FlaskForm):
        pass

    for row in rows:
        setattr(AllocationForm, f"amount_{row.application_id}", KronerField(
            _l("Amount for %(reference)s", reference=row.reference), validators=[Optional()], minimum=0))
    form = AllocationForm(formdata=formdata, data={f"amount_{r.application_id}": r.allocated for r in rows})
    for row in rows:
        form[f"amount_{row.application_id}"].maximum = row.amount_applied
    return form
