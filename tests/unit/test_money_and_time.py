from datetime import UTC, date, datetime

import pytest

from grants.core.money import format_kroner, parse_kroner
from grants.core.timeutil import days_before, deadline_utc


@pytest.mark.parametrize("text, amount", [
    ("150000", 150000), ("150 000", 150000), ("kr 150 000", 150000), ("150.000", 150000),
    ("150\u00a0000", 150000), ("150 000,-", 150000), ("NOK 10000000", 10_000_000),
])
def test_parse_kroner_accepts_how_people_write_amounts(text, amount):
    assert parse_kroner(text) == amount


@pytest.mark.parametrize("text", ["", "abc", "150,50", "1e6", "12.5.3x", "150 000,50"])
def test_parse_kroner_refuses_anything_but_whole_kroner(text):
    with pytest.raises(ValueError):
        parse_kroner(text)


def test_format_kroner_groups_thousands():
    assert format_kroner(10_000_000) == "10\u00a0000\u00a0000\u00a0kr"
    assert format_kroner(0, with_unit=False) == "0"


def test_deadline_is_the_last_second_of_the_day_in_oslo_winter():
    assert deadline_utc(date(2025, 2, 19)) == datetime(2025, 2, 19, 22, 59, 59, tzinfo=UTC)


def test_deadline_in_summer_time_is_two_hours_ahead_of_utc():
    assert deadline_utc(date(2024, 6, 14)) == datetime(2024, 6, 14, 21, 59, 59, tzinfo=UTC)


def test_days_before_counts_oslo_calendar_days_across_the_clock_change():
    # 31 March 2024: clocks went forward in Oslo. 23:30 UTC on 30 March is already 31 March in Oslo.
    assert days_before(date(2024, 4, 7), datetime(2024, 3, 30, 23, 30, tzinfo=UTC)) == 7
    assert days_before(date(2024, 4, 7), datetime(2024, 3, 30, 22, 30, tzinfo=UTC)) == 8


def test_the_360giving_award_date_is_the_oslo_day_of_the_decision():
    from grants.outcomes.exports import _oslo_day

    assert _oslo_day("2025-03-01T23:30:00+00:00") == "2025-03-02"  # 00:30 in Oslo (winter, UTC+1)
    assert _oslo_day("2025-06-30T21:59:00+00:00") == "2025-06-30"  # 23:59 in Oslo (summer, UTC+2)
    assert _oslo_day("2025-06-30T22:00:00+00:00") == "2025-07-01"
    assert _oslo_day(None) is None
