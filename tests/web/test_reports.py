"""The report on a grant (rapport): the kommune writes it as a draft that is never lost, sends it with a receipt,
IMDi returns it for changes by a new date (the version kept, the reminders following the new date) or approves it,
which closes the case and frees the share held back."""

import io
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from grants.applications.models import Application, ApplicationPartner, CostLine
from grants.applications.workflow import State
from grants.core.timeutil import OSLO, now_utc, oslo_date
from grants.decisions.models import Declaration
from grants.errors import InvalidTransition
from grants.extensions import db
from grants.followup import operations as ops
from grants.followup import reports
from grants.followup.models import Grant, Report, ReportAttachment, ReportState
from grants.notify.models import Notice
from grants.reminders import report_reminders
from tests.factories import UserFactory, municipal_user, submitted_application
from tests.web.test_grants import VALID, grant_of, released

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pay(grant, people, amount):
    payment = ops.propose_payment(grant, people["caseworker"], amount)
    ops.approve_payment(payment, people["approver"])
    ops.mark_paid(payment, people["caseworker"], oslo_date(now_utc()))
    return payment


@pytest.fixture
def grant(people, round_):
    application, _decision = released(round_, people, amount=300_000)
    application = db.session.get(Application, application.id)
    for position, (description, amount) in enumerate((("Prosjektleder", 200_000), ("Kurs og samlinger", 150_000))):
        db.session.add(CostLine(application_id=application.id, position=position, category="staff",
                                description=description, amount=amount))
    grant = grant_of(application)
    ops.accept_grant(grant, people["staff"], account=VALID, confirms_conditions=True)
    pay(grant, people, 300_000)
    db.session.commit()
    return grant


def form(**changes):
    data = {"done": "Vi holdt seks kurs for ansatte.", "participants": "42", "results": "Alle kurs ble holdt.",
            "transfer_value": "Kursopplegget er delt med nabokommunene.", "spending-0": "190 000",
            "spending-1": "150 000", "own_contribution": "40 000", "unused": "0", "comments": "",
            "action": "submit"}
    data.update(changes)
    return data


def notices(kind):
    return db.session.scalars(select(Notice).where(Notice.kind == kind).order_by(Notice.id)).all()


def url(grant, tail=""):
    return f"/soknader/{grant.application_id}/rapport{tail}"


def test_a_report_is_drafted_sent_returned_written_again_and_approved(client, login_as, people, grant):
    login_as(people["staff"])
    page = client.get(url(grant)).get_data(as_text=True)
    assert "Rapport om tilskuddet" in page and "Prosjektleder (budsjett 200" in page

    # A draft keeps what was typed, valid or not.
    saved = client.post(url(grant), data=form(participants="førti", results="", action="save"))
    assert saved.status_code == 302
    draft = db.session.scalar(select(Report))
    assert (draft.state, draft.answers["participants"], draft.number) == (ReportState.draft, "førti", 1)
    again = client.get(url(grant)).get_data(as_text=True)
    assert "førti" in again and "Vi holdt seks kurs" in again

    # Sending an incomplete report: each error beside its field and in the summary, the draft kept.
    refused = client.post(url(grant), data=form(participants="førti", results=""))
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="error-summary"' in text and "Beskriv resultatene." in text
    assert "førti" in text and db.session.get(Report, draft.id).state == ReportState.draft

    # Unused funds above what was paid: refused beside the field.
    too_much = client.post(url(grant), data=form(unused="300 001"))
    assert too_much.status_code == 422 and "Ubrukte midler kan ikke være mer enn" in too_much.get_data(as_text=True)

    sent = client.post(url(grant), data=form())
    assert sent.status_code == 302 and sent.headers["Location"].endswith(url(grant, "/1"))
    report = db.session.get(Report, draft.id)
    assert (report.state, report.participants, report.spent, report.own_contribution, report.unused) == (
        ReportState.submitted, 42, 340_000, 40_000, 0)
    assert db.session.get(Application, grant.application_id).state == State.reported
    assert [n.recipient_email for n in notices("report_received")] == [people["staff"].email]
    assert [n.recipient_email for n in notices("report_submitted")] == [people["caseworker"].email]
    receipt = client.get(url(grant, "/1")).get_data(as_text=True)
    assert "Sendt, venter på IMDis vurdering" in receipt and "340" in receipt
    assert client.post(url(grant), data=form()).status_code == 403  # sent: nothing to write now

    # IMDi returns it for changes: the date may not be in the past, the message is kept when refused.
    login_as(people["caseworker"])
    assess = f"/saksbehandling/tilsagn/{grant.id}/rapport"
    assert "Send rapporten tilbake for endringer" in client.get(assess).get_data(as_text=True)
    yesterday = oslo_date(now_utc()) - timedelta(days=1)
    past = client.post(f"/saksbehandling/rapporter/{report.id}/returner",
                       data={"return-message": "Legg ved regnskapet.", "return-resubmit_by": yesterday.isoformat()})
    assert past.status_code == 422 and "Legg ved regnskapet." in past.get_data(as_text=True)
    new_date = oslo_date(now_utc()) + timedelta(days=20)
    returned = client.post(f"/saksbehandling/rapporter/{report.id}/returner",
                           data={"return-message": "Legg ved regnskapet.", "return-resubmit_by": new_date.isoformat()})
    assert returned.status_code == 302
    assert db.session.get(Report, report.id).state == ReportState.returned
    assert db.session.get(Application, grant.application_id).state == State.granted
    assert db.session.get(Grant, grant.id).reporting_deadline == new_date
    assert [n.context["assessment"] for n in notices("report_returned")] == ["Legg ved regnskapet."]

    # The kommune writes version 2 from where version 1 stood; version 1 is kept as it was sent.
    login_as(people["staff"])
    page = client.get(url(grant)).get_data(as_text=True)
    assert "Legg ved regnskapet." in page and "Vi holdt seks kurs" in page
    assert client.post(url(grant), data=form(done="Vi holdt seks kurs. Regnskapet er lagt ved.")).status_code == 302
    versions = reports.reports_of(db.session.get(Grant, grant.id))
    assert [(v.number, v.state) for v in versions] == [(1, ReportState.returned), (2, ReportState.submitted)]
    assert versions[0].answers["done"] == "Vi holdt seks kurs for ansatte."

    login_as(people["caseworker"])
    approved = client.post(f"/saksbehandling/rapporter/{versions[1].id}/godkjenn", data={"approve-note": "Takk."})
    assert approved.status_code == 302
    assert db.session.get(Report, versions[1].id).state == ReportState.approved
    assert db.session.get(Application, grant.application_id).state == State.closed
    assert [n.context["assessment"] for n in notices("report_approved")] == ["Takk."]
    # A second assessment of the same version finds it assessed.
    with pytest.raises(InvalidTransition):
        reports.approve(db.session.get(Report, versions[1].id), people["caseworker"])


