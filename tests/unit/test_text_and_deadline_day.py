"""Shortened values keep what tells the reader what they are; a deadline date is the whole day in Oslo."""

from datetime import UTC, date, datetime

import pytest

from grants.core.text import shorten, shorten_filename
from grants.core.timeutil import OSLO, within_deadline


def test_short_text_is_left_alone_and_long_text_says_it_was_cut():
    assert shorten("Kartlegging", 11) == "Kartlegging"
    assert shorten("Kartlegging av diskriminering", 12) == "Kartlegging…"
    assert len(shorten("x" * 500, 300)) == 300


def test_a_cut_never_separates_a_letter_from_its_accent():
    text = "Tromso\u0308 kommune"  # o followed by a combining diaeresis: the cut falls between them
    assert shorten(text, 7) == "Troms…"


@pytest.mark.parametrize(("name", "limit", "expected"), [
    ("plan.pdf", 200, "plan.pdf"),
    ("r" * 197 + ".pdf", 200, "r" * 195 + "….pdf"),
    ("a" * 300 + ".docx", 50, "a" * 44 + "….docx"),
    ("ingen-endelse-" * 20, 30, ("ingen-endelse-" * 20)[:29] + "…"),
    ("x." + "y" * 100, 40, ("x." + "y" * 100)[:39] + "…"),  # an "extension" of 101 characters is no extension
])
def test_a_shortened_file_name_keeps_its_extension(name, limit, expected):
    shortened = shorten_filename(name, limit)
    assert shortened == expected and len(shortened) <= limit


DEADLINE = date(2025, 2, 19)


@pytest.mark.parametrize(("moment", "in_time"), [
    (datetime(2025, 2, 19, 23, 59, 59, 400_000, tzinfo=OSLO), True),   # the last moments of the day count
    (datetime(2025, 2, 19, 23, 59, 59, 999_999, tzinfo=OSLO), True),
    (datetime(2025, 2, 20, 0, 0, 0, tzinfo=OSLO), False),
    (datetime(2025, 2, 19, 22, 59, 59, 500_000, tzinfo=UTC), True),    # 23:59:59.5 in Oslo (winter time)
    (datetime(2025, 2, 19, 23, 0, 0, tzinfo=UTC), False),              # 00:00 in Oslo the next day
    (datetime(2025, 2, 19, 0, 0, 0, tzinfo=OSLO), True),
])
def test_the_deadline_is_the_whole_oslo_day(moment, in_time):
    assert within_deadline(moment, DEADLINE) is in_time


def test_summer_time_is_taken_into_account():
    summer = date(2025, 6, 19)
    assert within_deadline(datetime(2025, 6, 19, 21, 59, 59, 900_000, tzinfo=UTC), summer)  # 23:59:59.9 in Oslo
    assert not within_deadline(datetime(2025, 6, 19, 22, 0, tzinfo=UTC), summer)
