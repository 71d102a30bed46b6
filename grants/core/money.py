"""Whole kroner. Amounts are ints everywhere; these helpers parse and format them."""

import re

_SEPARATORS = re.compile(r"[\s\u00a0\u202f.]")


# The largest amount anyone may type, in whole kroner: five times the scheme's yearly budget. It keeps every sum the
# application stores inside the database's 32-bit integer columns (30 cost lines of at most this much is
# 1 500 000 000 kr, below 2 147 483 647), so no typed number can overflow a column.
MAX_KRONER = 50_000_000


def parse_kroner(text):
    """Parse a whole-kroner amount typed by a person ("150 000", "150000", "kr 150 000").

    Returns an int, or raises ValueError for anything that is not a whole number of kroner.
    """
    if text is None:
        raise ValueError("empty")
    if isinstance(text, int):
        return text
    cleaned = str(text).strip()
    for prefix in ("kr", "NOK", "nok", "Kr"):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix):].strip()
    if cleaned.endswith(",-"):
        cleaned = cleaned[:-2]
    cleaned = _SEPARATORS.sub("", cleaned)
    if not cleaned or not re.fullmatch(r"-?\d{1,15}", cleaned):
        raise ValueError("not a whole number of kroner")
    return int(cleaned)


def format_kroner(amount, with_unit=True):
    """Format whole kroner the Norwegian way: 1 234 567 kr (narrow no-break spaces)."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    digits = f"{abs(int(amount)):,}".replace(",", "\u00a0")
    return f"{sign}{digits}\u00a0kr" if with_unit else f"{sign}{digits}"
