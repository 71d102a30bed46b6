from collections import Counter

import pytest

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


def test_every_kommune_but_haram_has_a_valid_organisation_number_from_the_named_source():
    """grants/data/organisation_numbers.csv: nine digits that pass the MOD11 check, one per kommune and never the
    same twice, for every kommune of the register except Haram (a kommune again from 2024, after the source's
    version); its header names the source."""
    from stdnum.no import orgnr

    from grants.accounts.register import DATA, read_organisation_numbers

    _counties, municipalities = read_register()
    numbers = read_organisation_numbers()
    assert set(numbers) == {m["number"] for m in municipalities} - {"1580"}
    assert all(orgnr.is_valid(n) and len(n) == 9 for n in numbers.values())
    assert len(set(numbers.values())) == len(numbers)
    assert numbers["0301"] == "958935420"  # Oslo kommune
    header = (DATA / "organisation_numbers.csv").read_text(encoding="utf-8").split("\nnumber,")[0]
    assert "ssb.no/klass/klassifikasjoner/582/korrespondanser/1236" in header


def test_a_wrong_digit_in_the_organisation_numbers_is_refused(tmp_path, monkeypatch):
    import grants.accounts.register as register

    (tmp_path / "organisation_numbers.csv").write_text("# a header\nnumber,organisation_number,former_number\n"
                                                       "0301,958935421,\n", encoding="utf-8")
    monkeypatch.setattr(register, "DATA", tmp_path)
    with pytest.raises(ValueError, match="0301"):
        register.read_organisation_numbers()
