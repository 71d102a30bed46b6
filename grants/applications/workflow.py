"""The life of an application, as data: states, actions, who may take them, and where they lead.

Everything else asks this table; nothing else decides whether a transition is allowed.
"""

import enum
from dataclasses import dataclass

from grants.core.text import N_


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
    declined = "declined"      # tilsagnet avslått: the kommune declined the grant it was given

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

    @property
    def is_in_review(self):
        """Passed the formal check and being assessed: reviewers score it, a caseworker proposes its decision."""
        return self == State.in_review


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
    return_report = "return_report"
    settle = "settle"
    decline = "decline"


MUNICIPAL = "municipal"
CASEWORKER = "caseworker"
APPROVER = "approver"


def _always(case):
    return True


def _round_takes_applications(case):
    """Submitting needs the round open at the moment of receipt (its received_at once set, now before that): opened,
    and the deadline day (Oslo) not over."""
    return case.round.is_open(case.received_at)


@dataclass(frozen=True)
class Transition:
    """One step of an application's life: ``action`` from ``source`` to ``target``, open to the kinds of actor in
    ``actors``, when ``guard(case)`` holds (a rule over facts such as the round's dates, never over the state: the
    state is ``source``); when it does not, the step is refused with the error key ``refusal``. ``title`` names the
    step where a button offers it (an English msgid; nb and nn in the catalogues)."""

    action: Action
    source: State
    target: State
    actors: frozenset
    title: str
    guard: object = _always
    refusal: str = "not_allowed"


def _t(action, source, target, actors, title, guard=_always, refusal="not_allowed"):
    return Transition(action, source, target, frozenset(actors), title, guard, refusal)


SUBMIT, WITHDRAW = N_("Submit the application"), N_("Withdraw the application")
REGISTER, ACCEPT = N_("Register as received"), N_("Accept for review")
DISMISS, GRANT, REJECT = N_("Send the dismissal"), N_("Send the grant"), N_("Send the rejection")
REPORT, APPROVE_REPORT = N_("Send the report"), N_("Approve the report")
RETURN_REPORT = N_("Return the report for changes")
SETTLE = N_("Close the case: the repayment claim is settled")
DECLINE = N_("Decline the grant")

TRANSITIONS = (
    _t(Action.submit, State.draft, State.submitted, {MUNICIPAL}, SUBMIT, _round_takes_applications,
       "deadline_passed"),
    _t(Action.register_received, State.draft, State.submitted, {CASEWORKER}, REGISTER),
    _t(Action.withdraw, State.submitted, State.withdrawn, {MUNICIPAL}, WITHDRAW),
    _t(Action.withdraw, State.in_review, State.withdrawn, {MUNICIPAL}, WITHDRAW),
    # Decisions take effect when an approver releases them (four eyes): grant, reject and dismiss alike.
    _t(Action.dismiss, State.submitted, State.dismissed, {APPROVER}, DISMISS),
    _t(Action.dismiss, State.in_review, State.dismissed, {APPROVER}, DISMISS),
    _t(Action.accept_for_review, State.submitted, State.in_review, {CASEWORKER}, ACCEPT),
    _t(Action.grant, State.in_review, State.granted, {APPROVER}, GRANT),
    _t(Action.reject, State.in_review, State.rejected, {APPROVER}, REJECT),
    # A decision reversed on appeal is a new decision.
    _t(Action.grant, State.rejected, State.granted, {APPROVER}, GRANT),
    _t(Action.grant, State.dismissed, State.granted, {APPROVER}, GRANT),
    _t(Action.reject, State.dismissed, State.rejected, {APPROVER}, REJECT),
    _t(Action.report, State.granted, State.reported, {MUNICIPAL}, REPORT),
    _t(Action.approve_report, State.reported, State.closed, {CASEWORKER}, APPROVE_REPORT),
    # A report returned for changes puts the grant back to be reported on (grants.followup.reports).
    _t(Action.return_report, State.reported, State.granted, {CASEWORKER}, RETURN_REPORT),
    # A report approved with a repayment claim keeps the case open until the claim is repaid or withdrawn; the
    # caseworker or approver who records the last repayment (or withdraws the claim) closes it
    # (grants.followup.repayments).
    _t(Action.settle, State.reported, State.closed, {CASEWORKER, APPROVER}, SETTLE),
    # The kommune answers its grant (grants.followup): declining it returns the money to the round's budget.
    _t(Action.decline, State.granted, State.declined, {MUNICIPAL}, DECLINE),
)

_BY_KEY = {(t.action, t.source): t for t in TRANSITIONS}

