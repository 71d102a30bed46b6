"""Forms of signing in with ID-porten and Ansattporten: inviting a person, finishing the first Ansattporten sign-in,
and recording a kommune's organisation number. Labels and messages are lazily translated."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectField, StringField
from wtforms.validators import Email, Length, Optional

from grants.accounts.forms import LANGUAGE_CHOICES
from grants.core.forms import required


class InviteForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[required(_l("Enter the person's name.")), Length(max=120)])
    email = EmailField(
        _l("E-mail address"),
        validators=[required(_l("Enter the person's e-mail address.")),
                    Email(message=_l("Enter an e-mail address like name@kommune.no.")), Length(max=254)],
    )
    language = RadioField(_l("Language of the invitation"), choices=LANGUAGE_CHOICES, default="nb",
                          validators=[required()])


class CompleteForm(FlaskForm):
    """The first Ansattporten sign-in: what the provider does not tell (name and e-mail address)."""

    name = StringField(_l("Full name"), validators=[required(_l("Enter your name.")), Length(max=120)])
    email = EmailField(
        _l("E-mail address"),
        validators=[required(_l("Enter your e-mail address.")),
                    Email(message=_l("Enter an e-mail address like name@kommune.no.")), Length(max=254)],
    )
    language = RadioField(_l("Language"), choices=LANGUAGE_CHOICES, default="nb", validators=[required()])


class OrganisationNumberForm(FlaskForm):
    municipality = SelectField(_l("Municipality"), validators=[required(_l("Choose a municipality."))],
                               validate_choice=True)
    organisation_number = StringField(
        _l("Organisation number"), validators=[Optional(), Length(max=20)],
        description=_l("9 digits, as in Enhetsregisteret. Leave empty to remove the number."))
