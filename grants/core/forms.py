"""Form fields shared by the domain packages: whole kroner, Oslo times."""

import re
from datetime import datetime

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, StringField, validators
from wtforms.validators import ValidationError

from grants.core.money import MAX_KRONER, format_kroner, parse_kroner
from grants.core.timeutil import OSLO, to_oslo
from grants.i18n import kroner


def required(message=None):
    """A field that must be filled in, with ``message`` (a lazy string) or the common one in the user's language."""
    return validators.InputRequired(message=message or _l("This field is required."))


class NumberRange:
    """A number from ``min`` to ``max`` (either may be None), with the message in the user's language (WTForms'
    own has no nynorsk) and the bounds grouped as the language writes them ("1 000 000"; ``grouped=False`` for
    a year). A number that could not
    be read says so once, through its field (WholeNumberField), and is not told it is out of range as well. Plain
    comparisons: no math.isnan(), which raised OverflowError for a 309-digit whole number in WTForms' own."""

    def __init__(self, min=None, max=None, message=None, grouped=True):  # noqa: A002 - the names WTForms uses
        self.min, self.max, self.message, self.grouped = min, max, message, grouped

    def _written(self, number):
        return format_decimal(number) if self.grouped else str(number)

    def __call__(self, form, field):
        data = field.data
        if data is None and field.process_errors:
            return
        if data is not None and (self.min is None or data >= self.min) and (self.max is None or data <= self.max):
            return
        if self.message is not None:
            raise ValidationError(self.message)
        bounds = {"min": self._written(self.min) if self.min is not None else "",
                  "max": self._written(self.max) if self.max is not None else ""}
        if self.min is not None and self.max is not None:
            raise ValidationError(_("Enter a whole number from %(min)s to %(max)s.", **bounds))
        if self.min is not None:
            raise ValidationError(_("Enter a whole number of at least %(min)s.", **bounds))
        raise ValidationError(_("Enter a whole number of at most %(max)s.", **bounds))


class WholeNumberField(IntegerField):
    """A whole number as people type it: spaces between thousands are fine ("1 200", also no-break spaces), a
    sign too; anything else keeps what was typed and says, in the user's language, what is expected."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = "".join(str(valuelist[0]).split()).replace("\u202f", "")
        if not text:
            self.data = None
            return
        if re.fullmatch(r"[+-]?[0-9]{1,400}", text):
            self.data = int(text)
            return
        self.data = None
        raise ValueError(_("Enter a whole number, such as 12."))


class KronerField(StringField):
    """An amount in whole kroner. Keeps what was typed when it is not a valid amount."""

    def __init__(self, label=None, validators=None, minimum=None, maximum=None, **kwargs):
        kwargs.setdefault("render_kw", {})
        kwargs["render_kw"].setdefault("inputmode", "numeric")
        kwargs["render_kw"].setdefault("autocomplete", "off")
        super().__init__(label, validators, **kwargs)
        self.minimum = minimum
        self.maximum = maximum
        self.amount = None

    def process_data(self, value):
        self.data = value
        self.amount = value if isinstance(value, int) else None

    def process_formdata(self, valuelist):
        self.raw_data = valuelist
        self.data = valuelist[0] if valuelist else ""
        try:
            self.amount = parse_kroner(self.data) if self.data and self.data.strip() else None
        except ValueError:
            self.amount = None

    def _value(self):
        if isinstance(self.data, int):
            return format_kroner(self.data, with_unit=False)
        return self.data or ""

    def pre_validate(self, form):
        if self.data in (None, "") or (isinstance(self.data, str) and not self.data.strip()):
            return
        if self.amount is None:
            raise ValidationError(_l("Enter the amount in whole kroner, for example 150000."))
        if self.minimum is not None and self.amount < self.minimum:
            raise ValidationError(_l("The amount must be more than zero.") if self.minimum == 1
                                  else _l("The amount is too small."))
        maximum = self.maximum() if callable(self.maximum) else self.maximum
        maximum = MAX_KRONER if maximum is None else min(maximum, MAX_KRONER)
        if self.amount > maximum:
            raise ValidationError(_l("The amount cannot be more than %(max)s.", max=kroner(maximum)))


class OsloDateTimeField(StringField):
    """A date and time typed in Oslo time (input type datetime-local), stored in UTC."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {})
        kwargs["render_kw"]["type"] = "datetime-local"
        super().__init__(label, validators, **kwargs)
        self.moment = None

    def process_data(self, value):
        self.moment = value
        self.data = to_oslo(value).strftime("%Y-%m-%dT%H:%M") if isinstance(value, datetime) else value

    def process_formdata(self, valuelist):
        self.raw_data = valuelist
        self.data = valuelist[0] if valuelist else ""
        self.moment = None
        for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
            try:
                self.moment = datetime.strptime(self.data.strip(), fmt).replace(tzinfo=OSLO)
                break
            except (ValueError, AttributeError):
                continue

    def pre_validate(self, form):
        if self.data and self.moment is None:
            raise ValidationError(_l("Enter a date and time, for example 24.01.2025 09:00."))
