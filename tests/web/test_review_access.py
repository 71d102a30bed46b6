"""Every rule of access on IMDi's side tried through the forbidden path: kommune staff on every /saksbehandling URL,
reviewers on what is not theirs or after a conflict, one person proposing and approving, and the kommune before
release."""

import pytest
from sqlalchemy import select

from grants.accounts.models import Role
from grants.decisions import operations as decision_ops
from grants.decisions.models import Decision, DecisionState
from grants.extensions import db
from grants.review import operations as ops
from grants.review.models import Review
from grants.rounds.operations import set_criteria
from tests.factories import RoundFactory, UserFactory, municipal_user, submitted_application

CHECKS = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)


@pytest.fixture
def setting(app):
    caseworker = UserFactory(role=Role.caseworker)
    approver = UserFactory(role=Role.approver)
    reviewer = UserFactory(role=Role.reviewer)
    round_ = RoundFactory(appeals_allowed=True)
    set_criteria(round_, [{"code": "purpose", "weight": 1, "title_nb": "F", "title_nn": "F", "title_en": "P"}])
    application = submitted_application(round_)
    ops.formal_check(application, caseworker, checks=CHECKS, accept=True)
    decision = decision_ops.propose_decision(application, caseworker, outcome="granted", amount=100_000)
    appeal_application = submitted_application(round_)
    ops.formal_check(appeal_application, caseworker, checks=CHECKS, accept=True)
    db.session.commit()
    return dict(caseworker=caseworker, approver=approver, reviewer=reviewer, round=round_, application=application,
                decision=decision)


def review_urls(app, setting):
    """Every URL of reviewing and of the decisions under /saksbehandling (approval, release), with real ids
    filled in."""
    ids = {"round_id": setting["round"].id, "application_id": setting["application"].id,
           "decision_id": setting["decision"].id, "assignment_id": 1, "appeal_id": 1, "attachment_id": 1}
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("review.", "decisions.")) and rule.rule.startswith("/saksbehandling"):
            path = rule.rule
            for name, value in ids.items():
                path = path.replace(f"<int:{name}>", str(value))
            urls.append((path, sorted(rule.methods & {"GET", "POST"})))
    return urls


def test_kommune_staff_reach_no_saksbehandling_url(app, client, login_as, setting):
    staff = municipal_user(setting["application"].municipality.number)  # even the applicant itself
    db.session.commit()
    login_as(staff)
    urls = review_urls(app, setting)
    assert len(urls) >= 20
    for path, methods in urls:
        assert path.startswith("/saksbehandling"), path
        for method in methods:
            response = client.open(path, method=method, data={"reason": "x"})
            assert response.status_code == 403, (method, path)
    assert db.session.get(Decision, setting["decision"].id).state == DecisionState.proposed


def test_anonymous_users_are_sent_to_login(app, client, setting):
    for path, methods in review_urls(app, setting):
        response = client.open(path, method=methods[0])
        assert response.status_code == 302 and "/konto/logg-inn" in response.headers["Location"], path


