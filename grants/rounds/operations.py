"""Use cases for schemes and rounds."""

from sqlalchemy import select

from grants.core import audit
from grants.core.timeutil import deadline_utc, now_utc
from grants.errors import ValidationFailed
from grants.extensions import db
from grants.rounds.models import Criterion, Round, Scheme

ROUND_FIELDS = (
    "slug", "year", "area_number", "title_nb", "title_nn", "title_en", "text_nb", "text_nn", "text_en",
    "budget", "opens_at", "deadline_date", "appeals_allowed", "min_participants", "own_contribution_required",
    "reporting_deadline", "reminder_days", "score_spread_threshold", "acceptance_days",
    "held_back_percent",
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


def free_reference_prefix(year, exclude_round_id=None):
    """The reference prefix for a new round of ``year`` (int): "2025" if no other round has it, else "2025-2",
    "2025-3" ... the first one free. References are unique across rounds, and say which round they belong to."""
    with db.session.no_autoflush:  # the round being made is not in the session yet
        taken = set(db.session.scalars(select(Round.reference_prefix).where(
            Round.year == year, Round.id != (exclude_round_id or 0))))
    candidate, n = str(year), 1
    while candidate in taken:
        n += 1
        candidate = f"{year}-{n}"
    return candidate


def _apply(round_, values):
    before = (round_.year, round_.deadline_date)
    for name in ROUND_FIELDS:
        if name in values:
            setattr(round_, name, values[name])
    if round_.deadline_date is not None:
        round_.deadline_at = deadline_utc(round_.deadline_date)
        # Checked when a round is made or its year or deadline changes (a round stored before the rule keeps
        # working for its other settings).
        changed = round_.id is None or before != (round_.year, round_.deadline_date)
        if changed and round_.year != round_.deadline_date.year:
            # The year names the round and begins its references: it is the year of its deadline.
            raise ValidationFailed("year_not_deadline_year", field="year")
    if not round_.last_reference and round_.year is not None:  # no reference handed out yet: free to follow
        round_.reference_prefix = free_reference_prefix(round_.year, exclude_round_id=round_.id)
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


LOCKED_ONCE_RECEIVED = ("year", "opens_at", "deadline_date")

# What a round must know of its applications is told by grants.applications, which sits above the rounds
# (.importlinter: the case's packages are layers without circles) and registers it when the app is built.
_applications = {}


def learn_applications(*, latest_received, applicant_municipalities):
    """Register how to read a round's applications: ``latest_received(round_id)`` gives the latest time of
    receipt (UTC datetime) of any application of the round, withdrawn ones included, or None;
    ``applicant_municipalities(round_id)`` gives a select of the municipality ids with an application in the round
    (drafts included). Called by grants.applications.queries when it is imported."""
    _applications.update(latest_received=latest_received, applicant_municipalities=applicant_municipalities)


def has_received_applications(round_):
    """Whether any application of the round has been received (submitted or registered, withdrawn included)."""
    return _applications["latest_received"](round_.id) is not None


def update_round(round_, actor, **values):
    """Change a round's settings (``values`` as ROUND_FIELDS). Once an application has been received, the year,
    the opening and the deadline stay as they are: ValidationFailed("dates_locked") names the field; the deadline
    moves only through change_deadline, with a reason."""
    for name in LOCKED_ONCE_RECEIVED:
        if name in values and values[name] != getattr(round_, name) and has_received_applications(round_):
            raise ValidationFailed("dates_locked", field=name)
    _apply(round_, values)
    db.session.flush()
    audit.record(actor, round_, "update_round")
    return round_


def change_deadline(round_, actor, new_date, reason):
    """Move the deadline of a round that has received applications to ``new_date`` (an Oslo date: the whole day),
    for ``reason`` (str, required). The new deadline can never leave a received application after it, and stays in
    the round's year. Recorded in the audit log, and every kommune user with an application in the round (drafts
    included) is told by e-mail in their language. Returns the number of notices queued. Raises ValidationFailed
    (reason_required, deadline_unchanged, deadline_before_received, year_not_deadline_year)."""
    from grants.core.timeutil import oslo_date
    from grants.notify.outbox import queue_notice

    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required", field="reason")
    if new_date == round_.deadline_date:
        raise ValidationFailed("deadline_unchanged", field="deadline_date")
    if new_date.year != round_.year:
        raise ValidationFailed("year_not_deadline_year", field="deadline_date")
    latest = _applications["latest_received"](round_.id)
    if latest is not None and new_date < oslo_date(latest):
        raise ValidationFailed("deadline_before_received", field="deadline_date", received=oslo_date(latest))
    old_date, old_at = round_.deadline_date, round_.deadline_at
    round_.deadline_date, round_.deadline_at = new_date, deadline_utc(new_date)
    if round_.deadline_at <= round_.opens_at:
        raise ValidationFailed("deadline_before_opening", field="deadline_date")
    db.session.flush()
    changed_at = now_utc().isoformat()
    audit.record(actor, round_, "change_deadline", old=old_date.isoformat(), new=new_date.isoformat(),
                 reason=reason)
    from grants.accounts.models import User, UserStatus

    municipalities = _applications["applicant_municipalities"](round_.id)
    people = db.session.scalars(select(User).where(User.municipality_id.in_(municipalities),
                                                   User.status == UserStatus.active).order_by(User.id)).all()
    queued = 0
    for person in people:
        if queue_notice("deadline_changed", to=person.email, user=person, language=person.language,
                        key=f"deadline_changed:{round_.id}:{changed_at}:{person.id}",  # one per change
                        context={"round_id": round_.id, "round_title_nb": round_.title_nb,
                                 "round_title_nn": round_.title_nn, "round_title_en": round_.title_en,
                                 "deadline_at": round_.deadline_at.isoformat(),
                                 "old_deadline_at": old_at.isoformat(), "reason": reason}):
            queued += 1
    return queued


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
