"""The follow-up's pages cost the same number of SQL statements for a round with one grant and with 1,000: IMDi's
list of a round's grants, a grant's own pages, the published summary with its payments and reports, its open data,
and the yearly results. The 999 more are written in bulk (each an accepted grant on an application of its own,
some paid, some with a report sent)."""

from datetime import timedelta

from sqlalchemy import insert, select

from grants.accounts.models import Municipality
from grants.applications.models import Application
from grants.applications.workflow import State
from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.followup.models import Grant, GrantState, Payment, PaymentState, Report, ReportState
from grants.outcomes.publishing import publish
from tests.web.test_follow_up_figures import accepted, send

MORE = 999


def add_grants(round_, people, template):
    """MORE accepted grants on applications of their own (granted), like ``template``; every third paid in full,
    every fifth with a report sent."""
    now = now_utc()
    kommuner = db.session.scalars(select(Municipality.id).order_by(Municipality.id)).all()
    first = db.session.scalar(select(Application.id).order_by(Application.id.desc())) + 1
    db.session.execute(insert(Application), [
        {"id": first + i, "round_id": round_.id, "municipality_id": kommuner[i % len(kommuner)],
         "state": State.granted, "reference": f"{round_.reference_prefix}-S{i:05d}", "received_at": now,
         "decided_at": now, "amount_applied": 100_000, "amount_granted": 100_000, "title": f"Prosjekt {i}",
         "answers": {}, "version": 1, "channel": "portal", "created_at": now, "updated_at": now}
        for i in range(MORE)])
    db.session.execute(insert(Grant), [
        {"id": 10_000 + i, "application_id": first + i, "decision_id": template.decision_id, "round_id": round_.id,
         "amount": 100_000, "answer_by": template.answer_by, "state": GrantState.accepted, "answered_at": now,
         "answered_by_id": people["staff"].id, "account_number": "86011117947",
         "reporting_deadline": oslo_date(now) + timedelta(days=30 - i % 60), "created_at": now, "updated_at": now}
        for i in range(MORE)])
    db.session.execute(insert(Payment), [
        {"grant_id": 10_000 + i, "amount": 100_000, "account_number": "86011117947", "state": PaymentState.paid,
         "proposed_by_id": people["caseworker"].id, "approved_by_id": people["approver"].id, "approved_at": now,
         "paid_on": oslo_date(now), "created_at": now, "updated_at": now}
        for i in range(0, MORE, 3)])
    db.session.execute(insert(Report), [
        {"grant_id": 10_000 + i, "number": 1, "state": ReportState.submitted, "answers": {}, "version": 1,
         "participants": 12, "spent": 100_000, "own_contribution": 0, "unused": 0, "submitted_at": now,
         "submitted_by_id": people["staff"].id, "created_at": now, "updated_at": now}
        for i in range(0, MORE, 5)])
    db.session.commit()


def counts(client, count_queries, pages):
    found = {}
    for name, url in pages.items():
        assert client.get(url).status_code == 200, url  # warms what a running server has warm
        with count_queries() as counter:
            assert client.get(url).status_code == 200, url
        found[name] = counter.count
    return found


def test_the_follow_up_pages_cost_the_same_for_one_grant_and_for_a_thousand(client, login_as, people, round_,
                                                                           count_queries):
    grant = accepted(round_, people, "0301")
    send(grant, people["staff"])
    round_.deadline_date = oslo_date(now_utc()) - timedelta(days=40)
    db.session.commit()
    publish(round_, people["admin"])
    db.session.commit()
    public = {"summary v1": f"/tildelinger/{round_.id}/v/1",
              "summary csv": f"/tildelinger/{round_.id}/v/1/tildelinger.csv",
              "360giving": f"/tildelinger/{round_.id}/v/1/tildelinger.360giving.json",
              "results": f"/ordningen/{round_.scheme.slug}/resultater"}
    imdi = {"round grants": f"/saksbehandling/runder/{round_.id}/tilsagn",
            "grant": f"/saksbehandling/tilsagn/{grant.id}",
            "report": f"/saksbehandling/tilsagn/{grant.id}/rapport",
            "payment file": f"/saksbehandling/runder/{round_.id}/utbetalingsfil.csv"}
    kommune = {"grant": f"/soknader/{grant.application_id}/tilsagn",
               "report": f"/soknader/{grant.application_id}/rapport/1"}
    login_as(people["caseworker"])
    one = counts(client, count_queries, {**public, **imdi})
    login_as(people["staff"])
    one_kommune = counts(client, count_queries, kommune)

    add_grants(round_, people, grant)
    assert db.session.scalar(select(db.func.count()).select_from(Grant)) == MORE + 1
    login_as(people["caseworker"])
    assert counts(client, count_queries, {**public, **imdi}) == one
    login_as(people["staff"])
    assert counts(client, count_queries, kommune) == one_kommune
    page = client.get(f"/tildelinger/{round_.id}/v/1").get_data(as_text=True)
    assert page.count("<tr>") >= 2  # the published grant and its follow-up row
