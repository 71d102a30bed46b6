"""The figures of what followed the grants: where each grant's report stands, a round's follow-up for IMDi, the
paid amounts and report status per grantee on the published summary and in its open data, and the yearly results
page; the statements per page do not grow with the number of grants."""

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import select

from grants.applications.models import Application
from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.followup import figures, reports
from grants.followup import operations as ops
from grants.followup.figures import ReportStatus
from grants.followup.models import Grant
from grants.outcomes.publishing import publish
from tests.web.test_grants import VALID, grant_of, released
from tests.web.test_reports import pay

TODAY = oslo_date(now_utc())


def accepted(round_, people, number, amount=100_000, deadline_days=30, paid=True):
    application, _decision = released(round_, people, amount=amount, number=number)
    grant = grant_of(application)
    grant.reporting_deadline = TODAY + timedelta(days=deadline_days)
    staff = people.get(number) or people["staff"]
    ops.accept_grant(grant, staff, account=VALID, confirms_conditions=True)
    if paid:
        pay(grant, people, amount)
    db.session.commit()
    return grant


def kommune_staff(people, number):
    from tests.factories import municipal_user

    if number not in people:
        people[number] = municipal_user(number)
    return people[number]


def send(grant, person, participants=15, unused=0):
    report = reports.draft_for(grant, person)
    reports.submit(report, person, participants=participants, spending=[], own_contribution=0, unused=unused)
    return report


def world(round_, people):
    """One grant in each place a report can stand."""
    for number in ("0301", "4601", "5001", "1103", "4204", "3907"):
        kommune_staff(people, number)
    people["0301"] = people["staff"]
    g = {
        "due": accepted(round_, people, "0301"),
        "overdue": accepted(round_, people, "4601", deadline_days=-3),
        "received": accepted(round_, people, "5001"),
        "returned": accepted(round_, people, "1103"),
        "approved": accepted(round_, people, "4204", amount=200_000),
    }
    offered, _ = released(round_, people, amount=50_000, number="3907")
    g["awaiting_answer"] = grant_of(offered)
    send(g["received"], people["5001"], participants=12)
    send(g["returned"], people["1103"], participants=8)
    reports.return_for_changes(reports.latest_report(g["returned"]), people["caseworker"], "Mer om resultatene.",
                               TODAY + timedelta(days=10))
    send(g["approved"], people["4204"], participants=40)
    reports.approve(reports.latest_report(g["approved"]), people["caseworker"])
    db.session.commit()
    return g


def test_each_grant_has_where_its_report_stands_and_the_round_adds_them_up(people, round_):
    g = world(round_, people)
    statuses = {f.grant_id: f.report for f in figures.per_grant(round_.id)}
    assert statuses == {grant.id: ReportStatus(name) for name, grant in g.items()}
    # The day after a returned report's new date it is overdue again.
    later = {f.grant_id: f.report for f in figures.per_grant(round_.id, today=TODAY + timedelta(days=11))}
    assert later[g["returned"].id] == ReportStatus.overdue and later[g["due"].id] == ReportStatus.due

    total = figures.for_round(round_.id)
    assert (total.grants, total.awaiting_answer, total.accepted, total.declined) == (6, 1, 5, 0)
    assert total.paid == 600_000 and total.amount == 650_000
    assert total.reports == {ReportStatus.awaiting_answer: 1, ReportStatus.declined: 0, ReportStatus.due: 1,
                             ReportStatus.overdue: 1, ReportStatus.received: 1, ReportStatus.returned: 1,
                             ReportStatus.approved: 1}
    assert total.participants == 40  # only the approved report's: the others are not checked yet


def test_imdi_reads_the_rounds_follow_up(client, login_as, people, round_):
    world(round_, people)
    login_as(people["caseworker"])
    page = client.get(f"/saksbehandling/runder/{round_.id}/tilsagn").get_data(as_text=True)
    assert "Mottatt, venter på vurdering" in page and "Deltakere i de godkjente rapportene" in page
    assert "Rapport forsinket" in page and "Sendt tilbake for endringer" in page


def test_the_published_summary_and_its_open_data_carry_paid_amounts_and_report_status(client, people, round_):
    g = world(round_, people)
    round_.deadline_date = TODAY - timedelta(days=40)
    db.session.commit()
    summary = publish(round_, people["admin"])
    db.session.commit()
    page = client.get(f"/tildelinger/{round_.id}").get_data(as_text=True)
    assert "Utbetalinger og rapporter" in page and "Rapport" in page and "Forsinket" in page
    base = f"/tildelinger/{round_.id}/v/{summary.version}/tildelinger"
    rows = list(csv.DictReader(io.StringIO(client.get(base + ".csv").get_data(as_text=True).lstrip("\ufeff")),
                               delimiter=";"))
    by_reference = {row["reference"]: row for row in rows}
    approved = db.session.get(Application, g["approved"].application_id).reference
    assert by_reference[approved]["amount_paid"] == "200000" and by_reference[approved]["report_status"] == \
        "approved"
    data = json.loads(client.get(base + ".json").get_data(as_text=True))
    assert {grant["report_status"] for grant in data["grants"]} >= {"approved", "overdue", "received"}
    api = client.get(f"/api/v1/rounds/{round_.id}/summary").get_json()
    assert {g["reference"]: (g["amount_paid"], g["report_status"]) for g in api["grants"]}[approved] == (
        200_000, "approved")
    giving = json.loads(client.get(base + ".360giving.json").get_data(as_text=True))
    disbursed = {grant["id"]: grant["amountDisbursed"] for grant in giving["grants"]}
    assert disbursed[f"360G-imdi-{approved}"] == 200_000


def test_the_results_page_gathers_projects_participants_and_continuations(client, people, round_):
    world(round_, people)
    round_.deadline_date = TODAY - timedelta(days=40)
    db.session.commit()
    publish(round_, people["admin"])
    db.session.commit()
    results = figures.yearly_results({round_.id})
    assert len(results) == 1
    year = results[0]
    assert (year.projects, year.reports_sent, year.participants) == (6, 1, 40)
    page = client.get(f"/ordningen/{round_.scheme.slug}/resultater").get_data(as_text=True)
    assert "Resultater år for år" in page and str(round_.year) in page and ">40<" in page


def test_the_round_grants_page_costs_the_same_statements_for_one_grant_or_many(client, login_as, people, round_,
                                                                              count_queries):
    accepted(round_, people, "0301")
    login_as(people["caseworker"])
    url = f"/saksbehandling/runder/{round_.id}/tilsagn"
    client.get(url)
    with count_queries() as one:
        client.get(url)
    for number in ("4601", "5001", "1103", "4204", "3907", "3301", "5501"):
        kommune_staff(people, number)
        grant = accepted(round_, people, number)
        send(grant, people[number])
    db.session.commit()
    with count_queries() as many:
        client.get(url)
    assert db.session.scalar(select(Grant.id).where(Grant.round_id == round_.id).order_by(Grant.id.desc())) \
        and many.count == one.count
