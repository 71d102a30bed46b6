"""Partner kommuner named in free text: numbers, names in any case, Sami names, ambiguity and unknown names,
on SQLite (whose lower() folds A-Z only) and on PostgreSQL."""

from grants.applications.queries import resolve_municipalities


def _numbers(found):
    return [m.number for m in found]


def test_numbers_and_names_in_any_case(app):
    found, unknown = resolve_municipalities("4601, trondheim; ÅLESUND\nøvre eiker, 301, Oslo, herøy (nordland)")
    assert _numbers(found) == ["4601", "5001", "1508", "3314", "0301", "1818"]  # Oslo named twice is listed once
    assert unknown == []


def test_sami_names_and_unknown_names(app):
    found, unknown = resolve_municipalities("Guovdageaidnu, Atlantis, 9999")
    assert _numbers(found) == ["5612"]
    assert unknown == ["Atlantis", "9999"]


def test_nothing_named():
    assert resolve_municipalities("") == ([], [])
    assert resolve_municipalities(" , ;") == ([], [])
