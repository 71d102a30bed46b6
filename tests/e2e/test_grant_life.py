"""The life of a grant after its decision, in the browser, each person in a browser of their own: the kommune
accepts the grant (an account number that fails MOD11 first), a caseworker proposes the payment, an approver
approves it, the caseworker records it paid; the kommune writes its report (saved as a draft, sent once with a
field missing, then whole); the caseworker returns it for changes; the kommune follows the link in the e-mail and
sends version 2; the caseworker approves it and the case is closed. A second test takes a report with unused funds
to a repayment claim: approved with the claim, the claim approved by a second person, its letter read by the
kommune in nynorsk, and the repayment recorded in two parts. The e-mails go to a real SMTP server, and
axe-core runs on every page of the follow-up on the way and on its error states, then on each of them in nynorsk
and English.

As in the other browser tests, controls are found through their labels and buttons by their forms; assertions are
on data, addresses and the e-mails' headers.
"""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from grants.applications.models import Application, CostLine
from grants.applications.workflow import State
from grants.core.timeutil import now_utc, oslo_date
from grants.decisions import operations as decision_ops
from grants.decisions.models import Outcome
from grants.extensions import db
from grants.followup.models import (
    ClaimState,
    Grant,
    GrantState,
    Payment,
    PaymentState,
    RepaymentClaim,
    Report,
    ReportState,
)
from grants.review import operations as review_ops
from tests.e2e import test_whole_path as whole_path
from tests.e2e.conftest import settle
from tests.e2e.support import LANGUAGES, click_through, fill_section, navigate, path, switch_language
from tests.e2e.test_apply import expect_error_summary
from tests.e2e.test_whole_path import (
    CHECKS,
    assert_in_language,
    imdi_people,
    log_in_as,
    look,
    pdf_attachments,
    text_of,
)
from tests.factories import RoundFactory, municipal_user, submitted_application

pytestmark = pytest.mark.e2e

# The whole path's fixtures: a browser per person, and the SMTP server with the worker's part.
browse, mailbox = whole_path.browse, whole_path.mailbox

KOMMUNE = "4601"
ACCOUNT = "8601 11 17947"   # passes MOD11
WRONG = "8601 11 17948"     # the last digit off by one
AMOUNT = 300_000


@pytest.fixture
def granted(app):
    """A released grant to Bergen, with a budget of two lines; the people of both sides."""
    people = imdi_people()
    people["kommune"] = municipal_user(KOMMUNE, name="Kari Kommune", email="kari@bergen.kommune.example")
    round_ = RoundFactory(year=2025, budget=2_000_000, reporting_deadline=oslo_date(now_utc()) + timedelta(days=90))
    application = submitted_application(round_, KOMMUNE, submitted_by_id=people["kommune"].id, title="Mangfold i "
                                        "Bergen")
    for position, (description, amount) in enumerate((("Prosjektleder", 250_000), ("Kurs", 150_000))):
        db.session.add(CostLine(application_id=application.id, position=position, category="staff",
                                description=description, amount=amount))
    review_ops.formal_check(application, people["caseworker"], checks=CHECKS, accept=True)
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome=Outcome.granted,
                                             amount=AMOUNT)
    decision_ops.approve_decision(decision, people["approver"])
    decision_ops.release_round(round_, people["approver"])
    db.session.commit()
    grant = db.session.scalar(select(Grant).where(Grant.application_id == application.id))
    scene = {"application": application.id, "grant": grant.id, "round": round_.id,
             **{key: person.email for key, person in people.items()}}
    settle()
    return scene


def press(page, selector):
    """Press a button that posts a form; the page that follows must answer 200 or 422 (a form with errors)."""
    response = click_through(page, selector)
    assert response.status in (200, 422), f"{selector}: {response.status} at {page.url}"
    return response


def link_in(message, pattern):
    found = re.search(r"https?://\S+" + pattern, text_of(message))
    assert found, text_of(message)
    return found.group(0)


