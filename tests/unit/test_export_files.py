"""The export files of a published summary, read back: CSV, XLSX, JSON and 360Giving, and the neutraliser that
keeps a spreadsheet from running what a kommune typed."""

import csv
import io
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from grants.outcomes import exports
from grants.outcomes.exports import FIELDS, neutralise


def _grant(**values):
    grant = {
        "reference": "2025-0001", "municipality_number": "0301", "municipality": "Oslo",
        "organisation_number": "958935420", "county_number": "03",
        "county": "Oslo", "partners": ["Bærum", "Asker"], "title": "Møteplasser", "summary": "Samtaler i bydelene",
        "amount": 250_000, "continuation": False, "decided_at": "2025-03-01T23:30:00+00:00",
    }
    grant.update(values)
    return grant


DATA = {
    "round": {"id": 7, "year": 2025, "title_nb": "Mangfold 2025", "title_en": "Diversity 2025",
              "deadline_date": "2025-02-19", "scheme": "mot-rasisme"},
    "grants": [
        _grant(),
        # as a summary published before organisation numbers were kept has it: no number
        _grant(reference="2025-0002", municipality_number="4601", municipality="Bergen", county_number="46",
               organisation_number=None,
               county="Vestland", partners=[], title="=HYPERLINK(\"http://x\")", summary="", amount=1_000_000,
               continuation=True, decided_at=None),
    ],
}
# What followed the first grant (grants.followup.figures.GrantFigures); the second has none yet.
FOLLOW_UP = {"2025-0001": SimpleNamespace(paid=250_000, repaid=40_000, report="approved")}
SUMMARY = SimpleNamespace(version=2, published_at=datetime(2025, 4, 30, 22, 15, tzinfo=UTC), note="Retting",
                          data=DATA)


@pytest.mark.parametrize("text", ["=1+1", "+47", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_a_spreadsheet_would_run_gets_a_quote_in_front(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["Oslo", "", "a=b", "1-2", 42, None, -5])
def test_everything_else_is_left_as_it_is(value):
    assert neutralise(value) == value


def test_csv_has_a_bom_a_header_and_one_row_per_grant_with_formulas_neutralised():
    text = exports.to_csv(DATA, FOLLOW_UP)
    assert text.startswith("\ufeff")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows == [
        list(FIELDS),
        ["2025-0001", "0301", "Oslo", "Oslo", "Bærum, Asker", "Møteplasser", "Samtaler i bydelene", "250000",
         "False", "250000", "40000", "approved", "958935420"],
        ["2025-0002", "4601", "Bergen", "Vestland", "", "'=HYPERLINK(\"http://x\")", "", "1000000", "True", "0", "0",
         "", ""],
    ]


def test_a_partner_list_is_one_cell_and_is_neutralised_too():
    rows = list(csv.reader(io.StringIO(exports.to_csv({"grants": [_grant(partners=["=evil", "Asker"])]})[1:]),
                           delimiter=";"))
    assert rows[1][4] == "'=evil, Asker"


def test_xlsx_has_the_same_cells_with_amounts_as_numbers_and_texts_exactly_as_typed():
    long_title = "Tildelinger – Mangfold og mot rasisme 2025"
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(DATA, sheet_title=long_title, follow_up=FOLLOW_UP))).active
    assert sheet.title == "Tildelinger – Mangfold og mot…"  # at most 31 characters, Excel's limit
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    # Outside a request the titles are the catalogue's own (English) words; tests/web/test_outcomes.py reads them
    # in bokmål, nynorsk and English.
    assert values[0] == ["Reference", "Municipality number", "Municipality", "County", "Partners", "Project title",
                         "Summary", "Amount granted", "Continuation", "Paid", "Repaid", "Report status",
                         "Organisation number"]
    assert values[1] == ["2025-0001", "0301", "Oslo", "Oslo", "Bærum, Asker", "Møteplasser", "Samtaler i bydelene",
                         250_000, False, 250_000, 40_000, "approved", "958935420"]
    assert values[2][5] == "=HYPERLINK(\"http://x\")" and values[2][7] == 1_000_000 and values[2][8] is True
    assert sheet.cell(row=3, column=6).data_type == "s"  # a string cell, never a formula
    assert [sheet.cell(row=r, column=8).number_format for r in (2, 3)] == ["# ##0", "# ##0"]
    assert sheet.cell(row=1, column=8).number_format == "General"


