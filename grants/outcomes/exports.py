"""A published summary as CSV, XLSX, JSON and 360Giving JSON. Spreadsheet cells cannot start a formula."""

import csv
import io
import json

FIELDS = ("reference", "municipality_number", "municipality", "county", "partners", "title", "summary", "amount",
          "continuation")
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Text a spreadsheet will show as text: a leading =, +, -, @, tab or CR gets a quote in front."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def _rows(data):
    for grant in data["grants"]:
        row = dict(grant)
        row["partners"] = ", ".join(grant["partners"])
        yield [neutralise(row[f]) if isinstance(row[f], str) else row[f] for f in FIELDS]


def to_csv(data):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(FIELDS)
    writer.writerows(_rows(data))
    return "\ufeff" + out.getvalue()  # the BOM makes Excel read UTF-8


def to_xlsx(data, sheet_title="Tildelinger"):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title[:31]
    sheet.append(list(FIELDS))
    for row in _rows(data):
        sheet.append(row)
    for cell in sheet["H"][1:]:
        cell.number_format = "# ##0"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def to_json(summary):
    return json.dumps(
        {"version": summary.version, "published_at": summary.published_at.isoformat(), "note": summary.note,
         **summary.data},
        ensure_ascii=False, indent=2,
    )


def to_360giving(summary, base_url):
    """The grants in the 360Giving Data Standard (JSON package of grants)."""
    data = summary.data
    round_ = data["round"]
    grants = []
    for g in data["grants"]:
        grants.append({
            "id": f"360G-imdi-{g['reference']}",
            "title": g["title"],
            "description": g["summary"] or g["title"],
            "currency": "NOK",
            "amountAwarded": g["amount"],
            "awardDate": (g.get("decided_at") or round_["deadline_date"])[:10],
            "recipientOrganization": [{
                # 360G- identifiers: the standard's form for organisations named by the publisher's own ids.
                "id": f"360G-imdi-kommune-{g['municipality_number']}",
                "name": g["municipality"],
            }],
            "fundingOrganization": [{"id": "360G-imdi", "name": "Integrerings- og mangfoldsdirektoratet"}],
            "grantProgramme": [{"title": round_["title_en"], "code": f"{round_['scheme']}-{round_['year']}"}],
            "beneficiaryLocation": [{"name": g["county"], "geographicCode": g["county_number"],
                                     "geographicCodeType": "NO-FYLKE"}],
            "dataSource": f"{base_url}/tildelinger/{round_['id']}/v/{summary.version}",
        })
    return json.dumps({"grants": grants}, ensure_ascii=False, indent=2)
