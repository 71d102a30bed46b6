"""Reviewing a case: the formal check, the round's reviewers, their assignments, reviews and scores. The
impartiality declarations and the decisions are in grants.decisions.models."""

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.lifecycle import Lifecycle, step
from grants.core.text import N_
from grants.db import round_of_application, utcnow
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


ASSIGNMENT_STATE_TITLES = {AssignmentState.assigned: N_("Waiting for the impartiality declaration"),
                           AssignmentState.active: N_("Assessing"), AssignmentState.removed: N_("Removed")}


# A reviewer's assignment: assigned, then the impartiality declaration makes it active (free of conflict) or removes
# it (a conflict); a caseworker may take a reviewer off, and assign the same person again later.
ASSIGNMENT_LIFE = Lifecycle("assignment", (
    step("declare_free", [AssignmentState.assigned], AssignmentState.active, N_("Declare yourself free of conflict")),
    step("declare_conflict", [AssignmentState.assigned], AssignmentState.removed, N_("Declare a conflict")),
    step("remove", [AssignmentState.assigned, AssignmentState.active], AssignmentState.removed, N_("Remove")),
    step("reassign", [AssignmentState.removed], AssignmentState.assigned, N_("Assign")),
))


class Assignment(db.Model):
    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("application_id", "reviewer_id", name="uq_assignment"),
        ForeignKeyConstraint(["application_id", "round_id"], ["applications.id", "applications.round_id"],
                             ondelete="CASCADE"),
        Index("ix_assignments_round_state", "round_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(index=True)
    round_id: Mapped[int] = mapped_column(default=round_of_application)  # the application's (tallies by round)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[AssignmentState] = mapped_column(_enum(AssignmentState, "assignment_state"),
                                                   default=AssignmentState.assigned)

    application = relationship("Application")
    reviewer = relationship("User", foreign_keys=[reviewer_id], lazy="joined")

    @property
    def awaits_declaration(self):
        """Assigned, and the reviewer has not yet declared impartiality (the declaration is the next step)."""
        return ASSIGNMENT_LIFE.can(self, "declare_free")

    @property
    def is_current(self):
        """The reviewer is on the application (assigned or assessing): a caseworker can take them off."""
        return ASSIGNMENT_LIFE.can(self, "remove")


class Recommendation(enum.StrEnum):
    grant = "grant"
    reject = "reject"
    unsure = "unsure"


RECOMMENDATION_TITLES = {Recommendation.grant: N_("Grant"), Recommendation.reject: N_("Reject"),
                         Recommendation.unsure: N_("Unsure")}


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("application_id", "reviewer_id", name="uq_review"),
        CheckConstraint("submitted_at IS NULL OR (recommendation IS NOT NULL AND weighted_score IS NOT NULL)",
                        name="submitted_is_complete"),
        CheckConstraint("suggested_amount IS NULL OR suggested_amount >= 0", name="suggested_non_negative"),
        ForeignKeyConstraint(["application_id", "round_id"], ["applications.id", "applications.round_id"],
                             ondelete="CASCADE"),
        Index("ix_reviews_round_submitted", "round_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(index=True)
    round_id: Mapped[int] = mapped_column(default=round_of_application)  # the application's (tallies by round)
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