def test_a_reviewer_reaches_only_what_is_assigned(client, login_as, setting):
    application = setting["application"]
    login_as(setting["reviewer"])
    base = f"/saksbehandling/soknader/{application.id}"
    for url in (base, base + "/habilitet", base + "/vurdering", base + "/soknad.pdf"):
        assert client.get(url).status_code in (403, 404), url
    assert client.post(base + "/habilitet", data={"conflict": "no"}).status_code in (403, 404)
    assert client.post(base + "/vurdering", data={"action": "submit"}).status_code in (403, 404)
    for url in ("/saksbehandling/", f"/saksbehandling/runder/{setting['round'].id}",
                f"/saksbehandling/runder/{setting['round'].id}/rangering"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/saksbehandling/vedtak/{setting['decision'].id}/godkjenn").status_code == 403
    assert application.reference not in client.get("/saksbehandling/mine").get_data(as_text=True)


def test_an_assigned_reviewer_reads_the_case_but_not_the_decision_or_the_history(client, login_as, setting):
    application = setting["application"]
    ops.assign(application, setting["reviewer"], setting["caseworker"])
    db.session.commit()
    login_as(setting["reviewer"])
    base = f"/saksbehandling/soknader/{application.id}"
    # Before the impartiality declaration: only the declaration page, which names the case and nothing more.
    assert client.get(base).status_code == 403 and client.get(base + "/soknad.pdf").status_code == 403
    declaration = client.get(base + "/habilitet").get_data(as_text=True)
    assert application.reference in declaration and f"{base}/vurdering" not in declaration
    assert client.post(base + "/habilitet", data={"conflict": "no"}).status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert application.reference in page
    assert 'id="decision"' not in page and 'id="history"' not in page and "formell-kontroll" not in page
    assert client.get(f"/saksbehandling/soknader/{application.id}/soknad.pdf").data.startswith(b"%PDF")
    assert client.post(f"/saksbehandling/soknader/{application.id}/vedtak",
                       data={"decision-outcome": "rejected"}).status_code == 403


def test_a_reviewer_with_a_conflict_cannot_score(client, login_as, setting):
    application, reviewer = setting["application"], setting["reviewer"]
    ops.assign(application, reviewer, setting["caseworker"])
    db.session.commit()
    login_as(reviewer)
    base = f"/saksbehandling/soknader/{application.id}"
    assert client.post(base + "/habilitet", data={"conflict": "yes", "reason": ""}).status_code == 422
    assert client.post(base + "/habilitet", data={"conflict": "yes", "reason": "Min søster leder prosjektet"}
                       ).status_code == 302
    criterion = setting["round"].criteria[0]
    assert client.get(base + "/vurdering").status_code == 403
    assert client.post(base + "/vurdering", data={f"score_{criterion.id}": "5", "recommendation": "grant",
                                                  "action": "submit"}).status_code == 403
    assert client.get(base).status_code == 403
    assert client.post(base + "/habilitet", data={"conflict": "no"}).status_code == 403  # no second chance
    assert db.session.scalar(select(Review)) is None


def test_one_person_cannot_propose_and_approve(client, login_as, setting):
    admin = UserFactory(role=Role.admin)  # may do both, but never on the same decision
    db.session.commit()
    application = setting["application"]
    login_as(admin)
    response = client.post(f"/saksbehandling/soknader/{application.id}/vedtak", data={
        "decision-outcome": "granted", "decision-amount": "50 000", "decision-letter_language": "nb"})
    assert response.status_code == 302
    own = db.session.scalar(select(Decision).where(Decision.proposed_by_id == admin.id))
    page = client.get(f"/saksbehandling/runder/{setting['round'].id}/godkjenning").get_data(as_text=True)
    assert f"/saksbehandling/vedtak/{own.id}/godkjenn" not in page
    assert client.post(f"/saksbehandling/vedtak/{own.id}/godkjenn").status_code == 403
    assert client.post(f"/saksbehandling/runder/{setting['round'].id}/godkjenning/alle").status_code == 302
    assert db.session.get(Decision, own.id).state == DecisionState.proposed


def test_a_caseworker_cannot_approve(client, login_as, setting):
    login_as(setting["caseworker"])
    assert client.post(f"/saksbehandling/vedtak/{setting['decision'].id}/godkjenn").status_code == 403


def test_the_kommune_sees_no_decision_before_release(client, login_as, setting):
    application, decision = setting["application"], setting["decision"]
    staff = municipal_user(application.municipality.number)
    db.session.commit()
    login_as(staff)
    for state in ("proposed", "approved"):
        if state == "approved":
            decision_ops.approve_decision(db.session.get(Decision, decision.id), setting["approver"])
            db.session.commit()
        page = client.get(f"/soknader/{application.id}/vedtak").get_data(as_text=True)
        assert "100\u00a0000" not in page and '<article class="letter' not in page
        assert f"/vedtak/{decision.id}.pdf" not in page
        assert client.get(f"/soknader/{application.id}/vedtak/{decision.id}.pdf").status_code == 404
        assert f"/soknader/{application.id}/vedtak" not in client.get(f"/soknader/{application.id}").get_data(
            as_text=True)
        assert client.post(f"/soknader/{application.id}/vedtak", data={"text": "Klage"}).status_code == 403


def test_another_kommune_reaches_no_decision(client, login_as, setting):
    application, decision = setting["application"], setting["decision"]
    decision_ops.approve_decision(decision, setting["approver"])
    decision_ops.release_round(setting["round"], setting["approver"])
    outsider = municipal_user("4601" if application.municipality.number != "4601" else "0301")
    db.session.commit()
    login_as(outsider)
    assert client.get(f"/soknader/{application.id}/vedtak").status_code == 404
    assert client.get(f"/soknader/{application.id}/vedtak/{decision.id}.pdf").status_code == 404
    assert client.post(f"/soknader/{application.id}/vedtak", data={"text": "x"}).status_code == 404


def test_a_decision_of_another_application_is_not_served_under_this_one(client, login_as, setting):
    application, decision = setting["application"], setting["decision"]
    decision_ops.approve_decision(decision, setting["approver"])
    decision_ops.release_round(setting["round"], setting["approver"])
    other = submitted_application(RoundFactory(), number="4601")
    staff = municipal_user("4601")
    db.session.commit()
    login_as(staff)
    assert client.get(f"/soknader/{other.id}/vedtak/{decision.id}.pdf").status_code == 404
    assert application.id != other.id


def test_a_reviewer_cannot_change_a_submitted_review(client, login_as, setting):
    application, reviewer = setting["application"], setting["reviewer"]
    ops.assign(application, reviewer, setting["caseworker"])
    ops.declare(application, reviewer, conflict=False)
    criterion = setting["round"].criteria[0]
    ops.save_review(application, reviewer, values={criterion.id: 5}, comments={}, recommendation="grant", submit=True)
    db.session.commit()
    login_as(reviewer)
    base = f"/saksbehandling/soknader/{application.id}/vurdering"
    assert 'name="action"' not in client.get(base).get_data(as_text=True)
    response = client.post(base, data={f"score_{criterion.id}": "1", "recommendation": "reject", "action": "draft"})
    assert response.status_code == 409
    assert db.session.scalar(select(Review)).recommendation == "grant"


def test_approving_asks_the_role_before_the_decision_exists(client, login_as, setting):
    """A kommune user learns nothing of which decision ids exist: 403 for a real one and for one that is not."""
    login_as(municipal_user(setting["application"].municipality.number))
    for decision_id in (setting["decision"].id, 999_999):
        assert client.post(f"/saksbehandling/vedtak/{decision_id}/godkjenn").status_code == 403
