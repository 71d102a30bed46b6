"""Oslo and UTC at the edges: the start of a day, naive moments, dates without a time, and the server's own zone."""

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from grants.core.timeutil import add_days, deadline_utc, oslo_date, start_of_day_utc, to_oslo


def test_an_oslo_day_starts_at_23_utc_in_winter_and_22_utc_in_summer():
    assert start_of_day_utc(date(2025, 2, 19)) == datetime(2025, 2, 18, 23, 0, tzinfo=UTC)
    assert start_of_day_utc(date(2024, 6, 14)) == datetime(2024, 6, 13, 22, 0, tzinfo=UTC)


@pytest.fixture
def server_in_new_york(monkeypatch):
    """The process's local zone set to something else than UTC and Oslo, as on a server configured elsewhere."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_deadlines_and_day_starts_come_out_in_utc_whatever_the_servers_zone(server_in_new_york):
    deadline = deadline_utc(date(2025, 2, 19))
    start = start_of_day_utc(date(2025, 2, 19))
    assert deadline.isoformat() == "2025-02-19T22:59:59+00:00"
    assert start.isoformat() == "2025-02-18T23:00:00+00:00"
    assert to_oslo(datetime(2025, 3, 1, 23, 30)).isoformat() == "2025-03-02T00:30:00+01:00"  # naive means UTC


def test_a_naive_moment_is_read_as_utc():
    assert to_oslo(datetime(2025, 3, 1, 23, 30)) == datetime(2025, 3, 1, 23, 30, tzinfo=UTC)
    assert to_oslo(datetime(2025, 3, 1, 23, 30)).isoformat() == "2025-03-02T00:30:00+01:00"
    assert oslo_date(datetime(2025, 3, 1, 23, 30)) == date(2025, 3, 2)


def test_an_aware_moment_keeps_its_instant():
    moment = datetime(2025, 3, 2, 0, 30, tzinfo=to_oslo(datetime(2025, 1, 1, tzinfo=UTC)).tzinfo)
    assert to_oslo(moment) == moment


def test_add_days_moves_forward_by_whole_days():
    moment = datetime(2025, 2, 19, 12, tzinfo=UTC)
    assert add_days(moment, 21) == moment + timedelta(days=21)
    assert add_days(moment, -1) == datetime(2025, 2, 18, 12, tzinfo=UTC)
