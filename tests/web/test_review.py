"""IMDi's side through the web: formal check, assignment, impartiality, scoring, decision, approval, release, the
kommune's decision page and appeals; the inbox, registering, reviewers, ranking and approval pages."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from grants.accounts.models import Role
from grants.applications.models import Application
from grants.applications.workflow import State
from grants.core.timeutil import now_utc
from grants.decisions import operations as decision_ops
from grants.decisions.models import Allocation, Appeal, AppealState, Decision, DecisionState, Declaration, Outcome
from grants.extensions import db
from grants.review import operations as ops
from grants.review.models import Assignment, AssignmentState, Review, RoundReviewer
from tests.factories import UserFactory, submitted_application

NBSP = "\u00a0"
CHECKS = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)
CHECK_FORM = {f"check-{name}": "y" for name in CHECKS}


def case_url(application, suffix=""):
    return f"/saksbehandling/soknader/{application.id}{suffix}"


def in_review(round_, people, **kwargs):
    application = submitted_application(round_, **kwargs)
    ops.formal_check(application, people["caseworker"], checks=CHECKS, accept=True)
    return application


def score_form(round_, values, comments=None, action="submit", **extra):
    data = {"action": action, "recommendation": "grant", "suggested_amount": "", "comment": "Godt prosjekt"}
    for criterion, value in zip(round_.criteria, values, strict=True):
        data[f"score_{criterion.id}"] = str(value)
        data[f"comment_{criterion.id}"] = (comments or {}).get(criterion.code, "")
    data.update(extra)
    return data


# --- the whole path ------------------------------------------------------------------------------------------

def test_the_whole_path_from_formal_check_to_the_kommune_reading_its_letter(client, login_as, people, round_):
    application = submitted_application(round_, title="Kartlegging av diskriminering",
                                        submitted_by_id=people["staff"].id)
    db.session.commit()

    # The caseworker checks the application: the five checks are suggested, and accepted.
    login_as(people["caseworker"])
    page = client.get(case_url(application)).get_data(as_text=True)
    assert application.reference in page and "Kartlegging av diskriminering" in page
    assert re.search(r'name="check-in_time"[^>]*checked', page) or re.search(r'checked[^>]*name="check-in_time"', page)
    response = client.post(case_url(application, "/formell-kontroll"), data={**CHECK_FORM, "check-verdict": "accept",
                                                                             "check-letter_language": "nb"})
    assert response.status_code == 302
    assert db.session.get(Application, application.id).state == State.in_review

    # ... and assigns a reviewer from the round's pool.
    response = client.post(case_url(application, "/fagvurderere"), data={"assign-reviewer": str(people["r1"].id)})
    assert response.status_code == 302
    assert "Rita Fagvurderer" in client.get(case_url(application)).get_data(as_text=True)

    # The reviewer sees the assignment, declares no conflict, and scores.
    login_as(people["r1"])
    assert application.reference in client.get("/saksbehandling/mine").get_data(as_text=True)
    assert client.get(case_url(application, "/vurdering")).status_code == 403  # not before declaring
    response = client.post(case_url(application, "/habilitet"), data={"conflict": "no"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/vurdering")
    page = client.get(case_url(application, "/vurdering")).get_data(as_text=True)
    assert "Formål" in page and "Overføringsverdi" in page
    low = client.post(case_url(application, "/vurdering"), data=score_form(round_, [2, 5]))
    assert low.status_code == 422  # a comment is required at the two lowest levels
    purpose = round_.criteria[0]
    assert f'id="comment_{purpose.id}-error"' in low.get_data(as_text=True)
    draft = client.post(case_url(application, "/vurdering"), data=score_form(round_, [2, 5], action="draft"))
    assert draft.status_code == 302
    assert db.session.scalar(select(Review)).submitted_at is None
    submitted = client.post(case_url(application, "/vurdering"), data=score_form(
        round_, [2, 6], {"purpose": "Formålet er uklart"}, suggested_amount="300 000"))
    assert submitted.status_code == 302
    review = db.session.scalar(select(Review))
    assert review.is_submitted and review.weighted_score == 3.0 and review.suggested_amount == 300_000
    assert "Formålet er uklart" in client.get(case_url(application)).get_data(as_text=True)

    # The caseworker proposes a grant.
    login_as(people["caseworker"])
    page = client.get(case_url(application)).get_data(as_text=True)
    assert "3,00" in page and "Formålet er uklart" in page
    reviewer_row = next(r for r in page.split("<tr>") if "Rita Fagvurderer" in r)
    assert "Fagvurdering sendt inn" in reviewer_row and "Vurderer" not in reviewer_row
    response = client.post(case_url(application, "/vedtak"), data={
        "decision-outcome": "granted", "decision-amount": "300 000", "decision-purpose": "Kartlegging i Oslo",
        "decision-conditions": "Rapport med regnskap.", "decision-letter_language": "nb"})
    assert response.status_code == 302
    decision = db.session.scalar(select(Decision))
    assert (decision.state, decision.amount, decision.proposed_by_id) == (DecisionState.proposed, 300_000,
                                                                          people["caseworker"].id)

    # The kommune sees nothing of the proposal.
    login_as(people["staff"])
    page = client.get(f"/soknader/{application.id}/vedtak").get_data(as_text=True)
    assert "Kartlegging i Oslo" not in page and f"300{NBSP}000" not in page
    assert client.get(f"/soknader/{application.id}/vedtak/{decision.id}.pdf").status_code == 404

    # Another person approves, then releases.
    login_as(people["approver"])
    assert client.post(f"/saksbehandling/vedtak/{decision.id}/godkjenn").status_code == 302
    assert db.session.get(Decision, decision.id).state == DecisionState.approved
    login_as(people["staff"])
    assert "Kartlegging i Oslo" not in client.get(f"/soknader/{application.id}/vedtak").get_data(as_text=True)
    login_as(people["approver"])
    confirm = client.get(f"/saksbehandling/runder/{round_.id}/send-ut").get_data(as_text=True)
    assert application.reference in confirm
    assert client.post(f"/saksbehandling/runder/{round_.id}/send-ut").status_code == 302
    assert db.session.get(Application, application.id).state == State.granted
    # IMDi's case page leads to the letter as sent, as a page and as the PDF.
    page = client.get(case_url(application)).get_data(as_text=True)
    assert f'href="/soknader/{application.id}/vedtak"' in page
    assert f'href="/soknader/{application.id}/vedtak/{decision.id}.pdf"' in page

    # The kommune reads the letter and downloads it.
    login_as(people["staff"])
    overview = client.get(f"/soknader/{application.id}").get_data(as_text=True)
    assert f"/soknader/{application.id}/vedtak" in overview
    page = client.get(f"/soknader/{application.id}/vedtak").get_data(as_text=True)
    assert '<article class="letter' in page and 'lang="nb"' in page
    assert "Kartlegging i Oslo" in page and "Rapport med regnskap." in page and "innvilget" in page
    assert f"300{NBSP}000{NBSP}kr" in page and "Per Godkjenner" in page
    pdf = client.get(f"/soknader/{application.id}/vedtak/{decision.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"

    # Every step is in the case's history.
    login_as(people["caseworker"])
    history = client.get(case_url(application)).get_data(as_text=True).split('id="history"')[1]
    for name in ("Kari Saksbehandler", "Rita Fagvurderer", "Per Godkjenner"):
        assert name in history


def test_the_letter_is_escaped_user_text_on_the_kommunes_page(client, login_as, people, round_):
    application = in_review(round_, people)
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome="rejected", reasons={
        "rules": "Utlysningen punkt 3", "facts": "<script>alert(1)</script>", "considerations": "Svak forankring"})
    decision_ops.approve_decision(decision, people["approver"])
    decision_ops.release_round(round_, people["approver"])
    db.session.commit()
    login_as(people["staff"])
    page = client.get(f"/soknader/{application.id}/vedtak").get_data(as_text=True)
    assert "avslått" in page and "Utlysningen punkt 3" in page and "Svak forankring" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_a_kommune_appeals_within_three_weeks_and_imdi_reverses(client, login_as, people, round_):
    application = in_review(round_, people)
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome="rejected",
                                    reasons={"rules": "r", "facts": "f", "considerations": "c"})
    decision_ops.approve_decision(decision, people["approver"])
    decision_ops.release_round(round_, people["approver"])
    db.session.commit()

    login_as(people["staff"])
    page = client.get(f"/soknader/{application.id}/vedtak").get_data(as_text=True)
    assert 'name="text"' in page
    assert client.post(f"/soknader/{application.id}/vedtak", data={"text": "  "}).status_code == 422
    assert client.post(f"/soknader/{application.id}/vedtak", data={"text": "Vi klager"}).status_code == 302
    appeal = db.session.scalar(select(Appeal))
    assert appeal.text == "Vi klager" and appeal.state == AppealState.lodged
    assert client.post(f"/soknader/{application.id}/vedtak", data={"text": "Igjen"}).status_code == 403

    login_as(people["caseworker"])
    page = client.get(case_url(application)).get_data(as_text=True)
    assert "Vi klager" in page and f'name="reverse-{appeal.id}-outcome"' in page
    response = client.post(f"/saksbehandling/klager/{appeal.id}/omgjor", data={
        f"reverse-{appeal.id}-note": "Ny vurdering", f"reverse-{appeal.id}-outcome": "granted",
        f"reverse-{appeal.id}-amount": "200 000", f"reverse-{appeal.id}-letter_language": "nb"})
    assert response.status_code == 302
    new = db.session.scalar(select(Decision).where(Decision.id != decision.id))
    assert new.supersedes_id == decision.id and new.amount == 200_000

    login_as(people["staff"])  # the reversal is not the kommune's until it is approved and sent
    page = client.get(f"/soknader/{application.id}/vedtak").get_data(as_text=True)
    assert f"200{NBSP}000" not in page and "avslått" in page


def test_an_appeal_after_three_weeks_is_not_offered_or_taken(client, login_as, people, round_):
    application = in_review(round_, people)
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome="rejected",
                                    reasons={"rules": "r", "facts": "f", "considerations": "c"})
    decision_ops.approve_decision(decision, people["approver"])
    decision_ops.release_round(round_, people["approver"])
    decision.released_at = now_utc() - timedelta(weeks=3, minutes=1)
    db.session.commit()
    login_as(people["staff"])
    assert 'name="text"' not in client.get(f"/soknader/{application.id}/vedtak").get_data(as_text=True)
    assert client.post(f"/soknader/{application.id}/vedtak", data={"text": "For sent"}).status_code == 403


def test_an_appeal_can_be_upheld(client, login_as, people, round_):
    application = in_review(round_, people)
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome="rejected",
                                    reasons={"rules": "r", "facts": "f", "considerations": "c"})
    decision_ops.approve_decision(decision, people["approver"])
    decision_ops.release_round(round_, people["approver"])
    appeal = decision_ops.lodge_appeal(decision, people["staff"], "Vi klager")
    db.session.commit()
    login_as(people["caseworker"])
    response = client.post(f"/saksbehandling/klager/{appeal.id}/oppretthold",
                           data={f"uphold-{appeal.id}-note": "Oversendt departementet"})
    assert response.status_code == 302
    assert db.session.get(Appeal, appeal.id).state == AppealState.upheld
    assert client.post(f"/saksbehandling/klager/{appeal.id}/oppretthold", data={}).status_code == 409


# --- the case page's forms --------------------------------------------------------------------------------------

def test_a_dismissal_needs_a_reason_and_waits_for_approval(client, login_as, people, round_):
    application = submitted_application(round_)
    db.session.commit()
    login_as(people["caseworker"])
    response = client.post(case_url(application, "/formell-kontroll"), data={
        **CHECK_FORM, "check-in_time": "", "check-verdict": "dismiss", "check-letter_language": "nb"})
    assert response.status_code == 422
    assert 'href="#check-reason_code"' in response.get_data(as_text=True)
    response = client.post(case_url(application, "/formell-kontroll"), data={
        **{k: v for k, v in CHECK_FORM.items() if k != "check-in_time"}, "check-verdict": "dismiss",
        "check-reason_code": "late", "check-reason_text": "Kom inn etter fristen.", "check-letter_language": "nn"})
    assert response.status_code == 302
    application = db.session.get(Application, application.id)
    assert application.state == State.submitted
    decision = decision_ops.current_decision(application)
    assert decision.outcome == Outcome.dismissed and decision.reasons["facts"] == "Kom inn etter fristen."
    assert decision.letter_language == "nn"

    # Checked again (the approver disagreed): accepted, and the proposed dismissal is withdrawn.
    response = client.post(case_url(application, "/formell-kontroll"), data={**CHECK_FORM, "check-verdict": "accept",
                                                                             "check-letter_language": "nb"})
    assert response.status_code == 302
    assert db.session.get(Application, application.id).state == State.in_review
    assert db.session.get(Decision, decision.id).state == DecisionState.withdrawn


def test_a_nynorsk_kommune_gets_a_nynorsk_letter_whatever_is_chosen(client, login_as, people, round_):
    application = in_review(round_, people, number="4602")  # Kinn: nynorsk
    db.session.commit()
    login_as(people["caseworker"])
    page = client.get(case_url(application)).get_data(as_text=True)
    assert re.search(r'<option selected value="nn">|<option value="nn" selected>', page)
    client.post(case_url(application, "/vedtak"), data={"decision-outcome": "granted", "decision-amount": "100000",
                                                        "decision-letter_language": "nb"})
    assert db.session.scalar(select(Decision)).letter_language == "nn"


@pytest.mark.parametrize("data, field", [
    ({"decision-outcome": "granted", "decision-amount": ""}, "decision-amount"),
    ({"decision-outcome": "granted", "decision-amount": "500 000"}, "decision-amount"),  # above applied
    ({"decision-outcome": "granted", "decision-amount": "12,50"}, "decision-amount"),
    ({"decision-outcome": "rejected"}, "decision-reasons_rules"),
    ({}, "decision-outcome"),
])
def test_a_proposal_with_problems_is_refused_next_to_the_field(client, login_as, people, round_, data, field):
    application = in_review(round_, people, amount_applied=400_000)
    db.session.commit()
    login_as(people["caseworker"])
    response = client.post(case_url(application, "/vedtak"), data={"decision-letter_language": "nb", **data})
    assert response.status_code == 422
    assert f'href="#{field}"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Decision)) is None


def test_a_grant_above_what_remains_of_the_budget_is_refused(client, login_as, people, round_):
    first = in_review(round_, people, amount_applied=900_000)
    second = in_review(round_, people, amount_applied=400_000)
    decision_ops.propose_decision(first, people["caseworker"], outcome="granted", amount=900_000)
    db.session.commit()
    login_as(people["caseworker"])
    response = client.post(case_url(second, "/vedtak"), data={"decision-outcome": "granted",
                                                               "decision-amount": "100 001",
                                                               "decision-letter_language": "nb"})
    assert response.status_code == 422
    assert f"100{NBSP}000{NBSP}kr" in response.get_data(as_text=True)  # what remains


def test_a_caseworker_takes_a_reviewer_off(client, login_as, people, round_):
    application = in_review(round_, people)
    assignment = ops.assign(application, people["r2"], people["caseworker"])
    db.session.commit()
    login_as(people["caseworker"])
    response = client.post(case_url(application, f"/fagvurderere/{assignment.id}/fjern"))
    assert response.status_code == 302
    assert db.session.get(Assignment, assignment.id).state == AssignmentState.removed
    login_as(people["r2"])
    assert client.get(case_url(application)).status_code == 403


def test_a_reviewer_with_a_declared_conflict_cannot_be_assigned_again(client, login_as, people, round_):
    application = in_review(round_, people)
    ops.assign(application, people["r1"], people["caseworker"])
    ops.declare(application, people["r1"], conflict=True, reason="Nabo")
    db.session.commit()
    login_as(people["caseworker"])
    page = client.get(case_url(application)).get_data(as_text=True)
    assert "Nabo" in page
    response = client.post(case_url(application, "/fagvurderere"), data={"assign-reviewer": str(people["r1"].id)})
    assert response.status_code == 422


# --- round pages ---------------------------------------------------------------------------------------------------

def test_rounds_list_counts_the_applications(client, login_as, people, round_):
    in_review(round_, people)
    submitted_application(round_)
    db.session.commit()
    login_as(people["caseworker"])
    page = client.get("/saksbehandling/").get_data(as_text=True)
    assert round_.title_nb in page and f"/saksbehandling/runder/{round_.id}" in page
    row = page.split(f"/saksbehandling/runder/{round_.id}")[1].split("</tr>")[0]
    assert re.findall(r'class="numeric">(\d+)<', row) == ["2", "1", "1", "0", "0"]


def test_inbox_filters_sorts_and_shows_scores(client, login_as, people, round_):
    oslo = in_review(round_, people, amount_applied=100_000)
    kinn = in_review(round_, people, number="4602", amount_applied=300_000)
    waiting = submitted_application(round_, number="4601", amount_applied=200_000)
    for key, values in (("r1", {0: 6, 1: 6}), ("r2", {0: 3, 1: 3})):
        ops.assign(oslo, people[key], people["caseworker"])
        ops.declare(oslo, people[key], conflict=False)
        ops.save_review(oslo, people[key], values={round_.criteria[i].id: v for i, v in values.items()},
                        comments={}, recommendation="grant", submit=True)
    db.session.commit()
    login_as(people["caseworker"])
    base = f"/saksbehandling/runder/{round_.id}"
    page = client.get(base).get_data(as_text=True)
    assert all(a.reference in page for a in (oslo, kinn, waiting))
    assert "4,50 ± 3,00" in page and "Rita Fagvurderer" in page and 'data-color="warning"' in page  # Norwegian
    client.post("/sprak", data={"lang": "en", "next": base})
    assert "4.50 ± 3.00" in client.get(base).get_data(as_text=True)  # English writes a decimal point
    page = client.get(base + "?state=submitted").get_data(as_text=True)
    assert waiting.reference in page and oslo.reference not in page
    page = client.get(base + "?county=46").get_data(as_text=True)
    assert kinn.reference in page and waiting.reference in page and oslo.reference not in page
    page = client.get(base + "?sort=amount").get_data(as_text=True)
    assert page.index(kinn.reference) < page.index(waiting.reference) < page.index(oslo.reference)
    assert client.get(base + "?state=nonsense&sort=nonsense&side=x").status_code == 200


def test_inbox_runs_the_same_number_of_queries_for_3_and_60_applications(client, login_as, people, round_,
                                                                         count_queries):
    def add(n):
        for i in range(n):
            application = in_review(round_, people)
            ops.assign(application, people["r1" if i % 2 else "r2"], people["caseworker"])
        db.session.commit()

    login_as(people["caseworker"])
    url = f"/saksbehandling/runder/{round_.id}"
    add(3)  # commits: both requests begin a transaction of their own
    with count_queries() as few:
        assert client.get(url).status_code == 200
    add(57)
    with count_queries() as many:
        page = client.get(url).get_data(as_text=True)
    assert page.count("/saksbehandling/soknader/") == 25 and "side=3" in page
    assert few.count == many.count, "\n\n".join(few.statements + ["-----"] + many.statements)


def test_registering_an_application_received_by_post(client, login_as, people, round_):
    login_as(people["caseworker"])
    url = f"/saksbehandling/runder/{round_.id}/registrer"
    assert "0301" in client.get(url).get_data(as_text=True)
    bad = client.post(url, data={"municipality": "0301", "title": "", "amount_applied": "mange",
                                 "channel": "fax", "received_at": "i går"})
    assert bad.status_code == 422
    for field in ("title", "amount_applied", "channel", "received_at"):
        assert f'href="#{field}"' in bad.get_data(as_text=True)
    response = client.post(url, data={"municipality": "4601", "title": "Brev fra Bergen", "amount_applied": "250 000",
                                      "channel": "post", "received_at": "2025-02-18T14:30", "note": "Poststemplet"})
    assert response.status_code == 302
    application = db.session.scalar(select(Application).where(Application.title == "Brev fra Bergen"))
    assert application.state == State.submitted and application.amount_applied == 250_000
    assert application.received_at.isoformat().startswith("2025-02-18T13:30")  # 14:30 in Oslo is 13:30 UTC
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Poststemplet" in page and application.reference in page


def test_reviewers_pool_and_automatic_assignment(client, login_as, people, round_):
    apps = [in_review(round_, people) for _ in range(3)]
    extra = UserFactory(role=Role.reviewer, name="Nora Ny")
    db.session.commit()
    login_as(people["caseworker"])
    url = f"/saksbehandling/runder/{round_.id}/fagvurderere"
    assert "Nora Ny" in client.get(url).get_data(as_text=True)
    assert client.post(url, data={"pool-user": str(extra.id)}).status_code == 302
    assert db.session.scalar(select(RoundReviewer).where(RoundReviewer.round_id == round_.id,
                                                         RoundReviewer.user_id == extra.id)) is not None
    assert client.post(url + "/fordel", data={"auto-per_application": "0"}).status_code == 422
    assert client.post(url + "/fordel", data={"auto-per_application": "2"}).status_code == 302
    for application in apps:
        assert len(db.session.scalars(select(Assignment).where(Assignment.application_id == application.id)).all()) == 2
    page = client.get(url).get_data(as_text=True)
    assert "Nora Ny" in page


def test_ranking_fills_the_budget_and_saves_amounts_with_errors_per_row(client, login_as, people, round_):
    first = in_review(round_, people, amount_applied=600_000)
    second = in_review(round_, people, amount_applied=600_000)
    db.session.commit()
    login_as(people["caseworker"])
    url = f"/saksbehandling/runder/{round_.id}/rangering"
    page = client.get(url).get_data(as_text=True)
    assert first.reference in page and second.reference in page
    assert client.post(url + "/fyll").status_code == 302
    amounts = {a.application_id: a.amount for a in db.session.scalars(select(Allocation))}
    assert sorted(amounts.values()) == [400_000, 600_000]
    response = client.post(url, data={f"amount_{first.id}": "700 000", f"amount_{second.id}": "100 000"})
    assert response.status_code == 422
    assert f'id="amount_{first.id}-error"' in response.get_data(as_text=True)
    assert f'id="amount_{second.id}-error"' not in response.get_data(as_text=True)
    assert db.session.get(Allocation, second.id).amount != 100_000  # nothing saved
    response = client.post(url, data={f"amount_{first.id}": "500 000", f"amount_{second.id}": "100 000"})
    assert response.status_code == 302
    assert (db.session.get(Allocation, first.id).amount, db.session.get(Allocation, second.id).amount) == (
        500_000, 100_000)
    page = client.get(url).get_data(as_text=True)
    assert f"600{NBSP}000{NBSP}kr" in page and f"400{NBSP}000{NBSP}kr" in page  # total and what remains


def test_approvals_approve_all_that_the_approver_may_then_release(client, login_as, people, round_):
    a = in_review(round_, people)
    b = in_review(round_, people)
    decision_ops.propose_decision(a, people["caseworker"], outcome="granted", amount=100_000)
    decision_ops.propose_decision(b, people["admin"], outcome="rejected", reasons={"rules": "r", "facts": "f",
                                                                        "considerations": "c"})
    db.session.commit()
    login_as(people["admin"])  # an admin may approve, but never their own proposal
    url = f"/saksbehandling/runder/{round_.id}/godkjenning"
    page = client.get(url).get_data(as_text=True)
    assert a.reference in page and b.reference in page
    assert client.post(url + "/alle").status_code == 302
    states = {d.application_id: d.state for d in db.session.scalars(select(Decision))}
    assert states == {a.id: DecisionState.approved, b.id: DecisionState.proposed}
    assert client.post(f"/saksbehandling/runder/{round_.id}/send-ut").status_code == 302
    assert db.session.get(Application, a.id).state == State.granted
    assert db.session.get(Application, b.id).state == State.in_review


def test_approvals_page_runs_the_same_number_of_queries_for_2_and_10_proposals(client, login_as, people, round_,
                                                                              count_queries):
    def propose(n):
        made = []
        for i in range(n):
            application = in_review(round_, people)
            decision_ops.propose_decision(application, people["caseworker"], outcome="granted", amount=10_000 + i)
            made.append(application)
        db.session.commit()
        return made

    login_as(people["approver"])
    url = f"/saksbehandling/runder/{round_.id}/godkjenning"
    first = propose(2)
    with count_queries() as few:
        assert client.get(url).status_code == 200
    later = propose(8)
    # The approver declared a conflict on one of them: no approve button for it, and still no extra query.
    db.session.add(Declaration(application_id=later[3].id, user_id=people["approver"].id, conflict=True,
                               reason="Gift med prosjektlederen"))
    db.session.commit()
    with count_queries() as many:
        page = client.get(url).get_data(as_text=True)
    assert few.count == many.count, "\n\n".join(few.statements + ["-----"] + many.statements)
    for application in first + later:
        assert application.reference in page and application.municipality.name in page
    buttons = page.count("/godkjenn\"")
    assert buttons == 9, buttons
    conflicted = db.session.scalar(select(Decision).where(Decision.application_id == later[3].id))
    assert f"/vedtak/{conflicted.id}/godkjenn\"" not in page


def test_caseworkers_do_not_reach_the_approval_pages(client, login_as, people, round_):
    login_as(people["caseworker"])
    assert client.get(f"/saksbehandling/runder/{round_.id}/godkjenning").status_code == 403
    assert client.post(f"/saksbehandling/runder/{round_.id}/godkjenning/alle").status_code == 403
    assert client.post(f"/saksbehandling/runder/{round_.id}/send-ut").status_code == 403


def test_navigation_leads_each_role_to_its_pages(client, login_as, people):
    login_as(people["caseworker"])
    assert 'href="/saksbehandling/"' in client.get("/saksbehandling/").get_data(as_text=True)
    login_as(people["r1"])
    assert 'href="/saksbehandling/mine"' in client.get("/saksbehandling/mine").get_data(as_text=True)


def test_the_rounds_pages_link_to_its_figures_and_back(client, login_as, people, round_):
    login_as(people["caseworker"])
    inbox = client.get(f"/saksbehandling/runder/{round_.id}").get_data(as_text=True)
    assert f'href="/saksbehandling/runder/{round_.id}/tall"' in inbox
    figures = client.get(f"/saksbehandling/runder/{round_.id}/tall").get_data(as_text=True)
    assert f'href="/saksbehandling/runder/{round_.id}"' in figures and 'aria-current="page"' in figures
