"""The grant (tilsagn): what a released grant decision gives a kommune, and whether the kommune has taken it."""

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.lifecycle import Lifecycle, step
from grants.core.text import N_
from grants.db import StoredFileMixin, TimestampMixin
from grants.extensions import db


class GrantState(enum.StrEnum):
    offered = "offered"      # the decision is released; the kommune has not answered
    accepted = "accepted"    # akseptert: the kommune takes the grant on its conditions
    declined = "declined"    # avslått av kommunen: the money goes back to the round's budget


GRANT_STATE_TITLES = {GrantState.offered: N_("Waiting for the municipality's answer"),
                      GrantState.accepted: N_("Accepted"), GrantState.declined: N_("Declined by the municipality")}


# A grant's life: offered, then the kommune's staff accept it (with the account it is paid to) or decline it.
GRANT_LIFE = Lifecycle("grant", (
    step("accept", [GrantState.offered], GrantState.accepted, N_("Accept the grant")),
    step("decline", [GrantState.offered], GrantState.declined, N_("Decline the grant")),
))


class Grant(TimestampMixin, db.Model):
    """One per granted application: made when its grant decision is released (grants.followup.operations), with
    the amount (whole kroner), the reporting deadline (the decision's, else the round's) and the date by which the
    kommune answers (Oslo date: the whole day)."""

    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # Each state and its columns, both ways: only an answered grant has who answered and when; an accepted one
        # has the account it is paid to; only a declined one has a reason for declining.
        CheckConstraint("(state = 'offered') = (answered_at IS NULL)", name="answered_has_time"),
        CheckConstraint("(answered_at IS NULL) = (answered_by_id IS NULL)", name="answered_by_with_time"),
        CheckConstraint("(state = 'accepted') = (account_number IS NOT NULL)", name="accepted_has_account"),
        CheckConstraint("(state = 'declined') = (decline_reason IS NOT NULL)", name="declined_has_reason"),
        CheckConstraint("account_number IS NULL OR length(account_number) = 11", name="account_number_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), unique=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    amount: Mapped[int]
    reporting_deadline: Mapped[date | None]
    answer_by: Mapped[date]
    state: Mapped[GrantState] = mapped_column(
        Enum(GrantState, name="grant_state", native_enum=False, length=20, validate_strings=True),
        default=GrantState.offered)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    account_number: Mapped[str | None] = mapped_column(String(11))
    decline_reason: Mapped[str | None] = mapped_column(Text)

    application = relationship("Application", lazy="joined")
    decision = relationship("Decision")
    answered_by = relationship("User")

    @property
    def awaits_answer(self):
        """Offered: the kommune has not yet accepted or declined."""
        return GRANT_LIFE.can(self, "accept")

    @property
    def is_accepted(self):
        return self.state == GrantState.accepted

    @property
    def is_declined(self):
        return self.state == GrantState.declined


class PaymentState(enum.StrEnum):
    proposed = "proposed"    # a caseworker proposes paying an amount of the grant
    approved = "approved"    # a second person approved it: it goes into the payment file for the accounting system
    paid = "paid"            # the accounting system paid it on paid_on
    withdrawn = "withdrawn"  # taken back before it was paid


PAYMENT_STATE_TITLES = {PaymentState.proposed: N_("Proposed"),
                        PaymentState.approved: N_("Approved, waiting to be paid"),
                        PaymentState.paid: N_("Paid"), PaymentState.withdrawn: N_("Withdrawn")}


# A payment's life (utbetaling): proposed by one person, approved by another (four eyes, also in the database),
# paid; a proposal or an approved payment not yet paid can be withdrawn.
PAYMENT_LIFE = Lifecycle("payment", (
    step("approve", [PaymentState.proposed], PaymentState.approved, N_("Approve the payment")),
    step("pay", [PaymentState.approved], PaymentState.paid, N_("Mark as paid")),
    step("withdraw", [PaymentState.proposed, PaymentState.approved], PaymentState.withdrawn,
         N_("Withdraw the payment")),
))


class Payment(TimestampMixin, db.Model):
    """A payment (utbetaling) of a grant to the account the kommune gave when it accepted: whole kroner, never
    more than what remains of the grant (grants.followup.operations, under a lock on the grant's row)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id != proposed_by_id", name="four_eyes"),
        # Each state and its columns, both ways.
        # Approved and paid payments have their approver; a proposal has none; a withdrawn one keeps what it had.
        CheckConstraint("state NOT IN ('approved', 'paid') OR approved_by_id IS NOT NULL",
                        name="approved_has_approver"),
        CheckConstraint("state != 'proposed' OR approved_by_id IS NULL", name="proposed_not_approved"),
        CheckConstraint("(approved_by_id IS NULL) = (approved_at IS NULL)", name="approver_with_time"),
        CheckConstraint("(state = 'paid') = (paid_on IS NOT NULL)", name="paid_has_date"),
        CheckConstraint("(state = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int]
    account_number: Mapped[str] = mapped_column(String(11))
    state: Mapped[PaymentState] = mapped_column(
        Enum(PaymentState, name="payment_state", native_enum=False, length=20, validate_strings=True),
        default=PaymentState.proposed)
    note: Mapped[str | None] = mapped_column(Text)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    paid_on: Mapped[date | None]
    withdrawn_at: Mapped[datetime | None]

    grant = relationship(Grant, backref="payments")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])

    @property
    def awaits_approval(self):
        return PAYMENT_LIFE.can(self, "approve")

    @property
    def awaits_payment(self):
        return PAYMENT_LIFE.can(self, "pay")

    @property
    def is_paid(self):
        return self.state == PaymentState.paid


class ReportState(enum.StrEnum):
    draft = "draft"          # utkast: the kommune is writing it; kept as typed, valid or not
    submitted = "submitted"  # sendt: IMDi assesses it
    returned = "returned"    # sendt tilbake: IMDi asks for changes by a new date; the kommune writes a new version
    approved = "approved"    # godkjent: the grant is closed (and any held-back share can be paid)


REPORT_STATE_TITLES = {ReportState.draft: N_("Draft"), ReportState.submitted: N_("Sent, waiting for IMDi's assessment"),
                       ReportState.returned: N_("Returned for changes"), ReportState.approved: N_("Approved")}


# A report's life (rapport): written, submitted, then approved or returned for changes. A returned version is kept
# as it was; the kommune's changes go into the next version (grants.followup.reports).
REPORT_LIFE = Lifecycle("report", (
    step("submit", [ReportState.draft], ReportState.submitted, N_("Send the report")),
    step("return", [ReportState.submitted], ReportState.returned, N_("Return the report for changes")),
    step("approve", [ReportState.submitted], ReportState.approved, N_("Approve the report")),
))


class Report(TimestampMixin, db.Model):
    """One version of a grant's report (rapport): ``number`` 1 for the first, one more after each return for
    changes. ``answers`` holds what the kommune typed, by field, kept even when not valid (a draft is never lost);
    the typed columns are read from it at submission. Amounts in whole kroner."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("grant_id", "number", name="uq_reports_grant_number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("participants IS NULL OR participants >= 0", name="participants_non_negative"),
        CheckConstraint("spent IS NULL OR spent >= 0", name="spent_non_negative"),
        CheckConstraint("own_contribution IS NULL OR own_contribution >= 0", name="own_contribution_non_negative"),
        CheckConstraint("unused IS NULL OR unused >= 0", name="unused_non_negative"),
        # Each state and its columns, both ways: a submitted version has who sent it and when, and its figures; an
        # assessed one who assessed it and when; a returned one the message and the day to send a new version by.
        CheckConstraint("(state = 'draft') = (submitted_at IS NULL)", name="submitted_has_time"),
        CheckConstraint("(submitted_at IS NULL) = (submitted_by_id IS NULL)", name="submitted_by_with_time"),
        CheckConstraint("state = 'draft' OR (participants IS NOT NULL AND spent IS NOT NULL "
                        "AND own_contribution IS NOT NULL AND unused IS NOT NULL)", name="submitted_has_figures"),
        CheckConstraint("(state IN ('returned', 'approved')) = (assessed_at IS NOT NULL)", name="assessed_has_time"),
        CheckConstraint("(assessed_at IS NULL) = (assessed_by_id IS NULL)", name="assessed_by_with_time"),
        CheckConstraint("(state = 'returned') = (resubmit_by IS NOT NULL)", name="returned_has_date"),
        CheckConstraint("state != 'returned' OR assessment IS NOT NULL", name="returned_has_message"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(default=1)
    state: Mapped[ReportState] = mapped_column(
        Enum(ReportState, name="report_state", native_enum=False, length=20, validate_strings=True),
        default=ReportState.draft)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    # Raised on every save; a save from an older version is a conflict, not an overwrite.
    version: Mapped[int] = mapped_column(default=1)
    participants: Mapped[int | None]
    spent: Mapped[int | None]
    own_contribution: Mapped[int | None]
    unused: Mapped[int | None]
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assessed_at: Mapped[datetime | None]
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assessment: Mapped[str | None] = mapped_column(Text)
    resubmit_by: Mapped[date | None]

    __mapper_args__ = {"version_id_col": version}

    grant = relationship(Grant, backref="reports")
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    assessed_by = relationship("User", foreign_keys=[assessed_by_id])
    attachments: Mapped[list["ReportAttachment"]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportAttachment.id")

    @property
    def is_draft(self):
        return self.state == ReportState.draft

    @property
    def awaits_assessment(self):
        return REPORT_LIFE.can(self, "approve")

    @property
    def is_returned(self):
        return self.state == ReportState.returned

    @property
    def is_approved(self):
        return self.state == ReportState.approved


class ReportAttachment(StoredFileMixin, db.Model):
    """A document with a report (the project's accounts, for instance): stored like an application's attachments,
    outside the static files, its type read from its content."""

    __tablename__ = "report_attachments"
    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    report = relationship(Report, back_populates="attachments")


# --- repayment claims (krav om tilbakebetaling) ----------------------------------------------------------------

class ClaimState(enum.StrEnum):
    proposed = "proposed"    # a caseworker proposes claiming an amount of the grant back
    approved = "approved"    # a second person approved it: the claim letter is sent and the kommune owes the amount
    repaid = "repaid"        # the whole amount has come back (repaid_on: the day the last of it came in)
    withdrawn = "withdrawn"  # taken back before it was approved


CLAIM_STATE_TITLES = {ClaimState.proposed: N_("Proposed, waiting for approval"),
                      ClaimState.approved: N_("Sent to the municipality, not yet repaid in full"),
                      ClaimState.repaid: N_("Repaid"), ClaimState.withdrawn: N_("Withdrawn")}


# A repayment claim's life (tilbakebetalingskrav): proposed by one person, approved by another (four eyes, also in
# the database), then repaid when the repayments received add up to the amount; a proposal can be withdrawn.
CLAIM_LIFE = Lifecycle("repayment_claim", (
    step("approve", [ClaimState.proposed], ClaimState.approved, N_("Approve the repayment claim")),
    step("repay", [ClaimState.approved], ClaimState.repaid, N_("Repaid in full")),
    step("withdraw", [ClaimState.proposed], ClaimState.withdrawn, N_("Withdraw the repayment claim")),
))


class RepaymentClaim(TimestampMixin, db.Model):
    """A claim (krav om tilbakebetaling) that the kommune pay back ``amount`` (whole kroner) of a grant by ``due_on``
    (an Oslo date), for ``reason``. Never more than was paid on the grant less its other claims not withdrawn
    (grants.followup.repayments, under a lock on the grant's row). ``report_id`` names the report whose approval
    made the claim, if one did. When approved, the letter's language and IMDi's account are fixed on the claim."""

    __tablename__ = "repayment_claims"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(reason) BETWEEN 1 AND 3000", name="reason_length"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id != proposed_by_id", name="four_eyes"),
        # Each state and its columns, both ways. Only a proposal can be withdrawn, so a withdrawn claim has no
        # approver; approved and repaid ones have theirs, with the time, the letter's language and the account.
        CheckConstraint("(state IN ('approved', 'repaid')) = (approved_by_id IS NOT NULL)",
                        name="approved_has_approver"),
        CheckConstraint("(approved_by_id IS NULL) = (approved_at IS NULL)", name="approver_with_time"),
        CheckConstraint("(approved_by_id IS NULL) = (letter_language IS NULL)", name="approved_has_language"),
        CheckConstraint("(approved_by_id IS NULL) = (account_number IS NULL)", name="approved_has_account"),
        CheckConstraint("(state = 'repaid') = (repaid_on IS NOT NULL)", name="repaid_has_date"),
        CheckConstraint("(state = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn_has_time"),
        CheckConstraint("letter_language IS NULL OR letter_language IN ('nb', 'nn', 'en')",
                        name="letter_language_known"),
        CheckConstraint("account_number IS NULL OR length(account_number) = 11", name="account_number_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date]
    state: Mapped[ClaimState] = mapped_column(
        Enum(ClaimState, name="claim_state", native_enum=False, length=20, validate_strings=True),
        default=ClaimState.proposed)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    letter_language: Mapped[str | None] = mapped_column(String(2))
    account_number: Mapped[str | None] = mapped_column(String(11))
    repaid_on: Mapped[date | None]
    withdrawn_at: Mapped[datetime | None]

    grant = relationship(Grant, backref="claims")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])
    repayments = relationship("Repayment", back_populates="claim", order_by="Repayment.id",
                              cascade="all, delete-orphan", passive_deletes=True)

    @property
    def awaits_approval(self):
        return CLAIM_LIFE.can(self, "approve")

    @property
    def can_be_withdrawn(self):
        return CLAIM_LIFE.can(self, "withdraw")

    @property
    def is_collecting(self):
        """Approved and not yet repaid in full: the kommune owes what is outstanding."""
        return CLAIM_LIFE.can(self, "repay")

    @property
    def is_repaid(self):
        return self.state == ClaimState.repaid

    @property
    def has_letter(self):
        """Approved (and perhaps repaid since): its letter was sent."""
        return self.approved_at is not None

    @property
    def received(self):
        """Kroner received on the claim so far (the sum of its repayments)."""
        return sum(repayment.amount for repayment in self.repayments)

    @property
    def outstanding(self):
        """Kroner still owed: the amount less what was received (0 once repaid)."""
        return self.amount - self.received


class Repayment(TimestampMixin, db.Model):
    """Money received on a repayment claim (innbetaling): whole kroner on an Oslo date, recorded by IMDi. Partial
    repayments add up; together never more than the claim (grants.followup.repayments, under a lock on the
    claim's row)."""

    __tablename__ = "repayments"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("repayment_claims.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int]
    received_on: Mapped[date]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    claim = relationship(RepaymentClaim, back_populates="repayments")
    recorded_by = relationship("User")