def test_a_grant_from_acceptance_through_payment_and_a_returned_report_to_its_approval(
        app, granted, browse, axe, mailbox):
    application_id, grant_id = granted["application"], granted["grant"]
    mailbox.deliver()  # the decision's notices, before the grant's own

    # 1. The kommune accepts the grant: a wrong account number first, kept and shown beside its field.
    kommune = browse()
    log_in_as(kommune, granted["kommune"])
    kommune.goto(f"/soknader/{application_id}/tilsagn")
    look(kommune, axe, "the grant, waiting for an answer")
    fill_section(kommune, {"accept-account": WRONG, "accept-confirms_conditions": "y"})
    assert press(kommune, "form:has(input[name=answer][value=accept]) button[type=submit]").status == 422
    expect_error_summary(kommune, "accept-account")
    look(kommune, axe, "the grant with a wrong account number")
    fill_section(kommune, {"accept-account": ACCOUNT, "accept-confirms_conditions": "y"})
    press(kommune, "form:has(input[name=answer][value=accept]) button[type=submit]")
    assert db.session.get(Grant, grant_id).state == GrantState.accepted
    settle()
    look(kommune, axe, "the grant, accepted")
    mailbox.deliver()
    assert_in_language(app, mailbox.one("grant_accepted", granted["kommune"]), "grant_accepted", "nb",
                       reference=db.session.get(Application, application_id).reference)
    settle()

    # 2. A caseworker proposes the payment; an approver approves it; the caseworker records it paid.
    caseworker = browse()
    log_in_as(caseworker, granted["caseworker"])
    caseworker.goto(f"/saksbehandling/runder/{granted['round']}/tilsagn")
    look(caseworker, axe, "the round's grants")
    caseworker.goto(f"/saksbehandling/tilsagn/{grant_id}")
    look(caseworker, axe, "IMDi's page of the grant")
    fill_section(caseworker, {"payment-amount": "300 001"})
    assert press(caseworker, "form[action$='/utbetalinger'] button[type=submit]").status == 422
    look(caseworker, axe, "a payment above what can be paid")
    fill_section(caseworker, {"payment-amount": "300 000"})
    press(caseworker, "form[action$='/utbetalinger'] button[type=submit]")
    payment_id = db.session.scalar(select(Payment.id).where(Payment.grant_id == grant_id))
    settle()
    approver = browse()
    log_in_as(approver, granted["approver"])
    approver.goto(f"/saksbehandling/tilsagn/{grant_id}")
    press(approver, f"form[action$='/utbetalinger/{payment_id}/godkjenn'] button[type=submit]")
    caseworker.goto(f"/saksbehandling/tilsagn/{grant_id}")
    fill_section(caseworker, {f"paid-{payment_id}-paid_on": oslo_date(now_utc()).isoformat()})
    press(caseworker, f"form[action$='/utbetalinger/{payment_id}/betalt'] button[type=submit]")
    settle()
    assert db.session.get(Payment, payment_id).state == PaymentState.paid
    settle()
    mailbox.deliver()
    mailbox.one("payment_made", granted["kommune"])

    # 3. The kommune writes its report: a draft first, then sent with a field missing, then whole.
    kommune.goto(f"/soknader/{application_id}/tilsagn")
    click_through(kommune, f"a[href$='/soknader/{application_id}/rapport']")
    look(kommune, axe, "the report, empty")
    fill_section(kommune, {"done": "Vi holdt seks kurs for ansatte i Bergen kommune.", "participants": "42"})
    # Enter in a field saves the draft (the form's first button), never sends the report.
    assert navigate(kommune, lambda: kommune.locator("#participants").press("Enter")).status == 200
    report = db.session.scalar(select(Report))
    assert (report.answers["participants"], report.state) == ("42", ReportState.draft)
    settle()
    look(kommune, axe, "the report, a draft saved")
    fill_section(kommune, {"transfer_value": "Kursopplegget er delt med nabokommunene.", "spending-0": "250 000",
                           "spending-1": "140 000", "own_contribution": "50 000", "unused": "10 000"})
    assert press(kommune, "button[name=action][value=submit]").status == 422
    expect_error_summary(kommune, "results")
    look(kommune, axe, "the report sent with a field missing")
    fill_section(kommune, {"results": "Alle seks kurs ble holdt; 42 ansatte deltok."})
    press(kommune, "button[name=action][value=submit]")
    assert path(kommune) == f"/soknader/{application_id}/rapport/1"
    look(kommune, axe, "the report as sent (the receipt)")
    assert db.session.get(Application, application_id).state == State.reported
    settle()
    mailbox.deliver()
    mailbox.one("report_received", granted["kommune"])
    submitted = mailbox.one("report_submitted", granted["caseworker"])

    # 4. The caseworker opens the report from the e-mail and returns it for changes.
    caseworker.goto(link_in(submitted, rf"/saksbehandling/tilsagn/{grant_id}/rapport"))
    look(caseworker, axe, "the report to assess")
    fill_section(caseworker, {"return-message": "Legg ved prosjektregnskapet.",
                              "return-resubmit_by": (oslo_date(now_utc()) - timedelta(days=1)).isoformat()})
    assert press(caseworker, "form[action$='/returner'] button[type=submit]").status == 422
    look(caseworker, axe, "returning with a date in the past")
    fill_section(caseworker, {"return-resubmit_by": (oslo_date(now_utc()) + timedelta(days=14)).isoformat()})
    press(caseworker, "form[action$='/returner'] button[type=submit]")
    assert db.session.scalar(select(Report)).state == ReportState.returned
    settle()
    mailbox.deliver()
    returned = mailbox.one("report_returned", granted["kommune"])
    assert "Legg ved prosjektregnskapet." in text_of(returned)

    # 5. The kommune follows the e-mail's link, changes the report and sends version 2.
    kommune.goto(link_in(returned, rf"/soknader/{application_id}/rapport"))
    look(kommune, axe, "the report returned for changes")
    fill_section(kommune, {"done": "Vi holdt seks kurs for ansatte. Prosjektregnskapet følger som vedlegg."})
    press(kommune, "button[name=action][value=submit]")
    assert path(kommune) == f"/soknader/{application_id}/rapport/2"

    # 6. The caseworker approves version 2: the case is closed, the kommune told.
    caseworker.goto(f"/saksbehandling/tilsagn/{grant_id}/rapport")
    fill_section(caseworker, {"approve-note": "Takk for rapporten."})
    press(caseworker, "form[action$='/godkjenn'] button[type=submit]")
    settle()
    assert [r.state for r in db.session.scalars(select(Report).order_by(Report.number))] == [
        ReportState.returned, ReportState.approved]
    settle()
    assert db.session.get(Application, application_id).state == State.closed
    settle()
    mailbox.deliver()
    mailbox.one("report_approved", granted["kommune"])
    look(caseworker, axe, "the report approved")

    # 7. Every page of the follow-up in nynorsk and English as well.
    for lang in LANGUAGES[1:]:
        for page, address in ((kommune, f"/soknader/{application_id}/tilsagn"),
                              (kommune, f"/soknader/{application_id}/rapport/1"),
                              (kommune, f"/soknader/{application_id}/rapport/2"),
                              (caseworker, f"/saksbehandling/runder/{granted['round']}/tilsagn"),
                              (caseworker, f"/saksbehandling/tilsagn/{grant_id}"),
                              (caseworker, f"/saksbehandling/tilsagn/{grant_id}/rapport")):
            page.goto(address)
            if page.evaluate("document.documentElement.lang") != lang:
                switch_language(page, lang)
            look(page, axe, f"{address} in {lang}", lang)


