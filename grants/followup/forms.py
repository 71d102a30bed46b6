"""The kommune's answer to a grant (accept it, with the account it is paid to, or decline it), and IMDi's payments
of it."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from grants.core.forms import KronerField, required


class AcceptForm(FlaskForm):
    confirms_conditions = BooleanField(
        _l("We accept the grant and its conditions"),
        validators=[InputRequired(message=_l("Confirm that the municipality accepts the conditions."))])
    account = StringField(
        _l("Account number"), validators=[required(_l("Enter the account number the grant is paid to.")),
                                          Length(max=40)],
        description=_l("The municipality's account, 11 digits. Spaces and dots are allowed."),
        render_kw={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"})


class DeclineForm(FlaskForm):
    reason = TextAreaField(
        _l("Why the municipality declines the grant"),
        validators=[required(_l("Give a reason.")), Length(max=3000)],
        description=_l("IMDi is told, and the money goes back to the round's budget."))


class PaymentForm(FlaskForm):
    amount = KronerField(_l("Amount to pay"), validators=[required(_l("Enter the amount to pay."))], minimum=1,
                         description=_l("Whole kroner. At most what can be paid now."))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])


class PaidForm(FlaskForm):
    paid_on = DateField(_l("Paid on"), validators=[required(_l("Enter the date the payment was made."))],
                        description=_l("The date in the accounting system."))


# --- repayment claims (krav om tilbakebetaling) ------------------------------------------------------------------

class ClaimForm(FlaskForm):
    amount = KronerField(_l("Amount to claim back"), validators=[required(_l("Enter the amount to claim back."))],
                         minimum=1, description=_l("Whole kroner. At most what has been paid, less other claims."))
    reason = TextAreaField(
        _l("Reason"), validators=[required(_l("Give the reason for the claim.")), Length(max=3000)],
        description=_l("Stands in the letter to the municipality. At most 3,000 characters."))
    due_on = DateField(_l("Pay by"), validators=[required(_l("Enter the date the amount must be repaid by."))],
                       description=_l("The due date in the letter. Not in the past."))


class RepaymentForm(FlaskForm):
    amount = KronerField(_l("Amount received"), validators=[required(_l("Enter the amount received."))], minimum=1,
                         description=_l("Whole kroner. Part of the claim can be recorded now and the rest later."))
    received_on = DateField(_l("Received on"), validators=[required(_l("Enter the date the repayment was received."))],
                            description=_l("The date in the accounting system."))
