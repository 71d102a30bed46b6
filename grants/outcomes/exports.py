"""A published summary as CSV, XLSX, JSON and 360Giving JSON, and the one definition of their keys (``KEYS``) that
the files, their column titles and the public data page are all made from.

Spreadsheet cells cannot start a formula: the CSV quotes a text that would (grants.core.spreadsheet.neutralise);
the XLSX stores every text as a string cell and keeps it exactly as typed."""

import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from grants.core import spreadsheet
from grants.core.spreadsheet import DANGEROUS, neutralise  # noqa: F401 - the rule the exports keep, named here too
from grants.core.timeutil import oslo_date, to_oslo
from grants.followup.figures import ReportStatus

# The kinds of value a key holds. The data page names each one's type and unit from these.
TEXT, INTEGER, KRONER, BOOLEAN, DATE, MOMENT, TEXT_LIST, OBJECT, OBJECT_LIST = (
    "text", "integer", "kroner", "boolean", "date", "moment", "text_list", "object", "object_list")


@dataclass(frozen=True)
class Key:
    """One key of the published data: ``name`` as in the JSON (nested keys joined by ".", list items by "[]";
    a CSV column's name is its last part), what it ``means``, its ``kind`` (one of the kinds above), ``column``:
    its title as a CSV/XLSX column (None when it is in the JSON only), and ``values``: the values it may take with
    what each means, where they are few."""

    name: str
    means: str
    kind: str
    column: str | None = None
    values: tuple = ()

    @property
    def field(self):
        """The name of the key inside its object (the CSV column's name)."""
        return self.name.rpartition(".")[2]


def kind_names():
    """{kind: its type as the data page names it}: the JSON type, and what a CSV cell holds where it differs."""
    return {TEXT: _l("text"), INTEGER: _l("integer"), KRONER: _l("integer"),
            BOOLEAN: _l("true or false (CSV: True or False)"), DATE: _l("text: a date"),
            MOMENT: _l("text: a date and time"), TEXT_LIST: _l("list of texts"), OBJECT: _l("object"),
            OBJECT_LIST: _l("list of objects")}


def kind_units():
    """{kind: its unit or form} for the kinds that have one."""
    return {KRONER: _l("whole Norwegian kroner (NOK), no decimals"),
            DATE: _l("YYYY-MM-DD, the day in Norway (Europe/Oslo)"),
            MOMENT: _l("ISO 8601 in Norwegian time (Europe/Oslo) with its offset, e.g. 2025-03-02T00:30:00+01:00")}


def _report_values():
    meaning = {
        ReportStatus.awaiting_answer: _l("Grant not yet accepted"), ReportStatus.declined: _l("Grant declined"),
        ReportStatus.due: _l("Deadline not passed"), ReportStatus.overdue: _l("Late"),
        ReportStatus.received: _l("Received, waiting for assessment"),
        ReportStatus.returned: _l("Returned for changes"), ReportStatus.approved: _l("Approved"),
    }
    return (*((str(status), meaning[status]) for status in ReportStatus),
            ("", _l("Empty: the grant has no grant letter yet")))


