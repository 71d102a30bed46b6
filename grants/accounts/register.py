"""Loading the municipality register from grants/data/ (idempotent)."""

import csv
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import load_only

from grants.accounts.models import County, Municipality, WrittenStandard
from grants.extensions import db

DATA = Path(__file__).resolve().parent.parent / "data"


def read_register():
    with open(DATA / "counties.csv", encoding="utf-8", newline="") as f:
        counties = list(csv.DictReader(f))
    with open(DATA / "municipalities.csv", encoding="utf-8", newline="") as f:
        municipalities = list(csv.DictReader(f))
    return counties, municipalities


def import_municipalities():
    """Insert or update every county and kommune of the register. Returns (created, updated)."""
    counties, rows = read_register()
    existing_counties = {c.number: c for c in db.session.scalars(select(County))}
    for row in counties:
        county = existing_counties.get(row["number"])
        if county is None:
            db.session.add(County(number=row["number"], name=row["name"]))
        else:
            county.name = row["name"]
    db.session.flush()
    # Only the register's own columns: the importer also runs on a database migrated to an older revision (the
    # migration tests), which lacks columns added since (such as organisation_number).
    existing = {m.number: m for m in db.session.scalars(select(Municipality).options(load_only(
        Municipality.id, Municipality.number, Municipality.name, Municipality.sami_name, Municipality.county_number,
        Municipality.written_standard)))}
    created = updated = 0
    new_rows = []
    for row in rows:
        values = {
            "name": row["name"],
            "sami_name": row["sami_name"] or None,
            "county_number": row["county"],
            "written_standard": WrittenStandard(row["written_standard"] or "neutral"),
        }
        municipality = existing.get(row["number"])
        if municipality is None:
            new_rows.append({"number": row["number"], **values})
            created += 1
        elif any(getattr(municipality, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(municipality, key, value)
            updated += 1
    if new_rows:  # the register's columns only (see above)
        db.session.execute(Municipality.__table__.insert(), new_rows)
    db.session.flush()
    return created, updated


def read_organisation_numbers():
    """{kommunenummer: organisation number} from grants/data/organisation_numbers.csv (its header names the
    public source: SSB's correspondence table between the kommuner's organisation numbers and kommunenummer).
    Lines starting with "#" are the header's comments. Raises ValueError for a number that fails the MOD11 check
    (python-stdnum), so a wrong digit in the file can never reach a letter or the open data."""
    from stdnum.no import orgnr

    with open(DATA / "organisation_numbers.csv", encoding="utf-8", newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        numbers = {row["number"]: row["organisation_number"] for row in rows}
    wrong = sorted(k for k, v in numbers.items() if not orgnr.is_valid(v))
    if wrong:
        raise ValueError(f"organisation numbers that fail the MOD11 check, for kommuner {', '.join(wrong)}")
    return numbers


def import_organisation_numbers(*, reset=False):
    """Give each kommune of the register its organisation number from the data file. Takes ``reset``: False (the
    import) fills only kommuner that have none, so a number an administrator recorded (a kommune the file lacks)
    stays; True sets every kommune to the file's number, None where the file has none (the tests put the register
    back between tests). Skips a number another kommune holds already. Returns how many kommuner changed."""
    numbers = read_organisation_numbers()
    current = dict(db.session.execute(select(Municipality.number, Municipality.organisation_number)).all())
    wanted = {}
    for number, held in current.items():
        target = numbers.get(number)
        if held == target or (held is not None and not reset):
            continue
        wanted[number] = target
    if not wanted:
        return 0
    taken = {held for number, held in current.items() if held is not None and number not in wanted}
    wanted = {number: target for number, target in wanted.items() if target is None or target not in taken}
    table = Municipality.__table__
    # In two steps, so that numbers that move between kommuner never meet in the unique index; the second is one
    # executemany, not a statement per kommune.
    db.session.execute(table.update().where(table.c.number.in_(list(wanted))).values(organisation_number=None))
    given = [{"kommune": number, "given": target} for number, target in wanted.items() if target is not None]
    if given:
        db.session.execute(table.update().where(table.c.number == bindparam("kommune"))
                           .values(organisation_number=bindparam("given")), given)
    db.session.flush()
    return len(wanted)
