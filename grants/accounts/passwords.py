"""Password rules (ASVS level 2): 8 to 128 characters, not one of the most common passwords."""

from functools import cache
from pathlib import Path

MIN_LENGTH = 8
MAX_LENGTH = 128


@cache
def _common():
    path = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
    return frozenset(line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def password_problem(password, email=None):
    """A message key describing what is wrong with ``password``, or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    lowered = password.lower()
    if lowered in _common():
        return "too_common"
    if email and lowered == email.lower():
        return "same_as_email"
    return None
