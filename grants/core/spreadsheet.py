"""Tables written as files people open in a spreadsheet program (CSV for Excel, XLSX), safely: a cell can never
start a formula, and nothing XML cannot hold reaches an XLSX file."""

import csv
import io

from grants.core.text import shorten

# The characters that make a spreadsheet program read a cell as a formula or a command when they come first:
# OWASP's list for CSV injection (=, +, -, @, tab, carriage return) and ASVS 5.0 requirement 1.2.10 (NUL too).
DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise(value):
    """``value`` (any cell value) as a spreadsheet must get it: a str starting with one of DANGEROUS gets a single
    quote in front, so the program shows it as text; every other value is returned unchanged."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def storable(value):
    """A cell value openpyxl can write: the control characters XML 1.0 cannot hold (NUL and the like, which no
    form lets through) are left out, after ``neutralise`` has quoted a value that began with one."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def to_csv(header, rows):
    """``header`` (a list of column names) and ``rows`` (lists of cell values) as CSV text for Excel: semicolons,
    CRLF, a BOM so that Excel reads UTF-8, every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([neutralise(value) for value in row] for row in rows)
    return "\ufeff" + out.getvalue()


def to_xlsx(header, rows, sheet_title, kroner_columns=()):
    """The same table as XLSX bytes: one sheet named ``sheet_title`` (shortened to the 31 characters a sheet name
    may have), every cell neutralised and storable, the columns at the 0-based indexes ``kroner_columns`` shown as
    whole kroner with thousands grouped."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = shorten(sheet_title, 31)
    sheet.append(list(header))
    for row in rows:
        sheet.append([storable(neutralise(value)) for value in row])
    for index in kroner_columns:
        for cell in sheet[get_column_letter(index + 1)][1:]:
            cell.number_format = "# ##0"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
