"""Account forms. Labels and messages are lazily translated."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, RadioField, SelectField, StringField, TelField
from wtforms.validators import Email, EqualTo, Length, Optional, Regexp

from grants.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from grants.core.forms import required

LANGUAGE_CHOICES = [("nb", "Bokmål"), ("nn", "Nynorsk"), ("en", "English")]
PHONE = Regexp(r"^\+?[0-9 ]{8,15}$", message=_l("Enter a phone number of 8 digits, or with a country code."))


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[required(_l("Enter your e-mail address."))])
    password = PasswordField(_l("Password"), validators=[required(_l("Enter your password."))])
    next = HiddenField()


class RegisterForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[required(_l("Enter your name.")), Length(max=120)])
    email = EmailField(
        _l("E-mail address"),
        validators=[required(_l("Enter your e-mail address.")),
                    Email(message=_l("Enter an e-mail address like name@kommune.no.")), Length(max=254)],
    )
    municipality = SelectField(_l("Municipality"), validators=[required(_l("Choose your municipality."))],
                               validate_choice=True)
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=120)])
    phone = TelField(_l("Phone"), validators=[Optional(), PHONE])
    language = RadioField(_l("Language"), choices=LANGUAGE_CHOICES, default="nb", validators=[required()])
    password = PasswordField(
        _l("Password"),
        validators=[required(_l("Choose a password.")), Length(min=MIN_LENGTH, max=MAX_LENGTH,
                    message=_l("The password must be between 8 and 128 characters."))],
        description=_l("At least 8 characters; a long sentence is easier to remember and harder to guess."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[required(_l("Repeat the password.")), EqualTo("password", message=_l("The passwords differ."))],
    )


class ProfileForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[required(_l("Enter your name.")), Length(max=120)])
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=120)])
    phone = TelField(_l("Phone"), validators=[Optional(), PHONE])
    language = RadioField(_l("Language"), choices=LANGUAGE_CHOICES, validators=[required()])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[required()])
    password = PasswordField(_l("New password"), validators=[required(), Length(min=MIN_LENGTH, max=MAX_LENGTH,
                             message=_l("The password must be between 8 and 128 characters."))])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[required(), EqualTo("password", message=_l("The passwords differ."))])


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[required(_l("Enter your e-mail address.")),
                       Email(message=_l("Enter an e-mail address like name@kommune.no."))])


class ResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[required(), Length(min=MIN_LENGTH, max=MAX_LENGTH,
                             message=_l("The password must be between 8 and 128 characters."))])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[required(), EqualTo("password", message=_l("The passwords differ."))])


class StaffUserForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[required(), Length(max=120)])
    email = EmailField(_l("E-mail address"),
                       validators=[required(), Email(message=_l("Enter a valid e-mail address."))])
    role = SelectField(_l("Role"), choices=[
        ("caseworker", _l("Caseworker")), ("reviewer", _l("Reviewer")),
        ("approver", _l("Approver")), ("admin", _l("Administrator")),
    ], validators=[required()])
    language = RadioField(_l("Language"), choices=LANGUAGE_CHOICES, default="nb", validators=[required()])
    password = PasswordField(_l("Initial password"), validators=[required(), Length(min=MIN_LENGTH, max=MAX_LENGTH)])


class DecisionForm(FlaskForm):
    """Approve or reject a pending user."""

    reason = StringField(_l("Reason (sent to the person if you reject)"), validators=[Optional(), Length(max=500)])


class UnlockForm(FlaskForm):
    """The button that lifts the pause on logging in (the link in the e-mail opens a page; only the button acts, so
    a mail scanner that opens links uses up nothing)."""


_CODE_HINT = _l("The six digits your app shows now. Without your phone: one of your recovery codes.")


class CodeForm(FlaskForm):
    """The code of the second factor: six digits from the app, or a recovery code."""

    code = StringField(_l("Code"), validators=[required(_l("Enter the code from your app.")), Length(max=40)],
                       description=_CODE_HINT)


class ConfirmActionForm(FlaskForm):
    """The code asked for before an approval or a publication (grants.accounts.mfa_session.fresh_second_factor);
    named so that it cannot clash with a field of the form it guards."""

    mfa_code = StringField(_l("Code"), validators=[required(_l("Enter the code from your app.")), Length(max=40)],
                           description=_CODE_HINT)


class EnrolForm(FlaskForm):
    """The first code from the app being set up: proof that it has the secret."""

    code = StringField(_l("Code from the app"), validators=[required(_l("Enter the code from your app.")),
                                                           Length(max=40)],
                       description=_l("The six digits the app shows for IMDi tilskudd."))


class ManageSecondFactorForm(CodeForm):
    """The security page: a code (or recovery code) first, then a new phone or new recovery codes (the button
    pressed, ``action``: "renew" or "codes")."""