def test_approving_the_report_frees_the_share_held_back(people, round_):
    round_.held_back_percent = 20
    application, _decision = released(round_, people, amount=100_000)
    grant = grant_of(application)
    ops.accept_grant(grant, people["staff"], account=VALID, confirms_conditions=True)
    pay(grant, people, 80_000)
    db.session.commit()
    assert ops.payable_now(grant) == 0
    report = reports.draft_for(grant, people["staff"])
    reports.submit(report, people["staff"], participants=12, spending=[], own_contribution=0, unused=0)
    reports.approve(report, people["caseworker"])
    db.session.commit()
    assert ops.payable_now(db.session.get(Grant, grant.id)) == 20_000


def test_a_report_is_written_only_on_an_accepted_grant(people, round_):
    application, _decision = released(round_, people)
    grant = grant_of(application)
    assert not reports.may_write(grant, people["staff"])  # offered: not yet accepted


def test_who_may_write_read_and_assess_a_report(client, login_as, people, grant):
    application = db.session.get(Application, grant.application_id)
    db.session.add(ApplicationPartner(application_id=application.id,
                                      municipality_id=municipal_user("4601").municipality_id))
    partner, stranger = municipal_user("4601"), municipal_user("5001")
    conflicted = UserFactory(role="caseworker", email="inhabil@imdi.example")
    db.session.add(Declaration(application_id=application.id, user_id=conflicted.id, conflict=True,
                               reason="Søsteren leder prosjektet"))
    db.session.commit()
    login_as(people["staff"])
    assert client.post(url(grant), data=form()).status_code == 302
    report = db.session.scalar(select(Report))

    for person, write, read in ((partner, 403, 302), (stranger, 404, 404), (people["caseworker"], 403, 302)):
        login_as(person)
        assert client.post(url(grant), data=form()).status_code == write
        assert client.get(url(grant)).status_code == read
        assert client.get(url(grant, "/1")).status_code == (200 if read == 302 else 404)
    assess = f"/saksbehandling/tilsagn/{grant.id}/rapport"
    approve = f"/saksbehandling/rapporter/{report.id}/godkjenn"
    for person, page, post in ((people["staff"], 403, 403), (people["r1"], 403, 403),
                               (people["approver"], 200, 403), (conflicted, 200, 403)):
        login_as(person)
        assert client.get(assess).status_code == page
        assert client.post(approve).status_code == post
        if page == 200:
            assert "Godkjenn rapporten" not in client.get(assess).get_data(as_text=True)
    assert db.session.get(Report, report.id).state == ReportState.submitted


