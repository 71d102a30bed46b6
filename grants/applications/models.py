"""Applications, their partners, cost lines, activity types and attachments."""

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.applications.workflow import State
from grants.core.text import N_
from grants.db import StoredFileMixin, TimestampMixin, round_of_application
from grants.extensions import db


class Channel(enum.StrEnum):
    portal = "portal"
    email = "email"
    post = "post"


# How an application came in, as people read it (English msgids, translated where shown).
CHANNEL_TITLES = {Channel.portal: N_("The portal"), Channel.email: N_("E-mail"), Channel.post: N_("Post")}


class ActivityType(enum.StrEnum):
    mapping = "mapping"                        # kartlegging
    action_plan = "action_plan"                # handlingsplan
    indicators = "indicators"                  # indikatorsett
    religious_plan = "religious_plan"          # handlingsplan mot religiøs diskriminering, hat og rasisme
    recruitment = "recruitment"                # rettferdig og mangfoldig rekruttering
    guide = "guide"                            # veileder eller opplæringsmateriell
    sector_measure = "sector_measure"          # enkelttiltak i en sektor
    other = "other"


def _state_enum():
    return Enum(State, name="application_state", native_enum=False, length=20, validate_strings=True)


class Application(TimestampMixin, db.Model):
    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("reference", name="uq_applications_reference"),  # across every round
        # Each state and the columns it needs, both ways: a column that belongs to a state is set in it and only
        # in it (the operations set the columns and the state in one flush; see workflow.apply).
        CheckConstraint(
            "state = 'draft' OR (reference IS NOT NULL AND received_at IS NOT NULL)",
            name="received_has_reference_and_time",
        ),
        # A draft has not been received: no reference, no time of receipt, no submitter.
        CheckConstraint(
            "state != 'draft' OR (reference IS NULL AND received_at IS NULL AND submitted_by_id IS NULL)",
            name="draft_not_received",
        ),
        CheckConstraint("state != 'withdrawn' OR withdrawn_at IS NOT NULL", name="withdrawn_has_time"),
        CheckConstraint("state != 'withdrawn' OR withdraw_reason IS NOT NULL", name="withdrawn_has_reason"),
        CheckConstraint("state = 'withdrawn' OR (withdrawn_at IS NULL AND withdraw_reason IS NULL)",
                        name="only_withdrawn_has_withdrawal"),
        CheckConstraint("amount_applied IS NULL OR amount_applied > 0", name="amount_applied_positive"),
        CheckConstraint("own_contribution IS NULL OR own_contribution >= 0", name="own_contribution_non_negative"),
        CheckConstraint("other_funding IS NULL OR other_funding >= 0", name="other_funding_non_negative"),
        CheckConstraint("amount_granted IS NULL OR amount_granted >= 0", name="amount_granted_non_negative"),
        # A grant keeps its amount when it is reported on and closed, and when the kommune declines it.
        CheckConstraint("state NOT IN ('granted', 'reported', 'closed', 'declined') OR amount_granted IS NOT NULL",
                        name="granted_has_amount"),
        CheckConstraint("state IN ('granted', 'reported', 'closed', 'declined') OR amount_granted IS NULL",
                        name="only_grants_have_amount"),
        # Decided (workflow.DECIDED_STATES): the time its decision was released.
        CheckConstraint("state NOT IN ('granted', 'rejected', 'dismissed', 'reported', 'closed', 'declined') "
                        "OR decided_at IS NOT NULL", name="decided_has_time"),
        CheckConstraint("state IN ('granted', 'rejected', 'dismissed', 'reported', 'closed', 'declined') "
                        "OR decided_at IS NULL", name="only_decided_has_time"),
        Index("ix_applications_round_state", "round_id", "state"),
        # What the rows kept per application (assignments, reviews, activities) refer to together with their copy
        # of the round (grants.db.round_of_application).
        UniqueConstraint("id", "round_id", name="uq_applications_id_round"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[State] = mapped_column(_state_enum(), default=State.draft)
    reference: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[Channel] = mapped_column(
        Enum(Channel, name="channel", native_enum=False, length=10), default=Channel.portal
    )
    # Everything the applicant typed, by field name, kept even when invalid (drafts are never lost).
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    # Raised on every save; a save based on an older version is a conflict, not an overwrite.
    version: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(String(200), default="")
    amount_applied: Mapped[int | None]
    own_contribution: Mapped[int | None]
    other_funding: Mapped[int | None]
    total_cost: Mapped[int | None]
    participants: Mapped[int | None]
    continues_application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    received_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    snapshot: Mapped[dict | None] = mapped_column(JSON)
    withdrawn_at: Mapped[datetime | None]
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    amount_granted: Mapped[int | None]
    decided_at: Mapped[datetime | None]
    last_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Every UPDATE checks and raises the version: two saves from the same starting point can't both land.
    __mapper_args__ = {"version_id_col": version}

    round = relationship("Round", lazy="joined")
    municipality = relationship("Municipality", lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id])
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    last_changed_by = relationship("User", foreign_keys=[last_changed_by_id])
    continues = relationship("Application", remote_side=[id])
    partners: Mapped[list["ApplicationPartner"]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )
    cost_lines: Mapped[list["CostLine"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="CostLine.position"
    )
    activities: Mapped[list["ApplicationActivity"]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="Attachment.uploaded_at"
    )

    @property
    def is_editable(self):
        return self.state == State.draft

    @property
    def submitted_attachments(self):
        """The attachments that are part of the application as sent: not the documents the kommune sent
        afterwards, at IMDi's request (``Attachment.is_supplement``)."""
        return [a for a in self.attachments if not a.is_supplement]

    @property
    def activity_types(self):
        return [a.activity for a in self.activities]

    # Typed reads of what the applicant typed: the rest of the code asks these, never the stored form lists.
    def _answer(self, section, name):
        """The first value typed in ``name`` of ``section`` (str, stripped), from the submitted snapshot when there
        is one, else from the draft; "" when nothing was typed."""
        answers = (self.snapshot or {}).get("answers") or self.answers or {}
        values = (answers.get(section) or {}).get(name) or [""]
        return str(values[0]).strip()

    @property
    def contact_name(self):
        """The contact person's name (str, "" if none was given)."""
        return self._answer("applicant", "contact_name")

    @property
    def contact_email(self):
        """The contact person's e-mail address, lower case (str, "" if none was given)."""
        return self._answer("applicant", "contact_email").lower()

    @property
    def summary(self):
        """The project's summary as typed (str, "" if none was given)."""
        return self._answer("project", "summary")

    @property
    def confirms_no_running_costs(self):
        """Whether the applicant confirmed that the budget has no ordinary running costs (bool)."""
        return bool(self._answer("budget", "no_running_costs"))

    def __repr__(self):
        return f"<Application {self.id} {self.state} {self.reference}>"


class ApplicationPartner(db.Model):
    __tablename__ = "application_partners"
    __table_args__ = (UniqueConstraint("application_id", "municipality_id", name="uq_partner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)

    application = relationship(Application, back_populates="partners")
    municipality = relationship("Municipality", lazy="joined")


class ApplicationActivity(db.Model):
    __tablename__ = "application_activities"
    __table_args__ = (
        UniqueConstraint("application_id", "activity", name="uq_activity"),
        ForeignKeyConstraint(["application_id", "round_id"], ["applications.id", "applications.round_id"],
                             ondelete="CASCADE"),
        Index("ix_application_activities_round_activity", "round_id", "activity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(index=True)
    round_id: Mapped[int] = mapped_column(default=round_of_application)  # the application's (tallies by round)
    activity: Mapped[ActivityType] = mapped_column(
        Enum(ActivityType, name="activity_type", native_enum=False, length=30)
    )

    application = relationship(Application, back_populates="activities")


class CostLine(db.Model):
    __tablename__ = "cost_lines"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(300))
    amount: Mapped[int]

    application = relationship(Application, back_populates="cost_lines")


# The purpose of a document the kommune sent after submitting, while IMDi asked for more information (ettersendt;
# grants.messages records the request it answers). It is no part of the application as submitted (its snapshot).
SUPPLEMENT = "supplement"


class Attachment(StoredFileMixin, db.Model):
    __tablename__ = "attachments"
    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(30), default="general")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    application = relationship(Application, back_populates="attachments")
    uploaded_by = relationship("User")

    @property
    def is_supplement(self):
        return self.purpose == SUPPLEMENT
