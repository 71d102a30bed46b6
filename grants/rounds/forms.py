"""The administrators' round form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, Regexp, ValidationError

from grants.core.forms import KronerField, NumberRange, OsloDateTimeField, WholeNumberField, required


class CriterionForm(Form):
    code = StringField(_l("Code"), validators=[required(), Regexp(r"^[a-z_]{2,40}$",
                       message=_l("Use 2 to 40 lower-case letters and underscores."))])
    title_nb = StringField(_l("Title (bokmål)"), validators=[required(), Length(max=200)])
    title_nn = StringField(_l("Title (nynorsk)"), validators=[required(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[required(), Length(max=200)])
    weight = WholeNumberField(_l("Weight"), validators=[required(), NumberRange(min=1, max=10)])
    scale_min = WholeNumberField(_l("Lowest score"), default=1, validators=[required(), NumberRange(min=0, max=10)])
    scale_max = WholeNumberField(_l("Highest score"), default=6, validators=[required(), NumberRange(min=1, max=10)])

    def validate_scale_max(self, field):
        if self.scale_min.data is not None and field.data is not None and field.data <= self.scale_min.data:
            raise ValidationError(_l("The highest score must be above the lowest."))


class RoundForm(FlaskForm):
    slug = StringField(_l("Short name in addresses"), validators=[required(), Regexp(
        r"^[a-z0-9-]{2,80}$", message=_l("Use lower-case letters, digits and hyphens."))])
    year = WholeNumberField(_l("Year"), validators=[required(), NumberRange(min=2000, max=2100, grouped=False)])
    area_number = WholeNumberField(_l("Priority area number"), validators=[Optional(), NumberRange(min=1, max=99)])
    title_nb = StringField(_l("Title (bokmål)"), validators=[required(), Length(max=200)])
    title_nn = StringField(_l("Title (nynorsk)"), validators=[required(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[required(), Length(max=200)])
    text_nb = TextAreaField(_l("Text of the call (bokmål)"), validators=[required()])
    text_nn = TextAreaField(_l("Text of the call (nynorsk)"), validators=[required()])
    text_en = TextAreaField(_l("Text of the call (English)"), validators=[required()])
    budget = KronerField(_l("Budget in kroner"), validators=[required()], minimum=1)
    opens_at = OsloDateTimeField(_l("Opens (Oslo time)"), validators=[required()])
    deadline_date = DateField(_l("Deadline (the whole day, Oslo time)"), validators=[required()],
                              description=_l("Applications can be submitted until 23:59:59 Oslo time that day."))
    appeals_allowed = BooleanField(_l("Decisions can be appealed"))
    min_participants = WholeNumberField(_l("Minimum number of participants"), default=10,
                                    validators=[required(), NumberRange(min=0, max=100000)])
    own_contribution_required = BooleanField(_l("Own contribution required"), default=True)
    reporting_deadline = DateField(_l("Reporting deadline"), validators=[Optional()])
    acceptance_days = WholeNumberField(
        _l("Days to accept a grant"), default=21, validators=[Optional(), NumberRange(min=1, max=365)],
        description=_l("From the day a grant decision is sent to the day the municipality must accept or decline "
                       "the grant."))
    held_back_percent = WholeNumberField(
        _l("Share held back until the report is approved (per cent)"), default=0,
        validators=[Optional(), NumberRange(min=0, max=100)],
        description=_l("0 pays the whole grant once it is accepted."))
    reminder_days = StringField(_l("Reminders, days before the deadline"), default="14,7,1",
                                validators=[required(), Regexp(r"^\d{1,3}(,\d{1,3})*$",
                                message=_l("Numbers separated by commas, for example 14,7,1."))])
    criteria = FieldList(FormField(CriterionForm), min_entries=1, max_entries=20)

    def validate_deadline_date(self, field):
        moment = self.opens_at.moment
        if moment and field.data and field.data < moment.date():
            raise ValidationError(_l("The deadline must be after the opening."))

    def values(self):
        return {
            "slug": self.slug.data, "year": self.year.data, "area_number": self.area_number.data,
            "title_nb": self.title_nb.data, "title_nn": self.title_nn.data, "title_en": self.title_en.data,
            "text_nb": self.text_nb.data, "text_nn": self.text_nn.data, "text_en": self.text_en.data,
            "budget": self.budget.amount, "opens_at": self.opens_at.moment, "deadline_date": self.deadline_date.data,
            "appeals_allowed": self.appeals_allowed.data, "min_participants": self.min_participants.data,
            "own_contribution_required": self.own_contribution_required.data,
            "reporting_deadline": self.reporting_deadline.data, "reminder_days": self.reminder_days.data,
        } | {name: getattr(self, name).data for name in ("acceptance_days", "held_back_percent")
             if getattr(self, name).data is not None}

    def criteria_values(self):
        return [dict(entry.data) for entry in self.criteria.entries]


class DeadlineChangeForm(FlaskForm):
    """Moving the deadline of a round that has received applications: a new date and the reason, which is kept in
    the case history and sent to the kommuner with applications in the round."""

    deadline_date = DateField(_l("New deadline (the whole day, Oslo time)"), validators=[required()])
    reason = TextAreaField(_l("Reason for the change"), validators=[required(), Length(max=1000)],
                           description=_l("The kommuner with applications in the round are told the new deadline "
                                          "and this reason by e-mail."))
