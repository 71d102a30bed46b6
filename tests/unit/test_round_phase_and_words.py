"""A round's phase at fixed moments (coming, open, closed, and the day that goes with each), and days and amounts
written as each language writes them (Babel)."""

from datetime import UTC, date, datetime

import pytest

from grants.core.timeutil import OSLO, deadline_utc
from grants.core.wording import day_in, kroner_in
from grants.rounds.phase import Phase, RoundPhase, phase_at

OPENS = datetime(2025, 1, 24, 9, tzinfo=OSLO).astimezone(UTC)
DEADLINE = date(2025, 2, 19)


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2025, 1, 24, 8, 59, 59, tzinfo=OSLO), RoundPhase(Phase.coming, date(2025, 1, 24), DEADLINE)),
    (datetime(2025, 1, 24, 9, 0, tzinfo=OSLO), RoundPhase(Phase.open, date(2025, 1, 24), DEADLINE)),
    (datetime(2025, 2, 19, 23, 59, 59, tzinfo=OSLO), RoundPhase(Phase.open, date(2025, 1, 24), DEADLINE)),
    (datetime(2025, 2, 20, 0, 0, tzinfo=OSLO), RoundPhase(Phase.closed, DEADLINE, DEADLINE)),
    # 23:30 UTC on the 19th is already the 20th in Oslo: closed.
    (datetime(2025, 2, 19, 23, 30, tzinfo=UTC), RoundPhase(Phase.closed, DEADLINE, DEADLINE)),
    (datetime(2024, 12, 31, 12, tzinfo=UTC), RoundPhase(Phase.coming, date(2025, 1, 24), DEADLINE)),
])
def test_a_rounds_phase_and_its_day_at_fixed_moments(moment, expected):
    assert phase_at(OPENS, DEADLINE, moment) == expected


def test_a_round_opening_late_in_the_evening_utc_is_dated_by_its_oslo_day():
    opens = datetime(2026, 1, 23, 23, 30, tzinfo=UTC)  # 00:30 on the 24th in Oslo
    assert phase_at(opens, date(2026, 2, 19), datetime(2026, 1, 1, tzinfo=UTC)).day == date(2026, 1, 24)


@pytest.mark.parametrize(("locale", "expected"), [
    ("nb", "19. februar 2025"), ("nn", "19. februar 2025"), ("en", "19 February 2025")])
def test_a_deadline_is_written_as_its_whole_oslo_day(locale, expected):
    assert day_in(DEADLINE, locale) == expected
    assert day_in(deadline_utc(DEADLINE), locale) == expected  # 22:59:59 UTC is still the 19th in Oslo
    assert day_in(None, locale) == ""


@pytest.mark.parametrize(("locale", "amount", "expected"), [
    ("nb", 1_234_567, "1\u00a0234\u00a0567\u00a0kr"), ("nn", 1_234_567, "1\u00a0234\u00a0567\u00a0kr"),
    ("en", 1_234_567, "NOK\u00a01,234,567"), ("nb", 0, "0\u00a0kr"), ("nb", 999, "999\u00a0kr"),
])
def test_amounts_are_written_as_each_language_writes_them(locale, amount, expected):
    assert kroner_in(amount, locale) == expected


def test_no_amount_is_written_as_nothing():
    assert kroner_in(None, "nb") == ""
