"""Publishing a round's allocation summary: a frozen, versioned copy of who got what."""

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from grants.accounts.models import Role
from grants.applications.models import Application
from grants.core import audit
from grants.core.text import shorten
from grants.core.timeutil import now_utc
from grants.errors import InvalidTransition, NotPermitted, ValidationFailed
from grants.extensions import db
from grants.outcomes import cache, tallies
from grants.outcomes.models import AllocationSummary


def can_publish(user):
    return user.is_authenticated and user.role == Role.admin


def _summary_text(application):
    return shorten(application.summary, 1000)


def build_data(round_):
    """The content of a summary from the round's released decisions and its tallies."""
    tally = tallies.for_round(round_.id)
    granted = db.session.scalars(
        select(Application).where(Application.round_id == round_.id, Application.state.in_(tallies.GRANTED))
        .options(selectinload(Application.partners)).order_by(Application.municipality_id, Application.reference)
    ).all()
    grants = [
        {
            "reference": a.reference,
            "municipality_number": a.municipality.number,
            "municipality": a.municipality.name,
            "organisation_number": a.municipality.organisation_number,
            "county_number": a.municipality.county_number,
            "county": a.municipality.county.name,
            "partners": [p.municipality.name for p in a.partners],
            "title": a.title,
            "summary": _summary_text(a),
            "amount": a.amount_granted,
            "continuation": a.continues_application_id is not None,
            "decided_at": a.decided_at.isoformat() if a.decided_at else None,
        }
        for a in granted
    ]
    grants.sort(key=lambda g: (g["municipality"], g["reference"]))
    return {
        "round": {
            "id": round_.id, "year": round_.year, "area_number": round_.area_number, "budget": round_.budget,
            "title_nb": round_.title_nb, "title_nn": round_.title_nn, "title_en": round_.title_en,
            "deadline_date": round_.deadline_date.isoformat(), "scheme": round_.scheme.slug,
        },
        "counts": {"received": tally.received, "granted": tally.granted, "rejected": tally.rejected,
                   "dismissed": tally.dismissed, "withdrawn": tally.withdrawn},
        "amount_applied": tally.amount_applied,
        "amount_granted": tally.amount_granted,
        "by_county": [c for c in tally.by_county if c["granted"]],
        "grants": grants,
    }


def latest(round_id):
    """The newest published version that is not unpublished, or None."""
    return db.session.scalar(
        select(AllocationSummary).where(AllocationSummary.round_id == round_id,
                                        AllocationSummary.unpublished_at.is_(None))
        .order_by(AllocationSummary.version.desc()).limit(1)
    )


def publish(round_, actor, note=None):
    """Publish the round's summary as a new version. A correction (version 2 and later) needs a note."""
    if not can_publish(actor):
        raise NotPermitted("not_permitted")
    if not round_.deadline_passed():
        raise InvalidTransition("deadline_not_passed", deadline=round_.deadline_at)
    tally = tallies.for_round(round_.id)
    if tally.open:
        raise InvalidTransition("decisions_not_released", open=tally.open)
    version = (db.session.scalar(select(func.max(AllocationSummary.version))
                                 .where(AllocationSummary.round_id == round_.id)) or 0) + 1
    note = (note or "").strip() or None
    if version > 1 and not note:
        raise ValidationFailed("note_required", field="note")
    summary = AllocationSummary(round_id=round_.id, version=version, data=build_data(round_), note=note,
                                published_by_id=actor.id, published_at=now_utc())
    db.session.add(summary)
    db.session.flush()
    audit.record(actor, summary, "publish", version=version, note=note)
    cache.invalidate_after_commit(db.session(), round_.id)
    return summary


def unpublish(summary, actor, reason):
    if not can_publish(actor):
        raise NotPermitted("not_permitted")
    if summary.unpublished_at is not None:
        raise InvalidTransition("already_unpublished")
    if not (reason or "").strip():
        raise ValidationFailed("unpublish_reason_required", field="reason")
    summary.unpublished_at = now_utc()
    summary.unpublished_by_id = actor.id
    summary.unpublish_reason = reason.strip()
    db.session.flush()
    audit.record(actor, summary, "unpublish", version=summary.version, reason=reason.strip())
    cache.invalidate_after_commit(db.session(), summary.round_id)
    return summary


def _newest_published():
    """The statement for the newest version of each round's summary that is not unpublished (one row per round
    that has one): the versions grouped in the database, so only those rows are read."""
    newest = (select(AllocationSummary.round_id, func.max(AllocationSummary.version).label("version"))
              .where(AllocationSummary.unpublished_at.is_(None)).group_by(AllocationSummary.round_id).subquery())
    return select(AllocationSummary).join(newest, (AllocationSummary.round_id == newest.c.round_id)
                                          & (AllocationSummary.version == newest.c.version))


def published_by_year():
    """Every round with a published summary, as [(year, [AllocationSummary, ...]), ...], newest year first and
    each year's rounds by their title: the latest version of each round that is not unpublished. One query."""
    years = {}
    for summary in db.session.scalars(_newest_published()):
        years.setdefault(summary.data["round"]["year"], []).append(summary)
    return [(year, sorted(years[year], key=lambda s: (s.data["round"]["title_nb"], s.round_id)))
            for year in sorted(years, reverse=True)]


def published_round_ids():
    """The ids (a set of int) of the rounds that have a published summary, for pages that only link to them (the
    front page): one query that reads no summary's data."""
    return set(db.session.scalars(select(AllocationSummary.round_id).where(
        AllocationSummary.unpublished_at.is_(None)).distinct()))
