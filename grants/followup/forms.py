"""The kommune's answer to a grant (accept it, with the account it is paid to, or decline it), and IMDi's payments
of it."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, FieldList, HiddenField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from grants.core.forms import KronerField, NumberRange, WholeNumberField, required


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


# --- the report (rapport) ------------------------------------------------------------------------------------

_TEXT_LIMIT = Length(max=5000, message=_l("Write at most %(max)d characters."))


class ReportForm(FlaskForm):
    """A grant's report as the kommune writes it. Every field is kept as typed in the draft; the rules apply when
    it is sent. The spending lines follow the granted budget's lines (the view makes one entry per line)."""

    version = HiddenField()
    done = TextAreaField(_l("What was done"), validators=[required(_l("Describe what was done.")), _TEXT_LIMIT],
                         description=_l("The activities carried out, and any changes from the plan in the "
                                        "application."))
    participants = WholeNumberField(
        _l("Number of participants"),
        validators=[required(_l("Enter the number of participants as a whole number.")),
                    NumberRange(min=0, max=1_000_000, message=_l("Enter a whole number from 0."))],
        description=_l("People who took part in the measure. The scheme's condition is at least ten."))
    results = TextAreaField(_l("Results"), validators=[required(_l("Describe the results.")), _TEXT_LIMIT],
                            description=_l("What the measure achieved, measured as the application said."))
    transfer_value = TextAreaField(
        _l("Transfer value"), validators=[required(_l("Describe what other municipalities can learn.")), _TEXT_LIMIT],
        description=_l("What other municipalities can use, and how it has been shared."))
    spending = FieldList(KronerField(_l("Spent"), validators=[required(_l("Enter what was spent, 0 if nothing."))],
                                     minimum=0), min_entries=0, max_entries=30)
    own_contribution = KronerField(_l("Own contribution spent"),
                                   validators=[required(_l("Enter the own contribution, 0 if none."))], minimum=0,
                                   description=_l("The municipality's own money spent on the measure, whole kroner."))
    unused = KronerField(_l("Unused funds"), validators=[required(_l("Enter the unused funds, 0 if none."))],
                         minimum=0, description=_l("The part of the grant paid out that was not used, whole kroner. "
                                                   "IMDi may claim it back."))
    comments = TextAreaField(_l("Other comments"), validators=[Optional(), _TEXT_LIMIT])

    def own_fields(self):
        """The names of the fields kept in the draft, in the order of the form."""
        return ["done", "participants", "results", "transfer_value",
                *[entry.name for entry in self.spending], "own_contribution", "unused", "comments"]


class ApproveReportForm(FlaskForm):
    note = TextAreaField(_l("Message to the municipality"), validators=[Optional(), Length(max=3000)],
                         description=_l("Optional. Sent with the notice that the report is approved."))


class ReturnReportForm(FlaskForm):
    message = TextAreaField(_l("What must be changed"),
                            validators=[required(_l("Write what the municipality must change.")), Length(max=3000)])
    resubmit_by = DateField(_l("Send again by"),
                            validators=[required(_l("Enter the date by which the report is sent again."))],
                            description=_l("This becomes the new reporting deadline; the reminders follow it."))


class ReportAttachmentForm(FlaskForm):
    file = FileField(_l("Choose a file"), validators=[required(_l("Choose a file to upload."))],
                     description=_l("The project's accounts or other documentation: PDF, DOCX, ODT or XLSX, at most "
                                    "10 MB."))


# --- repayment claims (krav om tilbakebetaling) ------------------------------------------------------------------

class ClaimForm(FlaskForm):
    amount = KronerField(_l("Amount to claim back"), validators=[required(_l("Enter the amount to claim back."))],
                         minimum=1, description=_l("Whole kroner. At most what has been paid, less other claims."))
    reason = TextAreaField(
        _l("Reason"), validators=[required(_l("Give the reason for the claim.")), Length(max=3000)],
        description=_l("Stands in the letter to the municipality. At most 3,000 characters."))
    due_on = DateField(_l("Pay by"), validators=[required(_l("Enter the date the amount must be repaid by."))],
                       description=_l("The due date in the letter. Not in the past."))


class ApproveWithClaimForm(ClaimForm):
    """Approving a report with a repayment claim: the claim's fields and the message to the municipality."""

    note = TextAreaField(_l("Message to the municipality with the approval"),
                         validators=[Optional(), Length(max=3000)],
                         description=_l("Optional. Sent with the notice that the report is approved."))


class RepaymentForm(FlaskForm):
    amount = KronerField(_l("Amount received"), validators=[required(_l("Enter the amount received."))], minimum=1,
                         description=_l("Whole kroner. Part of the claim can be recorded now and the rest later."))
    received_on = DateField(_l("Received on"), validators=[required(_l("Enter the date the repayment was received."))],
                            description=_l("The date in the accounting system."))
