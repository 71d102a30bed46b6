"""The rules of IMDi's side on a real database: impartiality, four eyes, budget, release, appeals."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from grants.accounts.models import Role, User
from grants.applications.workflow import State
from grants.core.audit import AuditEntry
from grants.decisions import operations as decision_ops
from grants.decisions import permissions as decision_permissions
from grants.decisions.models import Decision, DecisionState, Outcome
from grants.errors import BudgetExceeded, InvalidTransition, NotPermitted, ValidationFailed
from grants.extensions import db
from grants.notify.models import Notice
from grants.review import operations as ops
from grants.review import permissions
from grants.review.models import AssignmentState
from grants.rounds.operations import set_criteria
from tests.factories import RoundFactory, UserFactory, municipal_user, submitted_application

CHECKS = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)


@pytest.fixture
def people(app):
    return {
        "caseworker": UserFactory(role=Role.caseworker, name="Saksbehandler"),
        "caseworker2": UserFactory(role=Role.caseworker, name="Saksbehandler 2"),
        "approver": UserFactory(role=Role.approver, name="Godkjenner"),
        "r1": UserFactory(role=Role.reviewer, name="R1"),
        "r2": UserFactory(role=Role.reviewer, name="R2"),
        "r3": UserFactory(role=Role.reviewer, name="R3"),
    }


@pytest.fixture
def round_(app, people):
    round_ = RoundFactory(budget=1_000_000, appeals_allowed=True)
    set_criteria(round_, [{"code": "purpose", "weight": 3, "title_nb": "F", "title_nn": "F", "title_en": "P"},
                          {"code": "transfer_value", "weight": 1, "title_nb": "O", "title_nn": "O", "title_en": "T"}])
    db.session.flush()
    for key in ("r1", "r2", "r3"):
        ops.add_round_reviewer(round_, people[key], people["caseworker"])
    db.session.commit()
    return round_


def in_review(round_, people, **kwargs):
    application = submitted_application(round_, **kwargs)
    ops.formal_check(application, people["caseworker"], checks=CHECKS, accept=True)
    return application


def test_formal_check_accepts_or_proposes_a_dismissal(round_, people):
    accepted = in_review(round_, people)
    assert accepted.state == State.in_review
    late = submitted_application(round_)
    ops.formal_check(late, people["caseworker"], checks=dict(CHECKS, in_time=False), accept=False,
                     reason_code="late", reason_text="Kom inn 20. februar.")
    assert late.state == State.submitted  # nothing happens to the kommune until release
    decision = decision_ops.current_decision(late)
    assert decision.outcome == Outcome.dismissed and decision.reasons["facts"] == "Kom inn 20. februar."
    with pytest.raises(ValidationFailed):
        ops.formal_check(submitted_application(round_), people["caseworker"], checks=CHECKS, accept=False)


def test_auto_assign_balances_and_skips_conflicts(round_, people):
    apps = [in_review(round_, people) for _ in range(3)]
    made = ops.auto_assign(round_, people["caseworker"], per_application=2)
    assert made == 6
    loads = db.session.execute(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "assign"))
    assert loads.scalar() == 6
    from grants.review.models import Assignment

    per_reviewer = dict(db.session.execute(select(Assignment.reviewer_id, func.count()).group_by(
        Assignment.reviewer_id)).all())
    assert sorted(per_reviewer.values()) == [2, 2, 2]
    assert all(len({a.reviewer_id for a in db.session.scalars(select(Assignment).where(
        Assignment.application_id == app.id))}) == 2 for app in apps)


def test_reviewer_declares_conflict_is_replaced_and_can_never_score(round_, people):
    application = in_review(round_, people)
    ops.assign(application, people["r1"], people["caseworker"])
    assert not permissions.can_score(application, people["r1"])  # must declare first
    _declaration, replacement = ops.declare(application, people["r1"], conflict=True, reason="Gift med prosjektleder")
    assert replacement is not None and replacement.id != people["r1"].id
    assert permissions.assignment_of(application, people["r1"]).state == AssignmentState.removed
    assert not permissions.can_score(application, people["r1"])
    with pytest.raises(NotPermitted):
        ops.assign(application, people["r1"], people["caseworker"])
    with pytest.raises(NotPermitted):
        ops.save_review(application, people["r1"], values={}, comments={})


def test_conflicted_caseworker_cannot_propose_and_conflicted_approver_cannot_approve(round_, people):
    application = in_review(round_, people)
    for key in ("caseworker2", "approver"):
        ops.assign(application, people[key], people["caseworker"])
        ops.declare(application, people[key], conflict=True, reason="Inhabil")
    assert not decision_permissions.can_propose(application, people["caseworker2"])
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome="granted", amount=100_000,
                                    purpose="Formål")
    assert not decision_permissions.can_approve(decision, people["approver"])
    with pytest.raises(NotPermitted):
        decision_ops.approve_decision(decision, people["approver"])


def test_scoring_draft_then_submit_and_visibility(round_, people):
    application = in_review(round_, people)
    for key in ("r1", "r2"):
        ops.assign(application, people[key], people["caseworker"])
        ops.declare(application, people[key], conflict=False)
    purpose, transfer = [c.id for c in round_.criteria]
    ops.save_review(application, people["r1"], values={purpose: 5}, comments={})  # a draft may be incomplete
    with pytest.raises(ValidationFailed):
        ops.save_review(application, people["r1"], values={purpose: 2, transfer: 5}, comments={},
                        recommendation="grant", submit=True)  # comment required at a low level
    assert not ops.can_see_other_reviews(application, people["r1"])
    review = ops.save_review(application, people["r1"], values={purpose: 2, transfer: 6},
                             comments={purpose: "Uklart formål"}, recommendation="unsure",
                             suggested_amount=200_000, submit=True)
    assert review.weighted_score == 3.0
    assert ops.can_see_other_reviews(application, people["r1"])
    assert not ops.can_see_other_reviews(application, people["r2"])
    with pytest.raises(InvalidTransition):
        ops.save_review(application, people["r1"], values={purpose: 6, transfer: 6}, comments={})


def test_four_eyes(round_, people):
    application = in_review(round_, people)
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome="granted", amount=100_000)
    approver_and_proposer = UserFactory(role=Role.admin)
    own = decision_ops.propose_decision(in_review(round_, people), approver_and_proposer, outcome="granted", amount=1)
    with pytest.raises(NotPermitted):
        decision_ops.approve_decision(own, approver_and_proposer)
    decision_ops.approve_decision(decision, people["approver"])
    assert decision.state == DecisionState.approved


def test_a_grant_never_exceeds_the_budget(round_, people):
    first = in_review(round_, people, amount_applied=700_000)
    second = in_review(round_, people, amount_applied=700_000)
    decision_ops.propose_decision(first, people["caseworker"], outcome="granted", amount=700_000)
    with pytest.raises(BudgetExceeded):
        decision_ops.propose_decision(second, people["caseworker"], outcome="granted", amount=300_001)
    decision_ops.propose_decision(second, people["caseworker"], outcome="granted", amount=300_000)
    with pytest.raises(ValidationFailed):
        decision_ops.propose_decision(second, people["caseworker"], outcome="granted", amount=700_001)


def test_release_changes_state_stores_letters_and_queues_notices(round_, people):
    granted = in_review(round_, people)
    rejected = in_review(round_, people)
    staff = municipal_user("0301", email="kommune@example.no")
    granted.submitted_by_id = staff.id
    d1 = decision_ops.propose_decision(granted, people["caseworker"], outcome="granted", amount=250_000,
                                       purpose="Kartlegging")
    d2 = decision_ops.propose_decision(rejected, people["caseworker"], outcome="rejected",
                              reasons={"rules": "Kriteriene", "facts": "Svak forankring", "considerations": "Andre"})
    assert granted.state == State.in_review  # held until release
    assert decision_ops.approve_all(round_, people["approver"]) == ([d1, d2], [])
    released, held = decision_ops.release_round(round_, people["approver"])
    assert {d.id for d in released} == {d1.id, d2.id} and held == []
    assert granted.state == State.granted and granted.amount_granted == 250_000
    assert rejected.state == State.rejected
    notice = db.session.scalar(select(Notice).where(Notice.kind == "decision", Notice.recipient_email == staff.email))
    assert notice.attachments == [{"type": "decision_letter", "decision_id": d1.id}]
    assert d1.letter_pdf is None and notice.next_attempt_at is None  # the notice waits for its letter ...
    db.session.commit()  # ... made once the release is committed (by the worker; here in this process)
    db.session.refresh(d1)
    db.session.refresh(notice)
    assert d1.letter_pdf.startswith(b"%PDF") and "Kartlegging" in d1.letter_html
    assert notice.next_attempt_at is not None and notice.state == "pending"


def test_appeal_within_three_weeks_reversal_goes_through_the_budget(round_, people):
    application = in_review(round_, people)
    staff = municipal_user("0301")
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome="rejected",
                                    reasons={"rules": "r", "facts": "f", "considerations": "c"})
    decision_ops.approve_decision(decision, people["approver"])
    decision_ops.release_round(round_, people["approver"])
    with pytest.raises(InvalidTransition):
        decision_ops.lodge_appeal(decision, staff, "Vi klager", at=decision.released_at + timedelta(weeks=3, seconds=1))
    appeal = decision_ops.lodge_appeal(decision, staff, "Vi klager", at=decision.released_at + timedelta(days=20))
    new = decision_ops.reverse_appeal(appeal, people["caseworker"], "Ny vurdering", outcome="granted", amount=200_000)
    decision_ops.approve_decision(new, people["approver"])
    decision_ops.release_round(round_, people["approver"])
    assert application.state == State.granted and decision.state == DecisionState.superseded


def test_appeal_upheld_goes_to_the_ministry(round_, people):
    application = in_review(round_, people)
    staff = municipal_user("0301")
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome="rejected",
                                    reasons={"rules": "r", "facts": "f", "considerations": "c"})
    decision_ops.approve_decision(decision, people["approver"])
    decision_ops.release_round(round_, people["approver"])
    appeal = decision_ops.lodge_appeal(decision, staff, "Vi klager")
    decision_ops.uphold_appeal(appeal, people["caseworker"], "Oversendt departementet")
    assert appeal.state == "upheld" and application.state == State.rejected


def _approve_in_thread(app, decision_id, approver_id, results, barrier):
    with app.app_context():
        decision = db.session.get(Decision, decision_id)
        approver = db.session.get(User, approver_id)
        db.session.commit()
        barrier.wait()
        try:
            decision_ops.approve_decision(decision, approver)
            db.session.commit()
            results.append("approved")
        except BudgetExceeded:
            db.session.rollback()
            results.append("over")
        finally:
            db.session.remove()


def test_many_approvals_in_parallel_never_exceed_a_tight_budget(app, round_, people, backend):
    """Proposals are made one by one while the budget is loose; then it is tightened and 12 approvers race."""
    round_.budget = 10_000_000
    apps = [in_review(round_, people, amount_applied=100_000) for _ in range(12)]
    decisions = [decision_ops.propose_decision(a, people["caseworker"], outcome="granted", amount=100_000)
                 for a in apps]
    approvers = [UserFactory(role=Role.approver) for _ in decisions]
    db.session.commit()
    # Tighten the budget beneath the proposals: only 5 grants of 100 000 fit in 550 000.
    round_.budget = 550_000
    db.session.commit()
    ids = [(d.id, a.id) for d, a in zip(decisions, approvers, strict=True)]
    db.session.commit()
    results, barrier = [], threading.Barrier(len(ids))
    threads = [threading.Thread(target=_approve_in_thread, args=(app, d, a, results, barrier)) for d, a in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    db.session.expire_all()
    approved = db.session.scalar(select(func.coalesce(func.sum(Decision.amount), 0)).where(
        Decision.state == DecisionState.approved))
    assert approved <= 550_000
    assert results.count("approved") == 5 and results.count("over") == 7


def test_a_letter_whose_hand_over_was_lost_is_made_by_the_beat_job_and_its_notice_then_goes(app, round_, people):
    from grants.decisions import letters
    from grants.decisions.tasks import make_missing_letters

    app.config["LETTERS_MADE_AT_COMMIT"] = False  # as in production: the worker makes the letters ...
    app.config["CELERY_BROKER_URL"] = app.extensions["celery"].conf.broker_url = "redis://127.0.0.1:9/0"  # ... gone
    application = in_review(round_, people)
    municipal_user("0301", email="kommune@example.no")
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome="granted", amount=100_000)
    decision_ops.approve_decision(decision, people["approver"])
    decision_ops.release_round(round_, people["approver"])
    db.session.commit()  # the hand-over to the broker fails: logged, nothing lost
    db.session.refresh(decision)
    assert decision.letter_pdf is None and letters.decisions_without_letters() == [decision.id]
    assert db.session.scalar(select(Notice.next_attempt_at).where(Notice.kind == "decision")) is None
    from grants.notify.delivery import claim, due_for_dispatch

    held = db.session.scalar(select(Notice.id).where(Notice.kind == "decision"))
    assert held not in due_for_dispatch()
    db.session.commit()  # claim works on a connection of its own
    assert claim(held) is None  # neither swept nor sent while held

    assert make_missing_letters.run() == 1  # what beat runs every OUTBOX_SWEEP_SECONDS
    db.session.expire_all()
    assert db.session.get(type(decision), decision.id).letter_pdf.startswith(b"%PDF")
    assert db.session.scalar(select(Notice.next_attempt_at).where(Notice.kind == "decision")) is not None
    assert letters.decisions_without_letters() == []
    assert held in due_for_dispatch()
    assert make_missing_letters.run() == 0


def test_a_letter_that_cannot_be_made_holds_back_only_its_own_notices(app, round_, people, monkeypatch):
    from grants.decisions import letters

    decisions = []
    for number in ("0301", "4601"):
        application = in_review(round_, people, number=number)
        municipal_user(number)
        decision = decision_ops.propose_decision(application, people["caseworker"], outcome="granted", amount=100_000)
        decision_ops.approve_decision(decision, people["approver"])
        decisions.append(decision)
    app.config["LETTERS_MADE_AT_COMMIT"] = False
    app.config["CELERY_BROKER_URL"] = app.extensions["celery"].conf.broker_url = "redis://127.0.0.1:9/0"
    decision_ops.release_round(round_, people["approver"])
    db.session.commit()
    broken, fine = (d.id for d in decisions)
    real = letters.store_letter

    def store(decision):
        if decision.id == broken:
            raise RuntimeError("a font is missing")
        return real(decision)

    monkeypatch.setattr(letters, "store_letter", store)
    assert letters.make_letters([broken, fine]) == 1
    db.session.expire_all()
    waiting = {d.id: d.letter_pdf is None for d in db.session.scalars(select(Decision))}
    assert waiting == {broken: True, fine: False}
    held = dict(db.session.execute(select(Notice.key, Notice.next_attempt_at).where(Notice.kind == "decision")).all())
    assert {key.split(":")[1]: at is None for key, at in held.items()} == {str(broken): True, str(fine): False}
    assert letters.decisions_without_letters() == [broken]  # the beat job tries it again
