from collections import Counter

from grants.accounts.register import read_register

EXPECTED_PER_COUNTY = {
    "03": 1, "11": 23, "15": 27, "18": 41, "31": 12, "32": 21, "33": 18, "34": 46, "39": 6, "40": 17,
    "42": 25, "46": 43, "50": 38, "55": 21, "56": 18,
}


def test_register_has_357_municipalities_in_15_counties():
    counties, municipalities = read_register()
    assert len(municipalities) == 357
    assert len({m["number"] for m in municipalities}) == 357
    assert len(counties) == 15
    assert Counter(m["county"] for m in municipalities) == EXPECTED_PER_COUNTY


def test_every_number_is_four_digits_and_starts_with_its_county():
    counties, municipalities = read_register()
    county_numbers = {c["number"] for c in counties}
    for m in municipalities:
        assert len(m["number"]) == 4 and m["number"].isdigit()
        assert m["number"][:2] == m["county"] and m["county"] in county_numbers
        assert m["written_standard"] in {"bokmal", "nynorsk", "neutral"}


def test_known_entries():
    _counties, municipalities = read_register()
    by_number = {m["number"]: m for m in municipalities}
    for number, name in [("0301", "Oslo"), ("4601", "Bergen"), ("5001", "Trondheim"), ("1508", "Ålesund"),
                         ("1580", "Haram"), ("3907", "Sandefjord"), ("4203", "Arendal")]:
        assert by_number[number]["name"] == name
    assert by_number["5612"]["name"] == "Kautokeino" and by_number["5612"]["sami_name"] == "Guovdageaidnu"
    assert "1507" not in by_number  # the old Ålesund number is gone since 2024
