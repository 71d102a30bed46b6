"""Amounts and dates in a document's own language (grants.core.wording, Babel)."""

from datetime import UTC, date, datetime

import pytest

from grants.core.wording import day_in, kroner_in, moment_in


@pytest.mark.parametrize(("lang", "amount", "written"), [
    ("nb", 1_234_567, "1\u00a0234\u00a0567\u00a0kr"), ("nn", 45_000, "45\u00a0000\u00a0kr"),
    ("en", 1_234_567, "NOK\u00a01,234,567"), ("nb", 0, "0\u00a0kr"), ("nb", -5, "-5\u00a0kr"), ("en", None, "")])
def test_kroner_as_each_language_writes_them(lang, amount, written):
    assert kroner_in(amount, lang) == written


@pytest.mark.parametrize(("lang", "written"), [("nb", "19. februar 2025"), ("nn", "19. februar 2025"),
                                                ("en", "19 February 2025")])
def test_days_written_out(lang, written):
    assert day_in(date(2025, 2, 19), lang) == written
    # 23:30 UTC on the 18th is already the 19th in Oslo.
    assert day_in(datetime(2025, 2, 18, 23, 30, tzinfo=UTC), lang) == written


def test_a_moment_in_oslo_with_its_time():
    moment = datetime(2025, 6, 30, 22, 5, tzinfo=UTC)  # summer time: 00:05 on 1 July in Oslo
    assert moment_in(moment, "nn") == "1. juli 2025 kl. 00:05"
    assert moment_in(moment, "en") == "1 July 2025 at 00:05"
    assert moment_in(None, "nb") == "" and day_in(None, "nb") == ""
