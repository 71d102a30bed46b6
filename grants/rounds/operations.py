"""Use cases for schemes and rounds."""

from sqlalchemy import select

from grants.core import audit
from grants.core.timeutil import deadline_utc
from grants.errors import ValidationFailed
from grants.extensions import db
from grants.rounds.models import Criterion, Round, Scheme

ROUND_FIELDS = (
    "slug", "year", "area_number", "title_nb", "title_nn", "title_en", "text_nb", "text_nn", "text_en",
    "budget", "opens_at", "deadline_date", "appeals_allowed", "min_participants", "own_contribution_required",
    "reporting_deadline", "reminder_days", "score_spread_threshold",
)

# The assessment criteria of the 2025 call (seed 004 and DOMAIN.md): code, weight, nb, nn, en.
DEFAULT_CRITERIA = (
    ("purpose", 3, "Formål og målgruppe", "Føremål og målgruppe", "Purpose and target group"),
    ("plan_anchoring", 2, "Forankring i handlingsplan mot rasisme og diskriminering",
     "Forankring i handlingsplan mot rasisme og diskriminering",
     "Anchoring in an action plan against racism and discrimination"),
    ("leadership_anchoring", 2, "Politisk og administrativ forankring", "Politisk og administrativ forankring",
     "Political and administrative anchoring"),
    ("knowledge", 2, "Kunnskapsgrunnlag og kartlegging", "Kunnskapsgrunnlag og kartlegging",
     "Knowledge base and mapping"),
    ("involvement", 2, "Involvering av berørte grupper", "Involvering av berørte grupper",
     "Involvement of affected groups"),
    ("capacity", 3, "Gjennomføringsevne (plan, budsjett, egenandel)", "Gjennomføringsevne (plan, budsjett, eigendel)",
     "Capacity to implement (plan, budget, own contribution)"),
    ("transfer_value", 3, "Nasjonal overføringsverdi", "Nasjonal overføringsverdi", "National transfer value"),
    ("measurement", 1, "Måling og evaluering", "Måling og evaluering", "Measurement and evaluation"),
)


def get_or_create_scheme(slug, **values):
    scheme = db.session.scalar(select(Scheme).where(Scheme.slug == slug))
    if scheme is None:
        scheme = Scheme(slug=slug, **values)
        db.session.add(scheme)
        db.session.flush()
    return scheme


def _apply(round_, values):
    for name in ROUND_FIELDS:
        if name in values:
            setattr(round_, name, values[name])
    if round_.deadline_date is not None:
        round_.deadline_at = deadline_utc(round_.deadline_date)
    if round_.opens_at and round_.deadline_at and round_.deadline_at <= round_.opens_at:
        raise ValidationFailed("deadline_before_opening", field="deadline_date")
    if round_.budget is not None and round_.budget <= 0:
        raise ValidationFailed("budget_not_positive", field="budget")


def create_round(scheme, actor, *, criteria=DEFAULT_CRITERIA, **values):
    """A new round of a scheme. ``deadline_date`` is an Oslo date; the deadline is 23:59:59 that day."""
    round_ = Round(scheme=scheme)
    _apply(round_, values)
    db.session.add(round_)
    set_criteria(round_, [
        {"code": c[0], "weight": c[1], "title_nb": c[2], "title_nn": c[3], "title_en": c[4]}
        if isinstance(c, tuple) else c
        for c in criteria
    ])
    db.session.flush()
    audit.record(actor, round_, "create_round")
    return round_


def update_round(round_, actor, **values):
    _apply(round_, values)
    db.session.flush()
    audit.record(actor, round_, "update_round")
    return round_


def set_criteria(round_, items):
    """Replace the round's criteria with ``items`` (dicts of Criterion fields), keeping their order."""
    existing = {c.code: c for c in round_.criteria}
    keep = []
    for position, item in enumerate(items):
        criterion = existing.get(item["code"]) or Criterion(code=item["code"])
        for key, value in item.items():
            setattr(criterion, key, value)
        criterion.position = position
        criterion.scale_min = item.get("scale_min", criterion.scale_min or 1)
        criterion.scale_max = item.get("scale_max", criterion.scale_max or 6)
        keep.append(criterion)
    round_.criteria = keep
    return round_
