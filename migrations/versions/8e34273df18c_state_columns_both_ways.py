"""state columns both ways: each state and the columns it needs, held by CHECK constraints in both directions

Revision ID: 8e34273df18c
Revises: 5a7d2e8c9b14
Create Date: 2026-12-01 09:00:00

A column that belongs to a state was required in that state but could be left set in another (a decision time on
an application still in review, an approver on a proposal). Now each such column is set in its state and only
there. Rows that break a new rule are first repaired from what the database itself records: a decision time from
the released decision (else the row's last change), an amount from the released grant, a handler from the new
decision or the audit log. A row no code ever wrote and nothing here can repair (a handled appeal with no trace of
who handled it) stops the upgrade with the constraint's name.
"""
from alembic import op


revision = '8e34273df18c'
down_revision = '5a7d2e8c9b14'
branch_labels = None
depends_on = None

GRANT_STATES = "('granted', 'reported', 'closed')"
DECIDED_STATES = "('granted', 'rejected', 'dismissed', 'reported', 'closed')"

APPLICATION_CHECKS = {
    'ck_applications_draft_not_received':
        "state != 'draft' OR (reference IS NULL AND received_at IS NULL AND submitted_by_id IS NULL)",
    'ck_applications_withdrawn_has_reason': "state != 'withdrawn' OR withdraw_reason IS NOT NULL",
    'ck_applications_only_withdrawn_has_withdrawal':
        "state = 'withdrawn' OR (withdrawn_at IS NULL AND withdraw_reason IS NULL)",
    'ck_applications_only_grants_have_amount': f"state IN {GRANT_STATES} OR amount_granted IS NULL",
    'ck_applications_decided_has_time': f"state NOT IN {DECIDED_STATES} OR decided_at IS NOT NULL",
    'ck_applications_only_decided_has_time': f"state IN {DECIDED_STATES} OR decided_at IS NULL",
}
DECISION_CHECKS = {
    'ck_decisions_proposed_not_approved': "state != 'proposed' OR approved_by_id IS NULL",
    'ck_decisions_approver_and_time_together':
        "(approved_by_id IS NULL AND approved_at IS NULL) OR (approved_by_id IS NOT NULL AND approved_at IS NOT NULL)",
    'ck_decisions_only_released_has_time': "state IN ('released', 'superseded') OR released_at IS NULL",
}
APPEAL_CHECKS = {
    'ck_appeals_lodged_not_handled': "state != 'lodged' OR handled_at IS NULL",
    'ck_appeals_handler_and_time_together':
        "(handled_by_id IS NULL AND handled_at IS NULL) OR (handled_by_id IS NOT NULL AND handled_at IS NOT NULL)",
    'ck_appeals_reversed_has_new_decision': "state != 'reversed' OR new_decision_id IS NOT NULL",
    'ck_appeals_only_reversed_has_new_decision': "state = 'reversed' OR new_decision_id IS NULL",
}
# Two rules that were one way and now cover a later state too: (name, before, after).
GRANTED_HAS_AMOUNT = ('ck_applications_granted_has_amount',
                      "state != 'granted' OR amount_granted IS NOT NULL",
                      f"state NOT IN {GRANT_STATES} OR amount_granted IS NOT NULL")
RELEASED_HAS_TIME = ('ck_decisions_released_has_time',
                     "state != 'released' OR released_at IS NOT NULL",
                     "state NOT IN ('released', 'superseded') OR released_at IS NOT NULL")

