"""The kommune's answer to a grant: accept it (with the account it is paid to) or decline it."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from grants.core.forms import required


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