def test_a_value_far_beyond_the_limit_is_refused_and_nothing_is_lost(client, login_as, people, grant):
    login_as(people["staff"])
    client.post(url(grant), data=form(action="save"))
    response = client.post(url(grant), data=form(done="x" * 20_001, action="save"))
    assert response.status_code == 422 and 'id="error-summary"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Report)).answers["done"] == "Vi holdt seks kurs for ansatte."
    over = client.post(url(grant), data=form(results="y" * 5_001))
    assert over.status_code == 422 and "Skriv høyst 5000 tegn." in over.get_data(as_text=True)
    assert db.session.scalar(select(Report)).answers["results"] == "y" * 5_001  # kept as a draft


def test_two_tabs_saving_the_same_draft_do_not_overwrite_each_other(client, login_as, people, grant):
    login_as(people["staff"])
    client.post(url(grant), data=form(action="save"))
    version = db.session.scalar(select(Report)).version
    assert client.post(url(grant), data=form(action="save", version=str(version), done="Fra fane 1")).status_code \
        == 302
    stale = client.post(url(grant), data=form(action="save", version=str(version), done="Fra fane 2"))
    assert stale.status_code == 409 and "Noen andre lagret rapporten" in stale.get_data(as_text=True)
    assert db.session.scalar(select(Report)).answers["done"] == "Fra fane 1"


def test_documents_go_with_the_draft_and_only_those_who_see_the_grant_read_them(client, login_as, people, grant):
    login_as(people["staff"])
    wrong = client.post(url(grant, "/vedlegg"), data={"file": (io.BytesIO(b"hello"), "regnskap.pdf")},
                        content_type="multipart/form-data")
    assert wrong.status_code == 422 and "PDF, DOCX, ODT eller XLSX" in wrong.get_data(as_text=True)
    added = client.post(url(grant, "/vedlegg"), data={"file": (io.BytesIO(PDF), "regnskap.pdf")},
                        content_type="multipart/form-data")
    assert added.status_code == 302
    attachment = db.session.scalar(select(ReportAttachment))
    assert attachment.original_name == "regnskap.pdf" and "regnskap.pdf" in client.get(url(grant)).get_data(
        as_text=True)
    download = client.get(f"/rapportvedlegg/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF and "attachment" in download.headers[
        "Content-Disposition"]
    login_as(municipal_user("5001"))
    assert client.get(f"/rapportvedlegg/{attachment.id}").status_code == 404
    login_as(people["caseworker"])  # nobody but the kommune reads a draft, its documents neither
    assert client.get(f"/rapportvedlegg/{attachment.id}").status_code == 404
    login_as(people["staff"])
    assert client.post(url(grant), data=form()).status_code == 302
    sent = client.get(url(grant, "/1")).get_data(as_text=True)
    assert "regnskap.pdf" in sent
    login_as(people["caseworker"])
    assert client.get(f"/rapportvedlegg/{attachment.id}").status_code == 200
    login_as(people["staff"])
    late = client.post(url(grant, "/vedlegg"), data={"file": (io.BytesIO(PDF), "mer.pdf")},
                       content_type="multipart/form-data")
    assert late.status_code == 403  # the version is sent
    assert client.post(url(grant, f"/vedlegg/{attachment.id}/slett")).status_code == 403


def test_a_removed_document_keeps_its_file_until_the_removal_is_committed(client, login_as, people, grant):
    login_as(people["staff"])
    client.post(url(grant, "/vedlegg"), data={"file": (io.BytesIO(PDF), "regnskap.pdf")},
                content_type="multipart/form-data")
    attachment = db.session.scalar(select(ReportAttachment))
    path, attachment_id = reports.files.path_of(attachment), attachment.id
    reports.remove_attachment(attachment, people["staff"])
    db.session.rollback()
    assert path.exists() and db.session.get(ReportAttachment, attachment_id) is not None
    assert client.post(url(grant, f"/vedlegg/{attachment_id}/slett")).status_code == 302
    db.session.expunge_all()
    assert not path.exists() and db.session.get(ReportAttachment, attachment_id) is None


def test_the_reminders_follow_the_new_date_of_a_returned_report(people, grant):
    report = reports.draft_for(grant, people["staff"])
    reports.submit(report, people["staff"], participants=12, spending=[190_000, 150_000], own_contribution=0,
                   unused=0)
    new_date = oslo_date(now_utc()) + timedelta(days=40)
    reports.return_for_changes(report, people["caseworker"], "Mer om resultatene.", new_date)
    db.session.commit()
    at = datetime.combine(new_date - timedelta(days=7), time(9), tzinfo=OSLO)
    assert report_reminders(at) == 1 and report_reminders(at) == 0
    reminder = notices("report_reminder")[-1]
    assert reminder.key == f"report_reminder:application={grant.application_id}:due={new_date}:days=7"


