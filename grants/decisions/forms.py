"""The decisions' forms: proposing a decision (and reversing one on appeal), upholding an appeal, and the
kommune's appeal."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from grants.core.forms import KronerField, required
from grants.decisions.models import Outcome

LETTER_LANGUAGES = [("nb", _l("Bokmål")), ("nn", _l("Nynorsk")), ("en", _l("English"))]
LETTER_LANGUAGE_HINT = _l("A municipality that has chosen bokmål or nynorsk gets its letters in that written "
                          "standard; English only when asked for.")
OUTCOMES = [
    (Outcome.granted.value, _l("Grant")),
    (Outcome.rejected.value, _l("Reject")),
    (Outcome.dismissed.value, _l("Dismiss")),
]

class DecisionForm(FlaskForm):
    outcome = RadioField(_l("Decision"), choices=OUTCOMES, validators=[required(_l("Choose the decision."))])
    amount = KronerField(_l("Amount granted"), validators=[Optional()], minimum=1,
                         description=_l("Only for a grant. At most the amount applied for."))
    purpose = TextAreaField(_l("Purpose of the grant"), validators=[Optional(), Length(max=3000)])
    conditions = TextAreaField(_l("Conditions"), validators=[Optional(), Length(max=5000)])
    special_conditions = TextAreaField(_l("Special conditions"), validators=[Optional(), Length(max=5000)])
    reporting_deadline = DateField(_l("Reporting deadline"), validators=[Optional()],
                                   description=_l("Leave empty to use the round's deadline."))
    reasons_rules = TextAreaField(_l("The rules the decision is based on"),
                                  validators=[Optional(), Length(max=5000)])
    reasons_facts = TextAreaField(_l("The facts the decision is based on"),
                                  validators=[Optional(), Length(max=5000)])
    reasons_considerations = TextAreaField(_l("The main considerations"), validators=[Optional(), Length(max=5000)])
    letter_language = SelectField(_l("Language of the letter"), choices=LETTER_LANGUAGES, validate_choice=True,
                                  description=LETTER_LANGUAGE_HINT)

    def __init__(self, *args, amount_applied=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.amount.maximum = amount_applied

    def validate_amount(self, field):
        if self.outcome.data == Outcome.granted and field.amount is None:
            raise ValidationError(_l("Enter the amount granted."))

    def values(self):
        """Keyword arguments for operations.propose_decision (and reverse_appeal)."""
        reasons = {key: (getattr(self, f"reasons_{key}").data or "").strip()
                   for key in ("rules", "facts", "considerations")}
        granted = self.outcome.data == Outcome.granted
        return dict(
            outcome=self.outcome.data, amount=self.amount.amount if granted else None,
            purpose=(self.purpose.data or "").strip() or None,
            conditions=(self.conditions.data or "").strip() or None,
            special_conditions=(self.special_conditions.data or "").strip() or None,
            reporting_deadline=self.reporting_deadline.data,
            reasons=reasons if any(reasons.values()) else None,
        )


class ReverseAppealForm(DecisionForm):
    note = TextAreaField(_l("Why the decision is reversed"), validators=[required(_l("Give a reason.")),
                                                                        Length(max=3000)])


class UpholdAppealForm(FlaskForm):
    note = TextAreaField(_l("Note to the ministry"), validators=[Optional(), Length(max=3000)])


class AppealForm(FlaskForm):
    text = TextAreaField(_l("Your appeal"), validators=[required(_l("Write what you appeal and why.")),
                                                       Length(max=10000)],
                         description=_l("Say which part of the decision you appeal, the change you want, "
                                        "and why."))
