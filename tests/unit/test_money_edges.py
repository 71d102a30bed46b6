"""Whole kroner at the edges: what a person may type, what is refused and why, and negative amounts on screen."""

import pytest

from grants.core.money import format_kroner, parse_kroner


@pytest.mark.parametrize("text, amount", [
    ("nok 5 000", 5000), ("Kr 5 000", 5000), ("kr5000", 5000), ("NOK 5000,-", 5000), ("-250", -250),
    (" 12 345 ", 12345), ("999999999999999", 999_999_999_999_999),
])
def test_parse_kroner_takes_the_currency_in_front_in_any_usual_spelling(text, amount):
    assert parse_kroner(text) == amount


def test_an_int_is_already_kroner():
    assert parse_kroner(75_000) == 75_000


@pytest.mark.parametrize("text", ["+5", "1_000", "1234567890123456", "KR 5", "kr", ",-", "5 kr"])
def test_parse_kroner_refuses_what_python_would_read_but_a_person_did_not_mean(text):
    """int() alone would take "+5", "1_000" and any number of digits; the amount field does not."""
    with pytest.raises(ValueError, match="^not a whole number of kroner$"):
        parse_kroner(text)


def test_nothing_at_all_is_refused_as_empty():
    with pytest.raises(ValueError, match="^empty$"):
        parse_kroner(None)


def test_format_kroner_of_nothing_is_blank():
    assert format_kroner(None) == ""
    assert format_kroner(None, with_unit=False) == ""


def test_format_kroner_keeps_the_minus_sign_before_the_grouped_digits():
    assert format_kroner(-1_234_567) == "-1\u00a0234\u00a0567\u00a0kr"
    assert format_kroner(-50, with_unit=False) == "-50"
    assert format_kroner(1_234, with_unit=False) == "1\u00a0234"