def test_no_report_page_for_a_case_without_a_grant(client, login_as, people, round_):
    application = submitted_application(round_)
    db.session.commit()
    login_as(people["staff"])
    assert client.get(f"/soknader/{application.id}/rapport").status_code == 404


def test_a_report_approved_with_a_repayment_claim_waits_for_a_second_person(client, login_as, people, grant):
    login_as(people["staff"])
    assert client.post(url(grant), data=form(**{"spending-1": "100 000", "unused": "50 000"})).status_code == 302
    report = db.session.scalar(select(Report))
    login_as(people["caseworker"])
    assess = f"/saksbehandling/tilsagn/{grant.id}/rapport"
    page = client.get(assess).get_data(as_text=True)
    assert 'value="50 000"' in page.replace("\xa0", " ")  # the unused funds reported, as the amount to claim
    approve = f"/saksbehandling/rapporter/{report.id}/godkjenn-med-krav"
    due = (oslo_date(now_utc()) + timedelta(days=30)).isoformat()
    too_much = client.post(approve, data={"claim-amount": "300 001", "claim-reason": "Ubrukte midler",
                                          "claim-due_on": due})
    assert too_much.status_code == 422 and "Ubrukte midler" in too_much.get_data(as_text=True)
    assert db.session.get(Report, report.id).state == ReportState.submitted  # nothing kept
    done = client.post(approve, data={"claim-amount": "50 000", "claim-reason": "Ubrukte midler",
                                      "claim-due_on": due, "claim-note": "Takk."})
    assert done.status_code == 302
    from grants.followup.models import ClaimState, RepaymentClaim

    claim = db.session.scalar(select(RepaymentClaim))
    assert (claim.state, claim.amount, claim.report_id) == (ClaimState.proposed, 50_000, report.id)
    assert db.session.get(Report, report.id).state == ReportState.approved
    # The case stays open, and the kommune hears nothing, until the claim is settled.
    assert db.session.get(Application, grant.application_id).state == State.reported
    assert notices("report_approved") == []
    from grants.followup import repayments

    claim = repayments.approve_claim(claim, people["approver"])
    repayments.record_repayment(claim, people["caseworker"], amount=20_000, received_on=oslo_date(now_utc()))
    assert db.session.get(Application, grant.application_id).state == State.reported
    repayments.record_repayment(claim, people["caseworker"], amount=30_000, received_on=oslo_date(now_utc()))
    db.session.commit()
    assert db.session.get(Application, grant.application_id).state == State.closed
    assert [n.recipient_email for n in notices("report_approved")] == [people["staff"].email]


def test_a_withdrawn_claim_lets_the_case_close(people, grant):
    from grants.followup import repayments

    report = reports.draft_for(grant, people["staff"])
    reports.submit(report, people["staff"], participants=12, spending=[190_000, 150_000], own_contribution=0,
                   unused=10_000)
    claim = reports.approve_with_claim(report, people["caseworker"], amount=10_000, reason="Ubrukt",
                                       due_on=oslo_date(now_utc()) + timedelta(days=30))
    assert db.session.get(Application, grant.application_id).state == State.reported
    repayments.withdraw_claim(claim, people["caseworker"])
    db.session.commit()
    assert db.session.get(Application, grant.application_id).state == State.closed


def test_uploading_a_document_keeps_what_was_typed_and_not_sent(client, login_as, people, grant):
    login_as(people["staff"])
    typed = form(done="Skrevet, ikke lagret", action=None)
    del typed["action"]
    refused = client.post(url(grant, "/vedlegg"), data={**typed, "file": (io.BytesIO(b"hello"), "regnskap.pdf")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and "Skrevet, ikke lagret" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Report)).answers["done"] == "Skrevet, ikke lagret"
    attachment_id = None
    added = client.post(url(grant, "/vedlegg"), data={**typed, "results": "Mer tekst",
                                                      "file": (io.BytesIO(PDF), "regnskap.pdf")},
                        content_type="multipart/form-data")
    assert added.status_code == 302 and db.session.scalar(select(Report)).answers["results"] == "Mer tekst"
    attachment_id = db.session.scalar(select(ReportAttachment.id))
    removed = client.post(url(grant, f"/vedlegg/{attachment_id}/slett"), data={**typed, "results": "Enda mer"})
    assert removed.status_code == 302
    db.session.expunge_all()
    assert db.session.scalar(select(Report)).answers["results"] == "Enda mer"
    assert db.session.get(ReportAttachment, attachment_id) is None
