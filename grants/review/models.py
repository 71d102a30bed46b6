"""IMDi's side of a case: formal check, reviewers and their declarations, reviews, decisions, letters, appeals."""

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.db import utcnow
from grants.extensions import db


def _enum(cls, name, length=20):
    return Enum(cls, name=name, native_enum=False, length=length, validate_strings=True)


class DismissalReason(enum.StrEnum):
    late = "late"
    ineligible = "ineligible"
    outside_scheme = "outside_scheme"
    incomplete = "incomplete"


class FormalCheck(db.Model):
    __tablename__ = "formal_checks"
    __table_args__ = (
        CheckConstraint("accepted OR reason_code IS NOT NULL", name="dismissal_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), unique=True)
    checked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    eligible_applicant: Mapped[bool]
    in_time: Mapped[bool]
    complete: Mapped[bool]
    within_scheme: Mapped[bool]
    conditions_met: Mapped[bool]
    accepted: Mapped[bool]
    reason_code: Mapped[DismissalReason | None] = mapped_column(_enum(DismissalReason, "dismissal_reason"))
    reason_text: Mapped[str | None] = mapped_column(Text)

    application = relationship("Application")
    checked_by = relationship("User")


class RoundReviewer(db.Model):
    """The people who review in a round; automatic assignment balances work among them."""

    __tablename__ = "round_reviewers"
    __table_args__ = (UniqueConstraint("round_id", "user_id", name="uq_round_reviewer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    user = relationship("User", lazy="joined")


class AssignmentState(enum.StrEnum):
    assigned = "assigned"      # waiting for the impartiality declaration
    active = "active"          # declared free of conflict: may score
    removed = "removed"        # declared a conflict, or taken off by a caseworker


class Assignment(db.Model):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("application_id", "reviewer_id", name="uq_assignment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[AssignmentState] = mapped_column(_enum(AssignmentState, "assignment_state"),
                                                   default=AssignmentState.assigned)

    application = relationship("Application")
    reviewer = relationship("User", foreign_keys=[reviewer_id], lazy="joined")


class Declaration(db.Model):
    """An impartiality declaration (forvaltningsloven §§ 6-10). Kept for ever: who, when, what."""

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


class Recommendation(enum.StrEnum):
    grant = "grant"
    reject = "reject"
    unsure = "unsure"


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("application_id", "reviewer_id", name="uq_review"),
        CheckConstraint("submitted_at IS NULL OR (recommendation IS NOT NULL AND weighted_score IS NOT NULL)",
                        name="submitted_is_complete"),
        CheckConstraint("suggested_amount IS NULL OR suggested_amount >= 0", name="suggested_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recommendation: Mapped[Recommendation | None] = mapped_column(_enum(Recommendation, "recommendation"))
    suggested_amount: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    weighted_score: Mapped[float | None]
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]

    reviewer = relationship("User", lazy="joined")
    scores: Mapped[list["Score"]] = relationship(back_populates="review", cascade="all, delete-orphan")

    @property
    def is_submitted(self):
        return self.submitted_at is not None


class Score(db.Model):
    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("review_id", "criterion_id", name="uq_score"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id", ondelete="CASCADE"))
    value: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)

    review = relationship(Review, back_populates="scores")
    criterion = relationship("Criterion", lazy="joined")


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


class DecisionState(enum.StrEnum):
    proposed = "proposed"
    approved = "approved"
    released = "released"
    withdrawn = "withdrawn"      # a proposal taken back before approval
    superseded = "superseded"    # replaced by a new decision after an appeal
    cancelled = "cancelled"      # the application was withdrawn before the decision was released


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


class AppealState(enum.StrEnum):
    lodged = "lodged"
    reversed = "reversed"
    upheld = "upheld"          # sent on to the ministry


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