def test_xlsx_ends_with_a_total_row_of_the_amounts():
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(DATA, follow_up=FOLLOW_UP))).active
    assert sheet.max_row == 4
    total = [c.value for c in sheet[4]]
    assert total == ["Total", None, None, None, None, None, None, 1_250_000, None, 250_000, 40_000, None, None]
    assert all(sheet.cell(row=4, column=c).number_format == "# ##0" for c in (8, 10, 11))
    assert sheet.cell(row=4, column=1).font.b and sheet.cell(row=1, column=1).font.b


def test_xlsx_freezes_the_header_row_and_sizes_its_columns():
    many = {"grants": [_grant(summary="x" * 500), _grant(reference="2025-0002", municipality="Ås")]}
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(many))).active
    assert sheet.freeze_panes == "A2"
    width = {sheet.cell(row=1, column=c + 1).value: sheet.column_dimensions[chr(ord("A") + c)].width
             for c in range(len(FIELDS))}
    assert width["Summary"] == 60  # a long text wraps within the widest column allowed, not wider
    assert width["Municipality number"] == len("Municipality number") + 2  # the header decides when it is longest
    assert 8 <= width["Amount granted"] < 20


def test_xlsx_default_sheet_title():
    assert load_workbook(io.BytesIO(exports.to_xlsx(DATA))).active.title == "Grants"


def test_json_carries_version_time_note_and_the_data():
    # Moments in Europe/Oslo with their offset: 23:30 UTC on 1 March is 00:30 on 2 March in Oslo.
    with_follow_up = [{**DATA["grants"][0], "decided_at": "2025-03-02T00:30:00+01:00", "amount_paid": 250_000,
                       "amount_repaid": 40_000, "report_status": "approved"},
                      {**DATA["grants"][1], "amount_paid": 0, "amount_repaid": 0, "report_status": None}]
    assert json.loads(exports.to_json(SUMMARY, FOLLOW_UP)) == {
        "version": 2, "published_at": "2025-05-01T00:15:00+02:00", "note": "Retting", **DATA,
        "grants": with_follow_up}
    assert "Bærum" in exports.to_json(SUMMARY)  # not escaped to \u00e6
    assert exports.to_json(SUMMARY).startswith('{\n  "version": 2')


def test_360giving_package_in_full():
    package = json.loads(exports.to_360giving(SUMMARY, "https://tilskudd.example", FOLLOW_UP))
    first = {
        "id": "360G-imdi-2025-0001",
        "title": "Møteplasser",
        "description": "Samtaler i bydelene",
        "currency": "NOK",
        "amountAwarded": 250_000,
        "amountDisbursed": 250_000,
        "awardDate": "2025-03-02",
        # by its organisation number in the Enhetsregisteret; the next grant has none (an older summary)
        "recipientOrganization": [{"id": "NO-BRC-958935420", "name": "Oslo"}],
        "fundingOrganization": [{"id": "360G-imdi", "name": "Integrerings- og mangfoldsdirektoratet"}],
        "grantProgramme": [{"code": "mot-rasisme-2025", "title": "Mangfold 2025",
                            "url": "https://tilskudd.example/utlysninger/7"}],
        "fromOpenCall": "Yes",
        "beneficiaryLocation": [{"name": "Oslo", "countryCode": "NO", "geoCode": "03", "geoCodeType": "NO-FYLKE"}],
        "dateModified": "2025-04-30T22:15:00+00:00",
        "dataSource": "https://tilskudd.example/tildelinger/7/v/2",
    }
    assert package == {
        "grants": [first, {
            **first, "id": "360G-imdi-2025-0002", "title": "=HYPERLINK(\"http://x\")",
            "description": "=HYPERLINK(\"http://x\")", "amountAwarded": 1_000_000, "amountDisbursed": 0,
            "awardDate": "2025-02-19",
            "recipientOrganization": [{"id": "360G-imdi-kommune-4601", "name": "Bergen"}],
            "beneficiaryLocation": [{"name": "Vestland", "countryCode": "NO", "geoCode": "46",
                                     "geoCodeType": "NO-FYLKE"}],
        }],
        "publisher": {"name": "Integrerings- og mangfoldsdirektoratet"},
        "issued": "2025-05-01",
        "title": "Mangfold 2025 (2025), versjon 2",
    }


def test_360giving_keeps_norwegian_letters_readable():
    text = exports.to_360giving(SUMMARY, "https://tilskudd.example")
    assert "Møteplasser" in text and text.startswith('{\n  "grants"')
