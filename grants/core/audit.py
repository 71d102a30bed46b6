"""The audit log: who did what to which object, when, from which state to which."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.text import N_
from grants.db import utcnow
from grants.extensions import db

# What each action in the audit log is called on the pages that show a case's history (English msgids, translated
# where shown: grants.vocabulary). The actions are the workflow's (grants.applications.workflow.Action, and
# "release" for an approved decision's) and those the operations record themselves with audit.record.
ACTION_TITLES = {
    "create": N_("Draft started"), "submit": N_("Submitted"), "withdraw": N_("Withdrawn"),
    "register_received": N_("Registered as received"), "accept_for_review": N_("Accepted for review"),
    "dismiss": N_("Dismissed"), "grant": N_("Granted"), "reject": N_("Rejected"),
    "reverse": N_("Decision reversed"), "report": N_("Report sent"), "approve_report": N_("Report approved"),
    "return_report": N_("Report returned for changes"), "settle": N_("Case closed: the repayment claim is settled"),
    "formal_check_failed": N_("Formal check: dismissal proposed"), "assign": N_("Reviewer assigned"),
    "unassign": N_("Reviewer removed"), "declare": N_("Impartiality declared"),
    "submit_review": N_("Review submitted"), "propose": N_("Decision proposed"), "approve": N_("Decision approved"),
    "release": N_("Decision sent"), "appeal": N_("Appeal lodged"), "uphold_appeal": N_("Appeal upheld"),
    "reverse_appeal": N_("Decision reversed on appeal"), "add_attachment": N_("Attachment added"),
    "remove_attachment": N_("Attachment removed"), "add_report_attachment": N_("Attachment added to the report"),
    "remove_report_attachment": N_("Attachment removed from the report"),
    "propose_claim": N_("Repayment claim proposed"), "approve_claim": N_("Repayment claim approved and sent"),
    "approve_report_with_claim": N_("Report approved with a repayment claim"),
    "withdraw_claim": N_("Repayment claim withdrawn"), "record_repayment": N_("Repayment received"),
    "cancel_decision": N_("Decision cancelled: the application was withdrawn"),
    "accept_grant": N_("Grant accepted by the municipality"), "decline": N_("Grant declined by the municipality"),
    "propose_payment": N_("Payment proposed"), "approve_payment": N_("Payment approved"),
    "pay": N_("Payment made"), "withdraw_payment": N_("Payment withdrawn"), "message": N_("Message written"),
    "add_supplement": N_("Document sent afterwards"), "fill_allocations": N_("Amounts set by rank"),
    "register": N_("User registered"), "confirm_email": N_("E-mail address confirmed"),
    "change_password": N_("Password changed"), "reset_password": N_("Password reset"),
    "create_staff_user": N_("User created"), "resend": N_("E-mail sent again"),
    "create_round": N_("Round created"), "update_round": N_("Round changed"),
    "change_deadline": N_("Deadline changed"), "publish": N_("Published"), "unpublish": N_("Publication withdrawn"),
    "invite": N_("Invitation sent"), "accept_invitation": N_("Invitation accepted with ID-porten"),
    "link_identity": N_("Sign-in with ID-porten or Ansattporten linked"),
    "set_organisation_number": N_("Organisation number recorded"),
    "enrol_second_factor": N_("Second factor set up"),
    "replace_second_factor": N_("Second factor moved to a new phone"),
    "use_recovery_code": N_("Recovery code used"), "regenerate_recovery_codes": N_("New recovery codes made"),
    "reset_second_factor": N_("Second factor reset by an administrator"),
}


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(60))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str | None]
    detail: Mapped[dict | None] = mapped_column(JSON)

    actor = relationship("User", lazy="joined")


def record(actor, obj, action, *, from_state=None, to_state=None, reason=None, **detail):
    """Add an audit entry for ``obj`` to the session (the caller commits)."""
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        object_type=obj.__tablename__,
        object_id=obj.id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        detail=detail or None,
    )
    db.session.add(entry)
    return entry


def entries_for(obj):
    return db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == obj.__tablename__, AuditEntry.object_id == obj.id)
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
