"""The grant (tilsagn) after a released grant decision: made with the decision's reporting deadline, answered by
the lead kommune (accept with an account number that passes MOD11, or decline with a reason), seen by IMDi, and
reminded of through the outbox."""

from datetime import UTC, date, timedelta

from sqlalchemy import select

from grants.applications.models import Application, ApplicationPartner
from grants.applications.workflow import State
from grants.core.timeutil import now_utc, oslo_date
from grants.decisions import operations as decision_ops
from grants.extensions import db
from grants.followup.models import Grant, GrantState
from grants.notify.models import Notice
from grants.outcomes import tallies
from grants.reminders import grant_answer_reminders, report_reminders
from tests.factories import municipal_user
from tests.web.test_case_life import grant_approved

VALID = "8601 11 17947"      # passes MOD11
WRONG = "8601 11 17948"      # the last digit off by one


def released(round_, people, amount=300_000, number="0301", **kwargs):
    application, decision = grant_approved(round_, people, amount, number=number, **kwargs)
    decision_ops.release_round(round_, people["approver"])
    db.session.commit()
    return application, decision


def grant_of(application):
    return db.session.scalar(select(Grant).where(Grant.application_id == application.id))


def notices(kind):
    return db.session.scalars(select(Notice).where(Notice.kind == kind).order_by(Notice.id)).all()


def test_a_released_grant_decision_makes_its_grant_with_the_decisions_reporting_deadline(people, round_):
    round_.reporting_deadline, round_.acceptance_days = date(2027, 3, 1), 14
    application, decision = grant_approved(round_, people, 250_000)
    decision.reporting_deadline = date(2026, 12, 15)
    other, _ = grant_approved(round_, people, 100_000, number="4601")
    decision_ops.release_round(round_, people["approver"])
    db.session.commit()
    grant, plain = grant_of(application), grant_of(other)
    assert (grant.amount, grant.state, grant.decision_id) == (250_000, GrantState.offered, decision.id)
    assert grant.reporting_deadline == date(2026, 12, 15) and plain.reporting_deadline == date(2027, 3, 1)
    assert grant.answer_by == oslo_date(decision.released_at) + timedelta(days=14)
    # The decision's e-mail knows whether the round allows appeals, as its letter does.
    assert {n.context["appeals_allowed"] for n in notices("decision")} == {round_.appeals_allowed}


def test_the_kommune_accepts_with_an_account_number_that_passes_mod11(client, login_as, people, round_):
    application, _decision = released(round_, people)
    url = f"/soknader/{application.id}/tilsagn"
    login_as(people["staff"])
    page = client.get(url).get_data(as_text=True)
    assert "Ta imot tilskuddet" in page and "300" in page

    wrong = client.post(url, data={"accept-account": WRONG, "accept-confirms_conditions": "y"})
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "Sjekk sifrene" in text and 'id="error-summary"' in text
    assert WRONG in text  # what was typed is kept
    unconfirmed = client.post(url, data={"accept-account": VALID})
    assert unconfirmed.status_code == 422 and "Bekreft at kommunen godtar vilkårene" in unconfirmed.get_data(
        as_text=True)
    assert grant_of(application).state == GrantState.offered and notices("grant_accepted") == []

    done = client.post(url, data={"accept-account": VALID, "accept-confirms_conditions": "y"})
    assert done.status_code == 302
    grant = grant_of(application)
    assert (grant.state, grant.account_number, grant.answered_by_id) == (
        GrantState.accepted, "86011117947", people["staff"].id)
    assert [n.recipient_email for n in notices("grant_accepted")] == [people["staff"].email]
    shown = client.get(url).get_data(as_text=True)
    assert "8601.11.17947" in shown and "Ta imot tilskuddet" not in shown
    again = client.post(url, data={"accept-account": VALID, "accept-confirms_conditions": "y"})
    assert again.status_code == 403  # answered: nothing to answer any more


