"""Where a round (utlysning) stands on a given day: coming, open or closed, and the day that goes with it. Pure:
the clock is a parameter, so the rule can be tested at any moment."""

import enum
from dataclasses import dataclass
from datetime import date, datetime

from grants.core.text import N_
from grants.core.timeutil import oslo_date, within_deadline


class Phase(enum.StrEnum):
    coming = "coming"    # kommende: not yet open
    open = "open"        # åpen: takes applications
    closed = "closed"    # stengt: its deadline day is over


# How each phase is worded with its day ("Åpnet 24. januar 2025", "Åpner ...", "Stengt ..."): English msgids,
# translated where shown; %(date)s is the day written out in the page's language.
PHASE_WORDING = {Phase.coming: N_("Opens %(date)s"), Phase.open: N_("Opened %(date)s"),
                 Phase.closed: N_("Closed %(date)s")}


@dataclass(frozen=True)
class RoundPhase:
    """A round's ``phase`` at a moment and its ``day`` (an Oslo date): the opening day of a coming or open round,
    the deadline day of a closed one. ``deadline`` is the deadline day (the whole day in Oslo)."""

    phase: Phase
    day: date
    deadline: date


def phase_at(opens_at: datetime, deadline_date: date, at: datetime) -> RoundPhase:
    """The phase at ``at`` (an aware datetime) of a round opening at ``opens_at`` (aware, UTC) whose deadline is
    the whole Oslo day ``deadline_date``. The rule: before its opening it is coming; from its opening to the end of
    its deadline day in Oslo it is open; after that it is closed (dated by its deadline day)."""
    if at < opens_at:
        return RoundPhase(Phase.coming, oslo_date(opens_at), deadline_date)
    if within_deadline(at, deadline_date):
        return RoundPhase(Phase.open, oslo_date(opens_at), deadline_date)
    return RoundPhase(Phase.closed, deadline_date, deadline_date)


def phase_of(round_, at: datetime) -> RoundPhase:
    """``phase_at`` for a Round (its ``opens_at`` and ``deadline_date``)."""
    return phase_at(round_.opens_at, round_.deadline_date, at)