REPAIRS = (
    # Only a released (or since superseded) decision has a release time.
    "UPDATE decisions SET released_at = NULL "
    "WHERE state NOT IN ('released', 'superseded') AND released_at IS NOT NULL",
    # A proposal has no approval yet; an approver has a time (no later than the release, no earlier than the
    # proposal), and a time without an approver is dropped.
    "UPDATE decisions SET approved_by_id = NULL, approved_at = NULL "
    "WHERE state = 'proposed' AND (approved_by_id IS NOT NULL OR approved_at IS NOT NULL)",
    "UPDATE decisions SET approved_at = COALESCE(released_at, proposed_at) "
    "WHERE approved_by_id IS NOT NULL AND approved_at IS NULL",
    "UPDATE decisions SET approved_at = NULL WHERE approved_by_id IS NULL AND approved_at IS NOT NULL",
    # A superseded decision without its release time takes its approval time, else its proposal's.
    "UPDATE decisions SET released_at = COALESCE(approved_at, proposed_at) "
    "WHERE state = 'superseded' AND released_at IS NULL",
    # A lodged appeal is not handled yet.
    "UPDATE appeals SET handled_by_id = NULL, handled_at = NULL "
    "WHERE state = 'lodged' AND (handled_by_id IS NOT NULL OR handled_at IS NOT NULL)",
    # Only a reversal has a new decision: the one that supersedes the appealed decision.
    "UPDATE appeals SET new_decision_id = NULL WHERE state != 'reversed' AND new_decision_id IS NOT NULL",
    "UPDATE appeals SET new_decision_id = ("
    " SELECT MAX(d.id) FROM decisions d WHERE d.supersedes_id = appeals.decision_id) "
    "WHERE state = 'reversed' AND new_decision_id IS NULL",
    # A handled appeal names its handler: the one who proposed the new decision (a reversal), else the last actor
    # the audit log has for an appeal handled on that application.
    "UPDATE appeals SET handled_by_id = COALESCE("
    " (SELECT d.proposed_by_id FROM decisions d WHERE d.id = appeals.new_decision_id),"
    " (SELECT e.actor_id FROM audit_entries e WHERE e.object_type = 'applications'"
    "  AND e.object_id = appeals.application_id AND e.action IN ('uphold_appeal', 'reverse_appeal')"
    "  AND e.actor_id IS NOT NULL ORDER BY e.at DESC, e.id DESC LIMIT 1)) "
    "WHERE state != 'lodged' AND handled_by_id IS NULL",
    # A draft has not been received.
    "UPDATE applications SET reference = NULL, received_at = NULL, submitted_by_id = NULL "
    "WHERE state = 'draft' AND (reference IS NOT NULL OR received_at IS NOT NULL OR submitted_by_id IS NOT NULL)",
    # Only a withdrawn application keeps a withdrawal; one withdrawn without a reason says none was recorded.
    "UPDATE applications SET withdrawn_at = NULL, withdraw_reason = NULL "
    "WHERE state != 'withdrawn' AND (withdrawn_at IS NOT NULL OR withdraw_reason IS NOT NULL)",
    "UPDATE applications SET withdraw_reason = 'Ikke registrert.' "
    "WHERE state = 'withdrawn' AND withdraw_reason IS NULL",
    # Only a grant has an amount granted; a reported or closed grant takes its released decision's amount (0 if
    # there is none: what the tallies counted for it before).
    f"UPDATE applications SET amount_granted = NULL WHERE state NOT IN {GRANT_STATES} AND amount_granted IS NOT NULL",
    "UPDATE applications SET amount_granted = COALESCE(("
    " SELECT d.amount FROM decisions d WHERE d.application_id = applications.id AND d.outcome = 'granted'"
    " AND d.state = 'released' ORDER BY d.released_at DESC, d.id DESC LIMIT 1), 0) "
    "WHERE state IN ('reported', 'closed') AND amount_granted IS NULL",
    # Only a decided application has a decision time: its last released decision's, else its last change.
    f"UPDATE applications SET decided_at = NULL WHERE state NOT IN {DECIDED_STATES} AND decided_at IS NOT NULL",
    "UPDATE applications SET decided_at = COALESCE(("
    " SELECT MAX(d.released_at) FROM decisions d WHERE d.application_id = applications.id"
    " AND d.state IN ('released', 'superseded')), updated_at) "
    f"WHERE state IN {DECIDED_STATES} AND decided_at IS NULL",
)


def upgrade():
    for statement in REPAIRS:
        op.execute(statement)

    with op.batch_alter_table('applications', schema=None) as batch_op:
        name, _before, after = GRANTED_HAS_AMOUNT
        batch_op.drop_constraint(op.f(name), type_='check')
        batch_op.create_check_constraint(op.f(name), after)
        for name, condition in APPLICATION_CHECKS.items():
            batch_op.create_check_constraint(op.f(name), condition)

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        name, _before, after = RELEASED_HAS_TIME
        batch_op.drop_constraint(op.f(name), type_='check')
        batch_op.create_check_constraint(op.f(name), after)
        for name, condition in DECISION_CHECKS.items():
            batch_op.create_check_constraint(op.f(name), condition)

    with op.batch_alter_table('appeals', schema=None) as batch_op:
        for name, condition in APPEAL_CHECKS.items():
            batch_op.create_check_constraint(op.f(name), condition)


def downgrade():
    # The rules before were weaker than these: every row still keeps them, nothing to repair.
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        for name in APPEAL_CHECKS:
            batch_op.drop_constraint(op.f(name), type_='check')

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        for name in DECISION_CHECKS:
            batch_op.drop_constraint(op.f(name), type_='check')
        name, before, _after = RELEASED_HAS_TIME
        batch_op.drop_constraint(op.f(name), type_='check')
        batch_op.create_check_constraint(op.f(name), before)

    with op.batch_alter_table('applications', schema=None) as batch_op:
        for name in APPLICATION_CHECKS:
            batch_op.drop_constraint(op.f(name), type_='check')
        name, before, _after = GRANTED_HAS_AMOUNT
        batch_op.drop_constraint(op.f(name), type_='check')
        batch_op.create_check_constraint(op.f(name), before)
