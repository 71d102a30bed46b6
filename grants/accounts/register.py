"""Loading the municipality register from grants/data/ (idempotent)."""

import csv
from pathlib import Path

from sqlalchemy import select
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
