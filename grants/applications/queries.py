"""Read side of applications."""

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from grants.accounts.models import Municipality
from grants.applications.models import Application, ApplicationPartner
from grants.applications.workflow import State
from grants.extensions import db
from grants.rounds import operations as round_operations
from grants.rounds.models import Localised, Round

DASHBOARD_PAGE_SIZE = 25


@dataclass
class DashboardPage:
    applications: list  # of DashboardRow
    total: int
    page: int
    pages: int

    @property
    def first(self):
        return (self.page - 1) * DASHBOARD_PAGE_SIZE + 1

    @property
    def last(self):
        return self.first + len(self.applications) - 1


@dataclass(frozen=True)
class RoundTitle(Localised):
    id: int
    title_nb: str
    title_nn: str | None
    title_en: str | None
    deadline_at: datetime


@dataclass(frozen=True)
class DashboardRow:
    """What the dashboard shows of an application: plain values, read in one statement (ORM entities with their
    lead kommune and round cost twice as much to build as the rest of the page)."""

    id: int
    title: str | None
    reference: str | None
    state: str
    municipality_id: int
    lead_name: str
    updated_at: datetime
    round: RoundTitle


def for_municipality(municipality_id, page=1):
    """One page of the applications where the kommune leads or takes part, newest change first: two
    statements (the count, and the page with its lead kommune and round joined), whatever the numbers."""
    partner_of = select(ApplicationPartner.application_id).where(ApplicationPartner.municipality_id == municipality_id)
    mine = or_(Application.municipality_id == municipality_id, Application.id.in_(partner_of))
    total = db.session.scalar(select(func.count()).select_from(Application).where(mine))
    pages = max((total + DASHBOARD_PAGE_SIZE - 1) // DASHBOARD_PAGE_SIZE, 1)
    page = min(max(page, 1), pages)
    rows = db.session.execute(
        select(Application.id, Application.title, Application.reference, Application.state,
               Application.municipality_id, Municipality.name, Application.updated_at,
               Round.id, Round.title_nb, Round.title_nn, Round.title_en, Round.deadline_at)
        .join(Municipality, Municipality.id == Application.municipality_id)
        .join(Round, Round.id == Application.round_id)
        .where(mine)
        .order_by(Application.updated_at.desc(), Application.id.desc())
        .limit(DASHBOARD_PAGE_SIZE).offset((page - 1) * DASHBOARD_PAGE_SIZE)
    ).all() if total else []
    applications = [DashboardRow(*row[:7], round=RoundTitle(*row[7:])) for row in rows]
    return DashboardPage(applications, total, page, pages)


def application_for_view(application_id):
    """The application ``application_id`` (int) with its partners, or None. Every page of one asks who may see it,
    which reads the partners; its cost lines, activities and attachments are read when a page uses them, one
    statement each as loading them with it would take, and none on a page that does not (the overview reads
    the attachments only)."""
    return db.session.scalar(
        select(Application).where(Application.id == application_id).options(selectinload(Application.partners))
    )


def _ascii_lower(text):
    return text.translate(_ASCII_UPPER)


_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def resolve_municipalities(text):
    """Municipalities named in ``text`` (names or numbers, comma separated): (found, unknown). The found ones
    are rows of (id, number, name, sami_name), in the order named."""
    tokens = [t.strip() for t in re.split(r"[,;\n]", text or "") if t.strip()]
    if not tokens:
        return [], []
    # Only the rows the text can name: by number, or by a name compared in lower case. SQLite's lower() folds
    # A-Z only, so the candidates hold each token's spellings folded the same way; the match itself is made
    # here with casefold().
    numbers = {t.zfill(4) for t in tokens if t.isdigit()}
    spellings = {_ascii_lower(v) for t in tokens for v in (t, t.lower(), t.title(), t.upper())}
    everyone = db.session.execute(
        select(Municipality.id, Municipality.number, Municipality.name, Municipality.sami_name)
        .where(or_(Municipality.number.in_(numbers), func.lower(Municipality.name).in_(spellings),
                   func.lower(Municipality.sami_name).in_(spellings)))
    ).all()
    by_number = {m.number: m for m in everyone}
    by_name = {}
    for m in everyone:
        for key in {name.casefold() for name in (m.name, m.sami_name) if name}:
            by_name.setdefault(key, []).append(m)
    found, unknown = [], []
    for token in tokens:
        match = by_number.get(token.zfill(4)) if token.isdigit() else None
        if match is None:
            candidates = by_name.get(token.casefold(), [])
            match = candidates[0] if len(candidates) == 1 else None
        if match is None:
            unknown.append(token)
        elif match not in found:
            found.append(match)
    return found, unknown


def grants_to_continue(municipality_id, before_round):
    """Earlier granted applications of this kommune, which a new one can continue: rows of (id, title,
    reference, year), newest first (the form's choices need no more, and an application's answers are large)."""
    return db.session.execute(
        select(Application.id, Application.title, Application.reference, Round.year)
        .join(Round, Application.round_id == Round.id)
        .where(
            Application.municipality_id == municipality_id,
            Application.state.in_([State.granted, State.reported, State.closed]),
            Round.deadline_at < before_round.deadline_at,
        )
        .order_by(Round.deadline_at.desc(), Application.id)
    ).all()


def latest_received(round_id):
    """The latest time of receipt (UTC) of any application of the round, withdrawn ones included, or None."""
    return db.session.scalar(select(func.max(Application.received_at)).where(Application.round_id == round_id))


def applicant_municipalities(round_id):
    """A select of the ids of the kommuner with an application in the round, drafts included."""
    return select(Application.municipality_id).where(Application.round_id == round_id)


# The round's dates lock once it has received applications, and a deadline change tells their kommuner.
round_operations.learn_applications(latest_received=latest_received,
                                    applicant_municipalities=applicant_municipalities)
