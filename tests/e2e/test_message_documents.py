"""The pages of a case's messages with documents, in the browser: IMDi asks with a document attached, the kommune
adds a document to its application (ettersending) and answers with a document; a refused file is shown beside the
file field and in the error summary, and the typed message stays. axe-core finds nothing on each page and state.

Nothing asserts on a text of the UI: only ids, names, addresses and the saved data."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from grants.accounts.models import Role
from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.messages import operations as message_ops
from grants.messages.models import CaseMessage, Supplement
from grants.review import operations as review_ops
from tests.e2e.conftest import settle
from tests.e2e.support import log_in, path
from tests.e2e.test_apply import tiny_pdf
from tests.factories import RoundFactory, UserFactory, municipal_user, submitted_application

pytestmark = pytest.mark.e2e

CHECKS = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)
BODY = "Her er det politiske vedtaket, som dere ba om."


@pytest.fixture
def case(app, tmp_path):
    staff = municipal_user("0301", email="kari@oslo.kommune.no", name="Kari Nordmann", language="nb")
    caseworker = UserFactory(role=Role.caseworker, email="sara@imdi.example", name="Sara Saksbehandler")
    application = submitted_application(RoundFactory(year=2025), submitted_by_id=staff.id)
    review_ops.formal_check(application, caseworker, checks=CHECKS, accept=True)
    message_ops.write(application, caseworker, "Send oss det politiske vedtaket.",
                      answer_by=oslo_date(now_utc()) + timedelta(days=7), uploads=[("mal.pdf", tiny_pdf())])
    db.session.commit()
    good, bad = tmp_path / "vedtak.pdf", tmp_path / "vedtak.docx"
    good.write_bytes(tiny_pdf())
    bad.write_bytes(tiny_pdf())  # a PDF under a Word name
    application_id = application.id
    settle()
    return {"id": application_id, "good": str(good), "bad": str(bad)}


def sign_in(page, email):
    page.goto("/konto/logg-inn")
    log_in(page, email)


def test_the_message_pages_with_documents_have_no_axe_violations(page, axe, case):
    sign_in(page, "kari@oslo.kommune.no")
    page.goto(f"/soknader/{case['id']}/meldinger")
    expect(page.locator("#supplement-file")).to_be_visible()
    axe(page, "the kommune's messages, with IMDi's request and its document")

    # ettersending: a refused file first, then the right one
    page.set_input_files("#supplement-file", case["bad"])
    page.locator("form:has(#supplement-file) button[type=submit]").click()
    expect(page.locator("#supplement-file-error")).to_be_visible()
    expect(page.locator("#error-summary a[href='#supplement-file']")).to_be_visible()
    axe(page, "a refused document sent afterwards")
    page.set_input_files("#supplement-file", case["good"])
    page.locator("form:has(#supplement-file) button[type=submit]").click()
    expect(page.locator("#supplements a[href*='/vedlegg/'], #supplements ~ ul a[href*='/vedlegg/']").first
           ).to_be_attached()
    axe(page, "a document sent afterwards")

    # the answer: a refused file keeps the typed message
    page.fill("#body", BODY)
    page.set_input_files("#files", [case["good"], case["bad"]])
    page.locator("form:has(#body) button[type=submit]").click()
    expect(page.locator("#files-error")).to_be_visible()
    expect(page.locator("#error-summary a[href='#files']")).to_be_visible()
    expect(page.locator("#body")).to_have_value(BODY)
    axe(page, "a message with a refused document")
    page.set_input_files("#files", [case["good"]])
    page.locator("form:has(#body) button[type=submit]").click()
    expect(page.locator("a[href*='/meldinger/vedlegg/']")).to_have_count(2)
    axe(page, "the kommune's messages with documents")
    assert path(page) == f"/soknader/{case['id']}/meldinger"
    page.goto(f"/soknader/{case['id']}")
    axe(page, "the kommune's overview with a document sent afterwards")

    db.session.expire_all()
    assert len(db.session.scalars(select(Supplement)).all()) == 1
    answer = db.session.scalar(select(CaseMessage).where(CaseMessage.body == BODY))
    assert [a.original_name for a in answer.attachments] == ["vedtak.pdf"]
    settle()

    page.goto("/")
    page.locator("header form[action='/konto/logg-ut'] button").click()
    sign_in(page, "sara@imdi.example")
    page.goto(f"/saksbehandling/soknader/{case['id']}/meldinger")
    expect(page.locator("#files")).to_be_attached()
    axe(page, "IMDi's messages with documents")
    page.goto(f"/saksbehandling/soknader/{case['id']}")
    axe(page, "IMDi's case page with a document sent afterwards")