G = "grants[]."
KEYS = (
    Key("version", _l("The version of the summary: 1, and one more for each correction."), INTEGER),
    Key("published_at", _l("When this version was published."), MOMENT),
    Key("note", _l("What a correction changed; empty for the first version."), TEXT),
    Key("round", _l("The round (call) the summary is for."), OBJECT),
    Key("round.id", _l("The round's number in this service, which ends the address of its public page "
                        "(/utlysninger/12 for round 12)."), INTEGER),
    Key("round.year", _l("The year of the round."), INTEGER),
    Key("round.area_number", _l("The number of the priority area in that year's call."), INTEGER),
    Key("round.budget", _l("The round's budget."), KRONER),
    Key("round.title_nb", _l("The round's title in Bokmål."), TEXT),
    Key("round.title_nn", _l("The round's title in Nynorsk."), TEXT),
    Key("round.title_en", _l("The round's title in English."), TEXT),
    Key("round.deadline_date", _l("The application deadline (the whole day counts)."), DATE),
    Key("round.scheme", _l("The grant scheme's short name (its address under /ordningen/)."), TEXT),
    Key("counts", _l("How many applications ended how."), OBJECT),
    Key("counts.received", _l("Applications received: granted, rejected, dismissed and still open."), INTEGER),
    Key("counts.granted", _l("Applications granted."), INTEGER),
    Key("counts.rejected", _l("Applications rejected."), INTEGER),
    Key("counts.dismissed", _l("Applications dismissed (not assessed: late, or outside the scheme)."), INTEGER),
    Key("counts.withdrawn", _l("Applications the municipality withdrew (not counted as received)."), INTEGER),
    Key("amount_applied", _l("The amounts applied for in all received applications."), KRONER),
    Key("amount_granted", _l("The amounts granted in all."), KRONER),
    Key("by_county", _l("One entry per county with received applications."), OBJECT_LIST),
    Key("by_county[].county", _l("The county number (two digits)."), TEXT),
    Key("by_county[].name", _l("The county's name."), TEXT),
    Key("by_county[].received", _l("Applications received from the county."), INTEGER),
    Key("by_county[].granted", _l("Applications granted in the county."), INTEGER),
    Key("by_county[].amount", _l("The amounts granted in the county."), KRONER),
    Key("grants", _l("One entry per grant; the CSV and XLSX files have one row per grant with these columns."),
        OBJECT_LIST),
    Key(G + "reference", _l("The application's reference (year and number)."), TEXT, _l("Reference")),
    Key(G + "municipality_number", _l("The municipality number of the lead municipality (four digits)."), TEXT,
        _l("Municipality number")),
    Key(G + "municipality", _l("The lead municipality, which applied and is responsible for the project."), TEXT,
        _l("Municipality")),
    Key(G + "county_number", _l("The county number of the lead municipality (two digits)."), TEXT),
    Key(G + "county", _l("The county of the lead municipality."), TEXT, _l("County")),
    Key(G + "partners", _l("The other municipalities in a joint application; in CSV and XLSX one cell with the "
                           "names separated by a comma."), TEXT_LIST, _l("Partners")),
    Key(G + "title", _l("The project's title, as the municipality wrote it."), TEXT, _l("Project title")),
    Key(G + "summary", _l("The project's summary, as the municipality wrote it (at most 1000 characters)."), TEXT,
        _l("Summary")),
    Key(G + "amount", _l("The amount granted."), KRONER, _l("Amount granted")),
    Key(G + "continuation", _l("Whether the project continues one granted in an earlier round."), BOOLEAN,
        _l("Continuation"), (("True", _l("Yes (true in JSON)")), ("False", _l("No (false in JSON)")))),
    Key(G + "decided_at", _l("When the decision was made; empty for decisions made before the service."), MOMENT),
    Key(G + "amount_paid", _l("What has been paid out of the grant when the file is made."), KRONER,
        _l("Paid")),
    Key(G + "amount_repaid", _l("What the municipality has paid back when the file is made."), KRONER,
        _l("Repaid")),
    Key(G + "report_status", _l("Where the grant's report stands when the file is made."), TEXT,
        _l("Report status"), _report_values()),
    # Last, so that the columns that were there before keep their places for those who read the files.
    Key(G + "organisation_number", _l("The lead municipality's organisation number in the Central Coordinating "
                                      "Register for Legal Entities (nine digits); empty in summaries published "
                                      "before the service kept it."), TEXT, _l("Organisation number")),
)

COLUMNS = tuple(key for key in KEYS if key.column is not None)
# The CSV's header and the order of its columns; the XLSX has the same columns under titles in the reader's
# language.
FIELDS = tuple(key.field for key in COLUMNS)
KRONER_COLUMNS = tuple(i for i, key in enumerate(COLUMNS) if key.kind == KRONER)
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
        row = {"organisation_number": None, **grant}  # summaries published before the number was kept have none
        row["partners"] = ", ".join(grant["partners"])
        row.update(follow_up_of(grant, follow_up))
        yield [row[f] for f in FIELDS]