def test_declining_returns_the_money_to_the_budget_and_tells_imdi(client, login_as, people, round_):
    application, _decision = released(round_, people, amount=400_000)
    assert decision_ops.committed_amount(round_.id) == 400_000
    url = f"/soknader/{application.id}/tilsagn"
    login_as(people["staff"])
    empty = client.post(url, data={"answer": "decline", "decline-reason": "  "})
    assert empty.status_code == 422 and "Oppgi en begrunnelse" in empty.get_data(as_text=True)
    response = client.post(url, data={"answer": "decline", "decline-reason": "Prosjektleder har sluttet"})
    assert response.status_code == 302
    assert db.session.get(Application, application.id).state == State.declined
    assert grant_of(application).decline_reason == "Prosjektleder har sluttet"
    assert decision_ops.committed_amount(round_.id) == 0
    told = sorted(n.recipient_email for n in notices("grant_declined"))
    assert told == sorted([people["caseworker"].email, people["approver"].email])
    tally = tallies.for_round(round_.id)
    assert (tally.declined, tally.granted, tally.amount_granted, tally.received) == (1, 0, 0, 1)


def test_who_may_see_and_answer_a_grant(client, login_as, people, round_):
    application, _decision = released(round_, people)
    db.session.add(ApplicationPartner(application_id=application.id,
                                      municipality_id=municipal_user("4601").municipality_id))
    partner, stranger = municipal_user("4601"), municipal_user("5001")
    db.session.commit()
    url = f"/soknader/{application.id}/tilsagn"
    answer = {"accept-account": VALID, "accept-confirms_conditions": "y"}
    login_as(partner)
    assert client.get(url).status_code == 200 and client.post(url, data=answer).status_code == 403
    login_as(stranger)
    assert client.get(url).status_code == 404 and client.post(url, data=answer).status_code == 404
    login_as(people["caseworker"])
    assert "Ta imot tilskuddet" not in client.get(url).get_data(as_text=True)
    assert client.post(url, data=answer).status_code == 403
    overview = client.get(f"/saksbehandling/runder/{round_.id}/tilsagn").get_data(as_text=True)
    assert application.reference in overview and "Venter på svar fra kommunen" in overview
    login_as(people["staff"])
    assert client.get(f"/saksbehandling/runder/{round_.id}/tilsagn").status_code == 403
    assert grant_of(application).state == GrantState.offered


def test_the_kommunes_pages_lead_to_the_grant(client, login_as, people, round_):
    application, _decision = released(round_, people)
    login_as(people["staff"])
    for path in (f"/soknader/{application.id}", f"/soknader/{application.id}/vedtak"):
        assert f"/soknader/{application.id}/tilsagn" in client.get(path).get_data(as_text=True), path


def test_reminders_use_the_grants_own_dates(people, round_):
    round_.reporting_deadline = date(2027, 6, 1)
    application, decision = grant_approved(round_, people, 200_000)
    decision.reporting_deadline = date(2027, 2, 1)
    decision_ops.release_round(round_, people["approver"])
    db.session.commit()
    grant = grant_of(application)
    # The report: 30 days before the decision's deadline, not the round's.
    assert report_reminders(datetime_on(date(2027, 2, 1) - timedelta(days=30))) == 1
    assert report_reminders(datetime_on(date(2027, 6, 1) - timedelta(days=30))) == 0
    # The answer: seven days before the day to answer by, then the day after it; once each.
    assert grant_answer_reminders(datetime_on(grant.answer_by - timedelta(days=7))) == 1
    assert grant_answer_reminders(datetime_on(grant.answer_by - timedelta(days=7))) == 0
    assert grant_answer_reminders(datetime_on(grant.answer_by + timedelta(days=1))) == 1
    kinds = [n.kind for n in db.session.scalars(select(Notice).order_by(Notice.id))]
    assert kinds.count("grant_answer_reminder") == 1 and kinds.count("grant_answer_overdue") == 1
    grant.state, grant.account_number = GrantState.accepted, "86011117947"
    grant.answered_by_id, grant.answered_at = people["staff"].id, now_utc()
    db.session.commit()
    assert grant_answer_reminders(datetime_on(grant.answer_by + timedelta(days=1))) == 0


def datetime_on(day):
    """Noon UTC on ``day``: the same Oslo date."""
    from datetime import datetime

    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
