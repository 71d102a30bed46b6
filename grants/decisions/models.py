"""The decisions (vedtak) on applications: the amounts set in the allocation, the decisions proposed, approved
and released (four eyes), the appeals (klager), and the impartiality declarations (habilitetserklæringer) that
close a case's doors to whoever declared a conflict."""

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.lifecycle import Lifecycle, step
from grants.core.text import N_
from grants.db import utcnow
from grants.extensions import db


def _enum(cls, name, length=20):
    return Enum(cls, name=name, native_enum=False, length=length, validate_strings=True)


class Allocation(db.Model):
    """The amount a caseworker sets for an application in the allocation view (before proposing)."""

    __tablename__ = "allocations"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_non_negative"),)

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"),
                                                primary_key=True)
    amount: Mapped[int]
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class Outcome(enum.StrEnum):
    granted = "granted"
    rejected = "rejected"
    dismissed = "dismissed"


# What each kind of decision is called (vedtak om tilskudd, avslag, avvisning).
OUTCOME_TITLES = {Outcome.granted: N_("Grant"), Outcome.rejected: N_("Rejection"), Outcome.dismissed: N_("Dismissal")}


class DecisionState(enum.StrEnum):
    proposed = "proposed"
    approved = "approved"
    released = "released"
    withdrawn = "withdrawn"      # a proposal taken back before approval
    superseded = "superseded"    # replaced by a new decision after an appeal
    cancelled = "cancelled"      # the application was withdrawn before the decision was released


DECISION_STATE_TITLES = {
    DecisionState.proposed: N_("Proposed"), DecisionState.approved: N_("Approved"), DecisionState.released: N_("Sent"),
    DecisionState.withdrawn: N_("Withdrawn"), DecisionState.superseded: N_("Replaced"),
    DecisionState.cancelled: N_("Cancelled: the application was withdrawn"),
}


_OPEN = (DecisionState.proposed, DecisionState.approved)

# A decision's life: proposed -> approved (four eyes) -> released; before release a newer proposal or a formal check
# that accepts the application withdraws it, and a withdrawn application cancels it; a released decision is
# superseded when a decision reversing it on appeal is released.
DECISION_LIFE = Lifecycle("decision", (
    step("approve", [DecisionState.proposed], DecisionState.approved, N_("Approve")),
    step("release", [DecisionState.approved], DecisionState.released, N_("Send")),
    step("withdraw", _OPEN, DecisionState.withdrawn, N_("Withdraw the proposal")),
    step("cancel", _OPEN, DecisionState.cancelled, N_("Cancel")),
    step("supersede", [DecisionState.released], DecisionState.superseded, N_("Replace")),
))


class Decision(db.Model):
    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint("outcome != 'granted' OR (amount IS NOT NULL AND amount > 0)", name="grant_has_amount"),
        CheckConstraint("outcome = 'granted' OR amount IS NULL", name="only_grants_have_amount"),
        CheckConstraint("outcome = 'granted' OR reasons IS NOT NULL", name="refusal_has_reasons"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id != proposed_by_id", name="four_eyes"),
        CheckConstraint("state NOT IN ('approved', 'released') OR approved_by_id IS NOT NULL",
                        name="approved_has_approver"),
        CheckConstraint("state != 'proposed' OR approved_by_id IS NULL", name="proposed_not_approved"),
        # Who approved and when are written together, or neither.
        CheckConstraint("(approved_by_id IS NULL AND approved_at IS NULL) "
                        "OR (approved_by_id IS NOT NULL AND approved_at IS NOT NULL)",
                        name="approver_and_time_together"),
        # A superseded decision was released before a decision on appeal replaced it, and keeps that time.
        CheckConstraint("state NOT IN ('released', 'superseded') OR released_at IS NOT NULL",
                        name="released_has_time"),
        CheckConstraint("state IN ('released', 'superseded') OR released_at IS NULL", name="only_released_has_time"),
        CheckConstraint("letter_language IN ('nb', 'nn', 'en')", name="letter_language_known"),
        Index("ix_decisions_round_state", "round_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome, "outcome"))
    state: Mapped[DecisionState] = mapped_column(_enum(DecisionState, "decision_state"),
                                                 default=DecisionState.proposed)
    amount: Mapped[int | None]
    purpose: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    special_conditions: Mapped[str | None] = mapped_column(Text)
    reporting_deadline: Mapped[date | None]
    # Reasons (forvaltningsloven §§ 24-25): the rules applied, the facts, the main considerations.
    reasons: Mapped[dict | None] = mapped_column(JSON)
    letter_language: Mapped[str] = mapped_column(String(2), default="nb")
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    letter_html: Mapped[str | None] = mapped_column(Text)
    letter_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)

    application = relationship("Application", lazy="joined")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])
    supersedes = relationship("Decision", remote_side=[id])

    @property
    def awaits_approval(self):
        """Proposed: the next step is a second person's approval."""
        return DECISION_LIFE.can(self, "approve")


class AppealState(enum.StrEnum):
    lodged = "lodged"
    reversed = "reversed"
    upheld = "upheld"          # sent on to the ministry


APPEAL_STATE_TITLES = {AppealState.lodged: N_("Lodged"), AppealState.reversed: N_("Reversed"),
                       AppealState.upheld: N_("Upheld, sent to the ministry")}


# An appeal's life: lodged, then IMDi either keeps its decision (upheld: the appeal goes on to the ministry) or
# reverses it with a new decision.
APPEAL_LIFE = Lifecycle("appeal", (
    step("uphold", [AppealState.lodged], AppealState.upheld, N_("Uphold the decision")),
    step("reverse", [AppealState.lodged], AppealState.reversed, N_("Reverse the decision")),
))


class Appeal(db.Model):
    __tablename__ = "appeals"
    __table_args__ = (
        CheckConstraint("state = 'lodged' OR handled_at IS NOT NULL", name="handled_has_time"),
        CheckConstraint("state != 'lodged' OR handled_at IS NULL", name="lodged_not_handled"),
        # Who handled it and when are written together, or neither.
        CheckConstraint("(handled_by_id IS NULL AND handled_at IS NULL) "
                        "OR (handled_by_id IS NOT NULL AND handled_at IS NOT NULL)",
                        name="handler_and_time_together"),
        # A reversal is a new decision; only a reversal has one.
        CheckConstraint("state != 'reversed' OR new_decision_id IS NOT NULL", name="reversed_has_new_decision"),
        CheckConstraint("state = 'reversed' OR new_decision_id IS NULL", name="only_reversed_has_new_decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    lodged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    lodged_at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[AppealState] = mapped_column(_enum(AppealState, "appeal_state"), default=AppealState.lodged)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    new_decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))

    decision = relationship(Decision, foreign_keys=[decision_id])
    lodged_by = relationship("User", foreign_keys=[lodged_by_id])

    @property
    def is_lodged(self):
        """Not yet handled: IMDi may still uphold or reverse the decision."""
        return APPEAL_LIFE.can(self, "uphold")

    @property
    def is_upheld(self):
        return self.state == AppealState.upheld


class Declaration(db.Model):
    """An impartiality declaration (forvaltningsloven §§ 6-10). Kept for ever: who, when, what.

    It lives with the decisions because disqualification binds everyone who prepares or makes a decision: a
    reviewer's declaration and an approver's are the same record, and both close the case's doors."""

    __tablename__ = "declarations"
    __table_args__ = (
        CheckConstraint("NOT conflict OR reason IS NOT NULL", name="conflict_has_reason"),
        Index("ix_declarations_application_user", "application_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    conflict: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)

    user = relationship("User", lazy="joined")
