"""Amounts and dates written as a document's language writes them (Babel), for letters and documents whose
language is their own rather than the page's: "1 234 567 kr" and "19. februar 2025" in bokmål and nynorsk,
"NOK 1,234,567" and "19 February 2025" in English."""

from datetime import datetime
from functools import lru_cache

from babel.dates import format_date
from babel.numbers import format_decimal

from grants.core.timeutil import to_oslo

# The Babel locale of each language of the service (English as written in Europe: day before month).
LOCALES = {"nb": "nb_NO", "nn": "nn_NO", "en": "en_GB"}


def kroner_in(amount, lang):
    """Whole kroner (int) in ``lang`` ("nb", "nn" or "en"), grouped by Babel with no-break spaces: "45 000 kr" in
    Norwegian, "NOK 45,000" in English; "" for None."""
    if amount is None:
        return ""
    digits = format_decimal(int(amount), format="#,##0", locale=LOCALES[lang])
    return f"NOK\u00a0{digits}" if lang == "en" else f"{digits}\u00a0kr"


def day_in(moment, lang):
    """The day of ``moment`` in ``lang``, written out (Babel's long date): "19. februar 2025", "19 February 2025".
    A datetime (UTC) is read as its Oslo day; a date is taken as it is; None gives ""."""
    if moment is None:
        return ""
    day = to_oslo(moment).date() if isinstance(moment, datetime) else moment
    return _long_date(day, lang)


@lru_cache(maxsize=4096)
def _long_date(day, lang):
    """Babel's long date of ``day`` (a date) in ``lang``, remembered: a page lists the same few days (deadlines,
    decision days) many times, and the words of a day never change."""
    return format_date(day, format="long", locale=LOCALES[lang])


# The word between a day and its clock time.
AT = {"nb": "kl.", "nn": "kl.", "en": "at"}


def moment_in(moment, lang):
    """A UTC time as its Oslo day and time in ``lang``: "19. februar 2025 kl. 14:05", "19 February 2025 at
    14:05"; None gives ""."""
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        return day_in(moment, lang)
    return f"{day_in(moment, lang)} {AT[lang]} {to_oslo(moment):%H:%M}"


def organisation_number_shown(number):
    """A 9-digit organisation number (str) as people write it, in groups of three: "958 935 420" (python-stdnum's
    no.orgnr); "" for None or "". The same in every language."""
    from stdnum.no import orgnr

    return orgnr.format(number) if number else ""
