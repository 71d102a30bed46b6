"""Tables written as files people open in a spreadsheet program (CSV for Excel, XLSX), safely: no cell can run as
a formula, and nothing XML cannot hold reaches an XLSX file.

The two formats are kept safe in two ways. A CSV file has no types: the program guesses from the text, so a text
starting with one of DANGEROUS gets a single quote in front (``neutralise``). An XLSX cell carries its type: every
text is written as an explicit string cell (``t="inlineStr"``), which a spreadsheet program shows as text and never
evaluates, so the XLSX keeps the text exactly as typed, with no quote added."""

import csv
import io

from grants.core.text import shorten

# The characters that make a spreadsheet program read a cell as a formula or a command when they come first:
# OWASP's list for CSV injection (=, +, -, @, tab, carriage return) and ASVS 5.0 requirement 1.2.10 (NUL too).
DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\0")

# Column widths in characters (Excel's unit): no column narrower than its header needs or this, none wider than
# the other, so a long summary wraps instead of pushing every column off screen.
MIN_WIDTH = 8
MAX_WIDTH = 60
KRONER_FORMAT = "# ##0"


def neutralise(value):
    """``value`` (any cell value) as a CSV file must hold it: a str starting with one of DANGEROUS gets a single
    quote in front, so the program shows it as text; every other value is returned unchanged."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def storable(value):
    """A cell value openpyxl can write: the control characters XML 1.0 cannot hold (NUL and the like, which no
    form lets through) are left out; every other value is returned unchanged."""
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


def _put(sheet, row, column, value):
    """Write one cell: a str always as a string cell (openpyxl would make "=..." a formula), the rest as is."""
    cell = sheet.cell(row=row, column=column)
    cell.value = storable(value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _width(value, kroner):
    if value is None:
        return 0
    if kroner and isinstance(value, int):
        return len(f"{value:,}") + 1
    return max((len(line) for line in str(value).splitlines()), default=0)


def to_xlsx(header, rows, sheet_title, kroner_columns=(), total_label=None):
    """The same table as XLSX bytes.

    Takes ``header`` (the column titles, in the reader's language), ``rows`` (lists of cell values),
    ``sheet_title`` (shortened to the 31 characters a sheet name may have), ``kroner_columns`` (0-based indexes
    of whole-kroner columns) and ``total_label``: when given, a last row with that label in the first column and
    the sum of each kroner column. Gives one sheet with the header row frozen and bold, each column as wide as
    its content (within MIN_WIDTH..MAX_WIDTH), texts as string cells holding exactly what was typed (never a
    formula), numbers as numbers and the kroner columns as whole kroner with thousands grouped."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = shorten(sheet_title, 31)
    kroner = set(kroner_columns)
    widths = [len(str(title)) for title in header]
    bold = Font(bold=True)
    for column, title in enumerate(header, start=1):
        _put(sheet, 1, column, str(title)).font = bold
    totals = dict.fromkeys(kroner, 0)
    row_number = 1
    for row_number, row in enumerate(rows, start=2):
        for index, value in enumerate(row):
            cell = _put(sheet, row_number, index + 1, value)
            if index in kroner:
                cell.number_format = KRONER_FORMAT
                if isinstance(value, int) and not isinstance(value, bool):
                    totals[index] += value
            elif isinstance(value, str) and "\n" in value:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            widths[index] = max(widths[index], _width(value, index in kroner))
    if total_label is not None:
        total_row = row_number + 1
        _put(sheet, total_row, 1, str(total_label)).font = bold
        for index, amount in totals.items():
            cell = _put(sheet, total_row, index + 1, amount)
            cell.number_format = KRONER_FORMAT
            cell.font = bold
            widths[index] = max(widths[index], _width(amount, True))
    for index, width in enumerate(widths):
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