@pytest.fixture
def reported(granted):
    """The grant accepted and paid, its report sent with 50,000 kroner unused; the kommune's staff member reads the
    pages in nynorsk."""
    from grants.accounts.models import User
    from grants.followup import operations as followup_ops
    from grants.followup import reports

    grant = db.session.get(Grant, granted["grant"])
    kommune = db.session.scalar(select(User).where(User.email == granted["kommune"]))
    caseworker = db.session.scalar(select(User).where(User.email == granted["caseworker"]))
    approver = db.session.scalar(select(User).where(User.email == granted["approver"]))
    kommune.language = "nn"
    followup_ops.accept_grant(grant, kommune, account=ACCOUNT, confirms_conditions=True)
    payment = followup_ops.propose_payment(grant, caseworker, AMOUNT)
    followup_ops.approve_payment(payment, approver)
    followup_ops.mark_paid(payment, caseworker, oslo_date(now_utc()))
    report = reports.draft_for(grant, kommune)
    reports.submit(report, kommune, participants=30, spending=[250_000, 100_000], own_contribution=100_000,
                   unused=50_000)
    db.session.commit()
    scene = dict(granted, report=report.id)
    settle()
    return scene


def test_a_report_with_unused_funds_to_a_claim_approved_sent_and_repaid(app, reported, browse, axe, mailbox):
    application_id, grant_id = reported["application"], reported["grant"]
    mailbox.deliver()

    # 1. The caseworker approves the report with a claim for the unused funds (the amount is offered).
    caseworker = browse()
    log_in_as(caseworker, reported["caseworker"])
    caseworker.goto(f"/saksbehandling/tilsagn/{grant_id}/rapport")
    look(caseworker, axe, "the report with unused funds")
    fill_section(caseworker, {"claim-reason": "", "claim-amount": "50 000"})
    assert press(caseworker, "form[action$='/godkjenn-med-krav'] button[type=submit]").status == 422
    expect_error_summary(caseworker, "claim-reason")
    look(caseworker, axe, "a claim without a reason")
    fill_section(caseworker, {"claim-reason": "Midler som ikke ble brukt i prosjektet."})
    press(caseworker, "form[action$='/godkjenn-med-krav'] button[type=submit]")
    assert path(caseworker) == f"/saksbehandling/tilsagn/{grant_id}"
    look(caseworker, axe, "the grant with a proposed claim")
    claim_id = db.session.scalar(select(RepaymentClaim.id))
    settle()

    # 2. The approver approves the claim: the letter goes to the kommune with its PDF, in the written standard of
    #    the grant's decision (Bergen is neutral and the decision chose bokmål), whatever the reader's own language.
    approver = browse()
    log_in_as(approver, reported["approver"])
    approver.goto(f"/saksbehandling/tilsagn/{grant_id}")
    press(approver, f"form[action$='/tilbakebetalingskrav/{claim_id}/godkjenn'] button[type=submit]")
    mailbox.deliver()
    letter_mail = mailbox.one("repayment_claim", reported["kommune"])
    assert letter_mail["Content-Language"] == "nb" and pdf_attachments(letter_mail)

    # 3. The kommune reads the claim and its letter on pages in its own language, nynorsk.
    kommune = browse()
    log_in_as(kommune, reported["kommune"], lang="nn")
    kommune.goto(f"/soknader/{application_id}/tilsagn")
    look(kommune, axe, "the grant with a claim", "nn")
    kommune.goto(f"/soknader/{application_id}/tilbakebetaling/{claim_id}")
    look(kommune, axe, "the claim letter", "nn")

    # 4. The caseworker records the repayment in two parts: the claim is repaid.
    for amount in ("20 000", "30 000"):
        caseworker.goto(f"/saksbehandling/tilsagn/{grant_id}")
        fill_section(caseworker, {f"repaid-{claim_id}-amount": amount,
                                  f"repaid-{claim_id}-received_on": oslo_date(now_utc()).isoformat()})
        press(caseworker, f"form[action$='/tilbakebetalingskrav/{claim_id}/innbetalinger'] button[type=submit]")
    claim = db.session.get(RepaymentClaim, claim_id)
    assert (claim.state, sum(r.amount for r in claim.repayments)) == (ClaimState.repaid, 50_000)
    settle()
    caseworker.goto("/saksbehandling/tilbakebetalinger")
    look(caseworker, axe, "the overdue claims")
    for lang in LANGUAGES[1:]:
        caseworker.goto(f"/saksbehandling/tilsagn/{grant_id}")
        if caseworker.evaluate("document.documentElement.lang") != lang:
            switch_language(caseworker, lang)
        look(caseworker, axe, f"the grant with a repaid claim in {lang}", lang)
