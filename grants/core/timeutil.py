"""Time: stored in UTC, shown in Europe/Oslo. A deadline date means 23:59:59 Oslo time that day."""

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")
_frozen = ContextVar("grants_frozen_now", default=None)


def now_utc():
    """The current time in UTC, or the moment set by ``at_moment`` (replaying history in the demo data)."""
    return _frozen.get() or datetime.now(UTC)


@contextmanager
def at_moment(moment):
    """Run the real operations as if it were ``moment``: every rule about time sees that moment."""
    token = _frozen.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _frozen.reset(token)


def deadline_utc(day: date) -> datetime:
    """The last second of ``day`` in Oslo, as a UTC datetime."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=OSLO).astimezone(UTC)


def within_deadline(moment: datetime, deadline_day: date) -> bool:
    """Whether ``moment`` (an aware datetime, any zone) falls on or before ``deadline_day`` (an Oslo date).

    A deadline date is the whole day in Oslo: 23:59:59.9 that evening is in time, 00:00:00 the next day is not.
    """
    return oslo_date(moment) <= deadline_day


def start_of_day_utc(day: date) -> datetime:
    """Midnight at the start of ``day`` in Oslo, as a UTC datetime."""
    return datetime.combine(day, time(0, 0), tzinfo=OSLO).astimezone(UTC)


def to_oslo(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(OSLO)


def oslo_date(moment: datetime) -> date:
    return to_oslo(moment).date()


def days_before(deadline_day: date, moment: datetime) -> int:
    """Whole calendar days in Oslo from ``moment`` to the deadline day (0 on the day itself)."""
    return (deadline_day - oslo_date(moment)).days


def add_days(moment: datetime, days: int) -> datetime:
    return moment + timedelta(days=days)
