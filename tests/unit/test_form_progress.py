"""Where a section stands among the application's sections, and when the idle warning comes (no database)."""

from datetime import timedelta

import pytest

from grants.applications import sections
from grants.applications.forms import SECTIONS
from grants.security import session_timing

NAMES = [name for name, _form, _title in SECTIONS]


def test_each_section_has_its_number_among_all_of_them_in_the_order_they_are_defined():
    assert [sections.position(name) for name in NAMES] == [(n, len(NAMES)) for n in range(1, len(NAMES) + 1)]
    assert sections.position("project") == (2, 8)


def test_the_section_after_each_is_the_next_one_defined_and_none_after_the_last():
    assert [sections.following(name) for name in NAMES] == [*NAMES[1:], None]


@pytest.mark.parametrize("lifetime, warning, expected", [
    (timedelta(minutes=30), 120, (1800, 120)),
    (1800, 120, (1800, 120)),  # Flask takes seconds as well
    (timedelta(seconds=30), 120, (30, 15)),  # never in the first half of a short idle time
    (timedelta(seconds=30), 12, (30, 12)),
])
def test_the_warning_comes_the_configured_time_before_the_idle_end(lifetime, warning, expected):
    config = {"PERMANENT_SESSION_LIFETIME": lifetime, "SESSION_WARNING_SECONDS": warning}
    assert session_timing(config) == expected
