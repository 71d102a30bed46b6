"""The application form: one WTForms class per section, driven by the round's conditions."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    Email,
    Length,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from grants.applications.models import ActivityType
from grants.core.forms import KronerField, NumberRange, WholeNumberField, required


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


PHONE = Regexp(r"^\+?[0-9 ]{8,15}$", message=_l("Enter a phone number of 8 digits, or with a country code."))

ACTIVITY_CHOICES = [
    (ActivityType.mapping.value, _l("Mapping of the extent of racism and discrimination")),
    (ActivityType.action_plan.value, _l("Making an action plan against racism and discrimination")),
    (ActivityType.indicators.value, _l("An indicator set")),
    (ActivityType.religious_plan.value, _l("Action plan against religious discrimination, hate and racism")),
    (ActivityType.recruitment.value, _l("Fair and diverse recruitment")),
    (ActivityType.guide.value, _l("Guide or training material")),
    (ActivityType.sector_measure.value, _l("A measure in a single sector")),
    (ActivityType.other.value, _l("Other")),
]
AIMED_AT_CHOICES = [
    ("authority", _l("The municipality as authority and service provider")),
    ("employer", _l("The municipality as employer")),
]
PLAN_CHOICES = [
    ("none", _l("No")),
    ("in_progress", _l("It is being made")),
    ("adopted", _l("Yes, adopted")),
]
MAPPING_CHOICES = [
    ("done", _l("Done")),
    ("planned", _l("Planned as part of this project")),
    ("none", _l("Neither")),
]
INVOLVED_CHOICES = [
    ("affected_groups", _l("People from the groups affected")),
    ("civil_society", _l("Civil society organisations")),
    ("employees", _l("Employees and their representatives")),
    ("minority_council", _l("The minority or immigrant council")),
]
COST_CATEGORIES = [
    ("", _l("Choose a category")),
    ("salary", _l("Salaries for project work")),
    ("external", _l("External services")),
    ("training", _l("Training and meetings")),
    ("material", _l("Material and publishing")),
    ("travel", _l("Travel")),
    ("other", _l("Other")),
]


class SectionForm(FlaskForm):
    """Common to every section: the version the user started from."""

    version = HiddenField()


class ApplicantForm(SectionForm):
    partners = StringField(
        _l("Partner municipalities (for a joint application)"),
        validators=[Optional(), Length(max=1000)],
        description=_l("Names or municipality numbers, separated by commas. Leave empty if you apply alone."),
    )
    contact_name = StringField(_l("Contact person"), validators=[required(_l("Enter the contact person's name.")),
                                                                  Length(max=120)])
    contact_role = StringField(_l("The contact person's role"), validators=[required(), Length(max=120)])
    contact_email = EmailField(_l("The contact person's e-mail"), validators=[
        required(), Email(message=_l("Enter an e-mail address like name@kommune.no.")), Length(max=254)])
    contact_phone = TelField(_l("The contact person's phone"), validators=[required(), PHONE])


class ProjectForm(SectionForm):
    title = StringField(_l("Project title"), validators=[required(_l("Enter a title.")), Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[required(), Length(max=1000)],
                            description=_l("At most 1,000 characters. It may be published if you get a grant."))
    description = TextAreaField(_l("Description of the project"), validators=[required(), Length(max=10000)])
    activity_types = CheckboxesField(_l("What will you do?"), choices=ACTIVITY_CHOICES,
                                     validators=[required(_l("Choose at least one."))])
    aimed_at = CheckboxesField(_l("The measure is aimed at"), choices=AIMED_AT_CHOICES,
                               validators=[required(_l("Choose at least one."))])
    target_groups = TextAreaField(_l("Target groups"), validators=[required(), Length(max=2000)])
    participants = WholeNumberField(_l("Expected number of participants"), validators=[
        required(_l("Enter the number of participants as a whole number.")), NumberRange(max=1_000_000)])
    period_start = DateField(_l("Project starts"), validators=[required(_l("Enter a valid date."))])
    period_end = DateField(_l("Project ends"), validators=[required(_l("Enter a valid date."))])

    def __init__(self, *args, round=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.round = round

    def validate_participants(self, field):
        minimum = self.round.min_participants if self.round else 10
        if field.data is not None and field.data < minimum:
            raise ValidationError(_l("The measure must have at least %(n)s participants.", n=minimum))

    def validate_period_end(self, field):
        if self.period_start.data and field.data and field.data < self.period_start.data:
            raise ValidationError(_l("The end must be after the start."))


class AnchoringForm(SectionForm):
    action_plan = RadioField(_l("Does the municipality have an action plan against racism and discrimination?"),
                             choices=PLAN_CHOICES, validators=[required(_l("Choose an answer."))])
    plan_name = StringField(_l("Name of the action plan"), validators=[Optional(), Length(max=200)])
    plan_adopted_on = DateField(_l("Date adopted"), validators=[Optional()])
    plan_link = URLField(_l("Link to the action plan"), validators=[
        Optional(), URL(message=_l("Enter a full address starting with https://.")), Length(max=500)],
        description=_l("Or upload the plan under Attachments."))
    plan_goals = TextAreaField(_l("Which goals of the plan does this measure serve?"),
                               validators=[Optional(), Length(max=3000)])
    political_body = StringField(_l("Political decision: body"), validators=[Optional(), Length(max=200)],
                                 description=_l("For example the municipal council or a committee."))
    political_date = DateField(_l("Political decision: date"), validators=[Optional()])
    political_case = StringField(_l("Political decision: case reference"), validators=[Optional(), Length(max=100)])
    administrative = TextAreaField(_l("Administrative anchoring"), validators=[required(), Length(max=3000)],
                                   description=_l("Who in the administration owns the project, and how?"))

    def validate_plan_name(self, field):
        if self.action_plan.data == "adopted" and not (field.data or "").strip():
            raise ValidationError(_l("Enter the name of the adopted plan."))

    def validate_plan_adopted_on(self, field):
        if self.action_plan.data == "adopted" and not field.data:
            raise ValidationError(_l("Enter the date the plan was adopted."))


class InvolvementForm(SectionForm):
    mapping = RadioField(_l("Has the municipality mapped racism and discrimination?"), choices=MAPPING_CHOICES,
                         validators=[required(_l("Choose an answer."))])
    mapping_description = TextAreaField(_l("Describe the mapping"), validators=[Optional(), Length(max=3000)])
    involved = CheckboxesField(_l("Who takes part?"), choices=INVOLVED_CHOICES,
                               validators=[required(_l("Choose at least one."))])
    involvement = TextAreaField(_l("How do they take part?"), validators=[required(), Length(max=3000)])


class TransferForm(SectionForm):
    transfer_value = TextAreaField(_l("How will results and methods be shared with other municipalities?"),
                                   validators=[required(), Length(max=3000)])


class MeasurementForm(SectionForm):
    goals = TextAreaField(_l("Goals of the project"), validators=[required(), Length(max=3000)])
    indicators = TextAreaField(_l("How will you measure whether you reach them?"),
                               validators=[required(), Length(max=3000)])


# The round's attributes the section forms read (ProjectForm, BudgetForm): the overview keys its remembered
# verdicts on them (sections.section_states), and tests/web/test_section_states.py checks that no form reads
# any other.
ROUND_INPUTS = ("id", "min_participants", "budget", "own_contribution_required")


class CostLineForm(Form):
    category = SelectField(_l("Category"), choices=COST_CATEGORIES, validators=[required(_l("Choose a category."))])
    description = StringField(_l("Description"), validators=[required(), Length(max=300)])
    amount = KronerField(_l("Amount in kroner"), validators=[required()], minimum=1)


class BudgetForm(SectionForm):
    cost_lines = FieldList(FormField(CostLineForm), min_entries=1, max_entries=30)
    amount_applied = KronerField(_l("Amount applied for"), validators=[required()], minimum=1)
    own_contribution = KronerField(_l("Own contribution"), validators=[Optional()], minimum=0)
    other_funding = KronerField(_l("Other funding"), validators=[Optional()], minimum=0)
    no_running_costs = BooleanField(
        _l("The budget contains no ordinary running costs of the municipality."),
        validators=[required(_l("You must confirm that the budget has no ordinary running costs."))])

    def __init__(self, *args, round=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.round = round
        budget = round.budget if round else None
        self.amount_applied.maximum = budget
        self.own_contribution.maximum = None
        for entry in self.cost_lines.entries:
            entry.form.amount.maximum = None

    def total_cost(self):
        return sum(e.form.amount.amount or 0 for e in self.cost_lines.entries)

    def validate_own_contribution(self, field):
        if self.round and self.round.own_contribution_required and not field.amount:
            raise ValidationError(_l("This round requires an own contribution."))

    def validate_amount_applied(self, field):
        applied = field.amount or 0
        own = self.own_contribution.amount or 0
        other = self.other_funding.amount or 0
        total = self.total_cost()
        lines_valid = all(e.form.amount.amount for e in self.cost_lines.entries)
        if field.amount and lines_valid and applied + own + other != total:
            from grants.i18n import kroner

            raise ValidationError(_l(
                "Applied for, own contribution and other funding add up to %(sum)s, "
                "but the costs add up to %(total)s.",
                sum=kroner(applied + own + other), total=kroner(total)))


class HistoryForm(SectionForm):
    earlier_projects = TextAreaField(_l("Earlier projects of good quality"), validators=[Optional(), Length(max=3000)],
                                     description=_l("Earlier work of the municipality that this builds on."))
    continues = SelectField(_l("Does this continue a project that got a grant in an earlier round?"),
                            validators=[Optional()], validate_choice=True)


# What an attachment is (Attachment.purpose), by its title: the upload form's choices, the check page and the PDF.
ATTACHMENT_PURPOSES = {
    "general": _l("Other attachment"), "action_plan": _l("The action plan"),
    "political_decision": _l("The political decision"), "budget": _l("Detailed budget"),
}


class AttachmentForm(FlaskForm):
    file = FileField(_l("Choose a file"), validators=[required(_l("Choose a file to upload."))],
                     description=_l("PDF, Word (DOCX), OpenDocument text (ODT) or Excel (XLSX), at most 10 MB."))
    purpose = SelectField(_l("What is it?"), choices=list(ATTACHMENT_PURPOSES.items()), validators=[required()])


class SubmitForm(FlaskForm):
    submission_key = HiddenField(validators=[required()])


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Why do you withdraw the application?"), validators=[
        required(_l("Give a reason.")), Length(max=2000)])


class NewApplicationForm(FlaskForm):
    round_id = HiddenField(validators=[required()])


SECTIONS = (
    ("applicant", ApplicantForm, _l("Applicant")),
    ("project", ProjectForm, _l("Project")),
    ("anchoring", AnchoringForm, _l("Anchoring")),
    ("involvement", InvolvementForm, _l("Knowledge and involvement")),
    ("transfer", TransferForm, _l("Transfer value")),
    ("measurement", MeasurementForm, _l("Measurement")),
    ("budget", BudgetForm, _l("Budget")),
    ("history", HistoryForm, _l("Earlier projects and continuation")),
)
SECTION_FORMS = {name: form for name, form, _label in SECTIONS}
SECTION_TITLES = {name: label for name, _form, label in SECTIONS}
