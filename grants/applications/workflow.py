"""The life of an application, as data: states, actions, who may take them, and where they lead.

Everything else asks this table; nothing else decides whether a transition is allowed.
"""

import enum
from dataclasses import dataclass


def N_(message):  # noqa: N802 - Babel's marker: extracted for the catalogue, translated where it is shown
    return message


class State(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    in_review = "in_review"
    granted = "granted"
    rejected = "rejected"      # avslått
    dismissed = "dismissed"    # avvist
    withdrawn = "withdrawn"    # trukket
    reported = "reported"
    closed = "closed"

    @property
    def title(self):
        """The state's name for people (an English msgid: translate it with gettext where it is shown)."""
        return TITLES[self]

    @property
    def is_decided(self):
        """A decision on it has been released: granted, rejected or dismissed, and what follows a grant."""
        return self in DECIDED_STATES

    @property
    def is_open(self):
        """Received and not yet decided: IMDi is considering it."""
        return self in OPEN_STATES

    @property
    def is_received(self):
        """Counted as received in the round's figures (submitted or registered, and not withdrawn)."""
        return self in RECEIVED_STATES


class Action(enum.StrEnum):
    submit = "submit"
    withdraw = "withdraw"
    register_received = "register_received"
    accept_for_review = "accept_for_review"
    dismiss = "dismiss"
    grant = "grant"
    reject = "reject"
    reverse = "reverse"
    report = "report"
    approve_report = "approve_report"


MUNICIPAL = "municipal"
CASEWORKER = "caseworker"
APPROVER = "approver"


@dataclass(frozen=True)
class Transition:
    action: Action
    source: State
    target: State
    actors: frozenset


def _t(action, source, target, *actors):
    return Transition(action, source, target, frozenset(actors))


TRANSITIONS = (
    _t(Action.submit, State.draft, State.submitted, MUNICIPAL),
    _t(Action.register_received, State.draft, State.submitted, CASEWORKER),
    _t(Action.withdraw, State.submitted, State.withdrawn, MUNICIPAL),
    _t(Action.withdraw, State.in_review, State.withdrawn, MUNICIPAL),
    # Decisions take effect when an approver releases them (four eyes): grant, reject and dismiss alike.
    _t(Action.dismiss, State.submitted, State.dismissed, APPROVER),
    _t(Action.dismiss, State.in_review, State.dismissed, APPROVER),
    _t(Action.accept_for_review, State.submitted, State.in_review, CASEWORKER),
    _t(Action.grant, State.in_review, State.granted, APPROVER),
    _t(Action.reject, State.in_review, State.rejected, APPROVER),
    # A decision reversed on appeal is a new decision.
    _t(Action.grant, State.rejected, State.granted, APPROVER),
    _t(Action.grant, State.dismissed, State.granted, APPROVER),
    _t(Action.reject, State.dismissed, State.rejected, APPROVER),
    _t(Action.report, State.granted, State.reported, MUNICIPAL),
    _t(Action.approve_report, State.reported, State.closed, CASEWORKER),
)

_BY_KEY = {(t.action, t.source): t for t in TRANSITIONS}

# States in which an application counts as received (submitted in time or registered).
RECEIVED_STATES = frozenset(
    {State.submitted, State.in_review, State.granted, State.rejected, State.dismissed, State.reported, State.closed}
)
DECIDED_STATES = frozenset({State.granted, State.rejected, State.dismissed, State.reported, State.closed})
EDITABLE_STATES = frozenset({State.draft})
OPEN_STATES = frozenset({State.submitted, State.in_review})  # received, not yet decided: IMDi is considering it


# What each state is called where a kommune or IMDi reads it (English msgids; nb and nn in the catalogues).
TITLES = {
    State.draft: N_("Draft"), State.submitted: N_("Submitted"), State.in_review: N_("Under consideration"),
    State.granted: N_("Granted"), State.rejected: N_("Rejected"), State.dismissed: N_("Dismissed"),
    State.withdrawn: N_("Withdrawn"), State.reported: N_("Reported"), State.closed: N_("Closed"),
}


def transition(action, source):
    """The transition for ``action`` from ``source``, or None if the table has none."""
    return _BY_KEY.get((Action(action), State(source)))


def allowed_actions(source, actor_kind):
    """Actions an actor of this kind may take from ``source``."""
    return [t.action for t in TRANSITIONS if t.source == State(source) and actor_kind in t.actors]


def target(action, source, actor_kind):
    """The state ``action`` leads to, or None if it is not allowed for this actor from this state."""
    t = transition(action, source)
    if t is None or actor_kind not in t.actors:
        return None
    return t.target


def apply(case, action, actor, actor_kind, *, record_as=None, **facts):
    """Move ``case`` (an Application) by ``action`` (Action), taken by ``actor`` (a User, or None for the system)
    as ``actor_kind`` (MUNICIPAL, CASEWORKER or APPROVER), and write the audit entry: who, the action (or
    ``record_as``), from, to, and ``facts`` (JSON-able values: the reason, the reference, the checks...).

    The only code that changes an application's state. The caller sets the columns the new state needs (a
    reference and a time of receipt, an amount granted...) before, and the database's CHECK constraints hold it to
    that. Returns the Transition taken. Raises InvalidTransition("not_allowed") when the table has no such
    transition from the case's state for this kind of actor; nothing is changed then."""
    from grants.core import audit
    from grants.errors import InvalidTransition

    taken = transition(action, case.state)
    if taken is None or actor_kind not in taken.actors:
        raise InvalidTransition("not_allowed", action=str(action), state=str(case.state))
    source = State(case.state)
    case.state = taken.target
    audit.record(actor, case, record_as or taken.action, from_state=source, to_state=taken.target, **facts)
    return taken