def to_csv(data, follow_up=None):
    """The grants of a summary's ``data`` as CSV text (grants.core.spreadsheet.to_csv), one row per grant, the
    columns FIELDS, with what followed each grant from ``follow_up`` ({reference: GrantFigures})."""
    return spreadsheet.to_csv(FIELDS, _rows(data, follow_up))


def to_xlsx(data, sheet_title=None, follow_up=None):
    """The same rows as XLSX bytes, column titles, sheet title (default: "Grants") and total row in the language
    of the moment (wrap the call in grants.i18n.language to choose it); amounts as whole kroner, texts exact."""
    return spreadsheet.to_xlsx([str(key.column) for key in COLUMNS], _rows(data, follow_up),
                               str(sheet_title or _l("Grants")), kroner_columns=KRONER_COLUMNS,
                               total_label=_l("Total"))


def _oslo_moment(iso_moment):
    """A stored UTC moment (ISO 8601) as ISO 8601 in Europe/Oslo with its offset; None for None."""
    return to_oslo(datetime.fromisoformat(iso_moment)).isoformat() if iso_moment else None


def to_json(summary, follow_up=None):
    """The whole summary as JSON text: every key in KEYS, moments in Europe/Oslo with their offset."""
    data = dict(summary.data)
    data["grants"] = [{**grant, "decided_at": _oslo_moment(grant.get("decided_at")),
                       **follow_up_of(grant, follow_up)} for grant in data.get("grants", [])]
    return json.dumps(
        {"version": summary.version, "published_at": to_oslo(summary.published_at).isoformat(),
         "note": summary.note, **data},
        ensure_ascii=False, indent=2,
    )


def _oslo_day(iso_moment):
    """The Oslo calendar day of a stored UTC moment (a decision at 00:30 in Oslo is made that day, not the one
    before), as YYYY-MM-DD; None for None."""
    return oslo_date(datetime.fromisoformat(iso_moment)).isoformat() if iso_moment else None


FUNDER = {"id": "360G-imdi", "name": "Integrerings- og mangfoldsdirektoratet"}


def _recipient(grant):
    """The recipient organisation of a grant (a summary's grant dict) in 360Giving form: {"id", "name"}. The id is
    NO-BRC-<organisation number> (org-id.guide's prefix for Brønnøysundregistrene's Enhetsregisteret) or, in a
    summary published before the service kept organisation numbers, a 360G- identifier of IMDi's own made from
    the kommunenummer (the standard's form for ids a publisher makes itself)."""
    number = grant.get("organisation_number")
    if number:
        return {"id": f"NO-BRC-{number}", "name": grant["municipality"]}
    return {"id": f"360G-imdi-kommune-{grant['municipality_number']}", "name": grant["municipality"]}


def to_360giving(summary, base_url, follow_up=None):
    """The grants in the 360Giving Data Standard: a package with a "grants" array. Every grant has the fields the
    standard requires (id, title, description, currency, amountAwarded, awardDate, recipientOrganization and
    fundingOrganization, each organisation with an id and a name); tests/unit/test_360giving_schema.py checks the
    file against the standard's own JSON schema. ``amountDisbursed`` is what has been paid out of the grant
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
            "recipientOrganization": [_recipient(g)],
            "fundingOrganization": [dict(FUNDER)],
            "grantProgramme": [{"code": f"{round_['scheme']}-{round_['year']}", "title": round_["title_nb"],
                                "url": f"{base_url}/utlysninger/{round_['id']}"}],
            "fromOpenCall": "Yes",
            # The county, by its two-digit number (there is no Norwegian code type in the standard's codelist).
            "beneficiaryLocation": [{"name": g["county"], "countryCode": "NO", "geoCode": g["county_number"],
                                     "geoCodeType": "NO-FYLKE"}],
            "dateModified": modified,
            "dataSource": f"{base_url}/tildelinger/{round_['id']}/v/{summary.version}",
        })
    package = {"grants": grants, "publisher": {"name": FUNDER["name"]}, "issued": _oslo_day(modified),
               "title": f"{round_['title_nb']} ({round_['year']}), versjon {summary.version}"}
    return json.dumps(package, ensure_ascii=False, indent=2)
