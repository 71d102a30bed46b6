"""A published summary as CSV, XLSX, JSON and 360Giving JSON. Spreadsheet cells cannot start a formula."""

import json
from datetime import datetime

from grants.core import spreadsheet
from grants.core.spreadsheet import DANGEROUS, neutralise  # noqa: F401 - the rule the exports keep, named here too
from grants.core.timeutil import oslo_date

FIELDS = ("reference", "municipality_number", "municipality", "county", "partners", "title", "summary", "amount",
          "continuation")
def _rows(data):
    for grant in data["grants"]:
        row = dict(grant)
        row["partners"] = ", ".join(grant["partners"])
        yield [row[f] for f in FIELDS]


def to_csv(data):
    return spreadsheet.to_csv(FIELDS, _rows(data))


def to_xlsx(data, sheet_title="Tildelinger"):
    return spreadsheet.to_xlsx(FIELDS, _rows(data), sheet_title, kroner_columns=(FIELDS.index("amount"),))


def to_json(summary):
    return json.dumps(
        {"version": summary.version, "published_at": summary.published_at.isoformat(), "note": summary.note,
         **summary.data},
        ensure_ascii=False, indent=2,
    )


def _oslo_day(iso_moment):
    """The Oslo calendar day of a stored UTC moment (a decision at 00:30 in Oslo is made that day, not the one
    before), as YYYY-MM-DD; None for None."""
    return oslo_date(datetime.fromisoformat(iso_moment)).isoformat() if iso_moment else None


FUNDER = {"id": "360G-imdi", "name": "Integrerings- og mangfoldsdirektoratet"}


def to_360giving(summary, base_url):
    """The grants in the 360Giving Data Standard: a package with a "grants" array. Every grant has the fields the
    standard requires (id, title, description, currency, amountAwarded, awardDate, recipientOrganization and
    fundingOrganization, each organisation with an id and a name); tests/web/test_outcomes.py checks the file
    against those rules and the standard's field names."""
    data = summary.data
    round_ = data["round"]
    modified = summary.published_at.isoformat()
    grants = []
    for g in data["grants"]:
        grants.append({
            "id": f"360G-imdi-{g['reference']}",
            "title": g["title"],
            "description": g["summary"] or g["title"],
            "currency": "NOK",
            "amountAwarded": g["amount"],
            "awardDate": _oslo_day(g.get("decided_at")) or round_["deadline_date"],
            "recipientOrganization": [{
                # 360G- identifiers: the standard's form for organisations named by the publisher's own ids.
                "id": f"360G-imdi-kommune-{g['municipality_number']}",
                "name": g["municipality"],
            }],
            "fundingOrganization": [dict(FUNDER)],
            "grantProgramme": [{"code": f"{round_['scheme']}-{round_['year']}", "title": round_["title_en"],
                                "url": f"{base_url}/utlysninger/{round_['id']}"}],
            "fromOpenCall": "Yes",
            # The county, by its two-digit number (there is no Norwegian code type in the standard's codelist).
            "beneficiaryLocation": [{"name": g["county"], "countryCode": "NO", "geoCode": g["county_number"],
                                     "geoCodeType": "NO-FYLKE"}],
            "dateModified": modified,
            "dataSource": f"{base_url}/tildelinger/{round_['id']}/v/{summary.version}",
        })
    package = {"grants": grants, "publisher": {"name": FUNDER["name"]}, "issued": _oslo_day(modified),
               "title": f"{round_['title_en']} ({round_['year']}), version {summary.version}"}
    return json.dumps(package, ensure_ascii=False, indent=2)