# States in which an application counts as received (submitted in time or registered).
RECEIVED_STATES = frozenset(
    {State.submitted, State.in_review, State.granted, State.rejected, State.dismissed, State.reported, State.closed,
     State.declined}
)
# Granted and standing: what a round's figures count as granted (a grant declined by the kommune is not).
GRANTED_STATES = (State.granted, State.reported, State.closed)
DECIDED_STATES = frozenset({State.granted, State.rejected, State.dismissed, State.reported, State.closed,
                            State.declined})
EDITABLE_STATES = frozenset({State.draft})
OPEN_STATES = frozenset({State.submitted, State.in_review})  # received, not yet decided: IMDi is considering it


# What each state is called where a kommune or IMDi reads it (English msgids; nb and nn in the catalogues).
TITLES = {
    State.draft: N_("Draft"), State.submitted: N_("Submitted"), State.in_review: N_("Under consideration"),
    State.granted: N_("Granted"), State.rejected: N_("Rejected"), State.dismissed: N_("Dismissed"),
    State.withdrawn: N_("Withdrawn"), State.reported: N_("Reported"), State.closed: N_("Closed"),
    State.declined: N_("Grant declined"),
}


def actor_kinds(case, user):
    """The kinds of actor ``user`` (a User, or an anonymous one) is for ``case``: MUNICIPAL for the active staff of
    the lead kommune (a partner kommune only reads), CASEWORKER and APPROVER by IMDi role (an administrator has
    every IMDi role). A set, empty for anyone else."""
    from grants.accounts.models import Role

    if not getattr(user, "is_authenticated", False):
        return set()
    kinds = set()
    if user.role == Role.municipal and user.is_active and user.municipality_id == case.municipality_id:
        kinds.add(MUNICIPAL)
    if user.has_role(Role.caseworker):
        kinds.add(CASEWORKER)
    if user.has_role(Role.approver):
        kinds.add(APPROVER)
    return kinds


def available(case, user):
    """What ``user`` may do to ``case`` (an Application) now: the Transitions from its state open to one of the
    user's kinds (``actor_kinds``) whose guard holds, in the table's order. The pages offer exactly these (their
    buttons carry each one's title); the permission predicates and the operations ask ``may``."""
    kinds = actor_kinds(case, user)
    return [t for t in TRANSITIONS
            if t.source == case.state and kinds & t.actors and t.guard(case)]


def may(case, user, action):
    """Whether ``action`` (Action) is among what ``user`` may do to ``case`` now (``available``)."""
    return any(t.action == action for t in available(case, user))


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


# What hangs on a case and must follow when it moves: packages above this one (the decisions) register a function
# per action here, so that the case's own package never imports them (no import circle; .importlinter).
_FOLLOWERS = {}


def follow(action, follower):
    """Register ``follower(case, actor, facts)`` to run inside ``apply`` after every transition by ``action``
    (Action), in the same transaction: what hangs on the case follows it (a withdrawal cancels the decisions not
    yet released). Registered when the app is built (grants.create_app imports the registering modules); the same
    function twice is kept once."""
    followers = _FOLLOWERS.setdefault(Action(action), [])
    if follower not in followers:
        followers.append(follower)


def followers(action):
    """The functions registered to follow ``action`` (a tuple, in the order registered)."""
    return tuple(_FOLLOWERS.get(Action(action), ()))


def apply(case, action, actor, actor_kind, *, record_as=None, **facts):
    """Move ``case`` (an Application) by ``action`` (Action), taken by ``actor`` (a User, or None for the system)
    as ``actor_kind`` (MUNICIPAL, CASEWORKER or APPROVER), and write the audit entry: who, the action (or
    ``record_as``), from, to, and ``facts`` (JSON-able values: the reason, the reference, the checks...).

    The only code that changes an application's state. The caller sets the columns the new state needs (a
    reference and a time of receipt, an amount granted...) before, and the database's CHECK constraints hold it to
    that. Then what hangs on the case follows (``follow``), in the same transaction. Returns the Transition taken.
    Raises InvalidTransition("not_allowed") when the table has no such transition from the case's state for this
    kind of actor, and InvalidTransition(the transition's ``refusal``) when its guard does not hold; nothing is
    changed then."""
    from grants.core import audit
    from grants.errors import InvalidTransition

    taken = transition(action, case.state)
    if taken is None or actor_kind not in taken.actors:
        raise InvalidTransition("not_allowed", action=str(action), state=str(case.state))
    if not taken.guard(case):
        raise InvalidTransition(taken.refusal, action=str(action), state=str(case.state))
    source = State(case.state)
    case.state = taken.target
    audit.record(actor, case, record_as or taken.action, from_state=source, to_state=taken.target, **facts)
    for follower in followers(taken.action):
        follower(case, actor, facts)
    return taken

