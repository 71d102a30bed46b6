"""A published summary as CSV, XLSX, JSON and 360Giving JSON. Spreadsheet cells cannot start a formula."""

import json
from datetime import datetime

from grants.core import spreadsheet
from grants.core.spreadsheet import DANGEROUS, neutralise  # noqa: F401 - the rule the exports keep, named here too
from grants.core.timeutil import oslo_date

FIELDS = ("reference", "municipality_number", "municipality", "county", "partners", "title", "summary", "amount",
          "continuation", "amount_paid", "amount_repaid", "report_status")
# What followed the grant, as it stands when the file is made (grants.followup.figures): whole kroner paid and
# repaid, and where its report stands (ReportStatus: due, overdue, received, returned, approved...).
FOLLOW_UP_FIELDS = ("amount_paid", "amount_repaid", "report_status")


def follow_up_of(grant, follow_up):
    """{amount_paid, amount_repaid, report_status} of one published grant (a dict with its "reference") from
    ``follow_up`` ({reference: GrantFigures}); zeros and None when it has none."""
    figures = (follow_up or {}).get(grant["reference"])
    if figures is None:
        return {"amount_paid": 0, "amount_repaid": 0, "report_status": None}
    return {"amount_paid": figures.paid, "amount_repaid": figures.repaid, "report_status": str(figures.report)}


def _rows(data, follow_up):
    for grant in data["grants"]:
        row = dict(grant)
        row["partners"] = ", ".join(grant["partners"])
        row.update(follow_up_of(grant, follow_up))
        yield [row[f] for f in FIELDS]


def to_csv(data, follow_up=None):
    return spreadsheet.to_csv(FIELDS, _rows(data, follow_up))


def to_xlsx(data, sheet_title="Tildelinger", follow_up=None):
    return spreadsheet.to_xlsx(FIELDS, _rows(data, follow_up), sheet_title,
                               kroner_columns=tuple(FIELDS.index(f) for f in ("amount", "amount_paid",
                                                                              "amount_repaid")))


def to_json(summary, follow_up=None):
    data = dict(summary.data)
    data["grants"] = [{**grant, **follow_up_of(grant, follow_up)} for grant in data.get("grants", [])]
    return json.dumps(
        {"version": summary.version, "published_at": summary.published_at.isoformat(), "note": summary.note,
         **data},
        ensure_ascii=False, indent=2,
    )


def _oslo_day(iso_moment):
    """The Oslo calendar day of a stored UTC moment (a decision at 00:30 in Oslo is made that day, not the one
    before), as YYYY-MM-DD; None for None."""
    return oslo_date(datetime.fromisoformat(iso_moment)).isoformat() if iso_moment else None


FUNDER = {"id": "360G-imdi", "name": "Integrerings- og mangfoldsdirektoratet"}


def to_360giving(summary, base_url, follow_up=None):
    """The grants in the 360Giving Data Standard: a package with a "grants" array. Every grant has the fields the
    standard requires (id, title, description, currency, amountAwarded, awardDate, recipientOrganization and
    fundingOrganization, each organisation with an id and a name); tests/web/test_outcomes.py checks the file
    against those rules and the standard's field names. ``amountDisbursed`` is what has been paid out of the grant
    when the file is made (``follow_up``: {reference: GrantFigures}), repayments not subtracted."""
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
            "amountDisbursed": follow_up_of(g, follow_up)["amount_paid"],
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
