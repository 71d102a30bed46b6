"""The whole path, as new users take it, through the browser: a kommune's new staff member registers, confirms the
address from the e-mail and is approved by IMDi's administrator; applies with an attachment and reads the receipt; a
caseworker does the formal check and assigns a reviewer; the reviewer declares impartiality and scores every
criterion; the caseworker proposes a grant, an approver approves and sends it; the kommune reads its decision letter;
the administrator publishes the round's allocation summary, which the public sees. Every person has a browser of
their own, and axe-core runs on every page on the way and on the error states.

The e-mails go to a real SMTP server (aiosmtpd in this process): between the steps the test does what the Celery
worker does in production, ``grants.notify.delivery.deliver`` for each pending notice of the outbox (the testing
configuration dispatches nothing after commit, so nothing else sends them). Links in the e-mails point at the live
server, so the new user opens the confirmation link from the message itself.

Three tests:
* ``test_the_whole_path_from_registration_to_the_published_summary``: all of it, once, in bokmål.
* ``test_a_reviewer_declares_impartiality_and_scores_an_application``: the reviewer's part on its own (the same
  steps the whole path takes), in bokmål, nynorsk and English.
* ``test_every_page_kind_of_the_path_in_each_language``: the other pages of the path, and their error states, in
  the three languages, on data made by the factories and operations (the applicant's own pages are covered in the
  three languages by test_apply.py).

As in the other browser tests, nothing looks for a text of the UI: controls are found through their labels, buttons
and links by their forms and addresses; assertions are on data, ids, addresses and the e-mails' headers.
"""

import re
from datetime import timedelta
from email.utils import parseaddr

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect
from sqlalchemy import select

from grants.accounts.models import Municipality, Role, User, UserStatus
from grants.applications.models import Application
from grants.applications.workflow import State
from grants.core.money import format_kroner
from grants.core.timeutil import deadline_utc, now_utc, oslo_date
from grants.decisions import operations as decision_ops
from grants.decisions.models import Decision, DecisionState, Outcome
from grants.extensions import db
from grants.notify.delivery import deliver
from grants.notify.mailer import close_connection
from grants.notify.messages import subject_for
from grants.notify.models import Notice, NoticeState
from grants.outcomes import publishing
from grants.review import operations as ops
from grants.review.models import Review
from grants.rounds.models import Round
from grants.rounds.operations import DEFAULT_CRITERIA, set_criteria
from tests.applying import VALID_SECTIONS
from tests.e2e.conftest import PageProblems, settle
from tests.e2e.support import (
    LANGUAGES,
    MAIN_FORM,
    PASSWORD,
    SECTIONS,
    application_id,
    by_label,
    click_through,
    fill_section,
    log_in,
    path,
    save,
    switch_language,
)
from tests.e2e.test_apply import expect_error_summary, open_section, save_and_return, tiny_pdf
from tests.factories import (
    ApplicationFactory,
    RoundFactory,
    SchemeFactory,
    UserFactory,
    municipal_user,
    submitted_application,
)
from tests.notify_support import SMTPServer

pytestmark = pytest.mark.e2e

KOMMUNE = "4601"  # Bergen: no user yet (the tables are emptied before each test); neutral written standard
NEW_USER = {
    "name": "Nora Nyansatt", "email": "nora.nyansatt@bergen.kommune.example", "municipality": KOMMUNE,
    "job_title": "Rådgiver", "phone": "55 56 00 00", "language": "nb", "password": PASSWORD, "confirm": PASSWORD,
}
CONTACT = VALID_SECTIONS["applicant"]["contact_email"]
TITLE = VALID_SECTIONS["project"]["title"]
APPLIED = 450_000  # VALID_SECTIONS["budget"]["amount_applied"]
GRANTED = 400_000
CHECKS = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)
PROPOSAL = {
    "decision-outcome": "granted", "decision-amount": "400 000",
    "decision-purpose": "Kartlegging av diskriminering i Bergen kommunes tjenester",
    "decision-conditions": "Rapport med revidert regnskap.", "decision-reporting_deadline": "2027-03-01",
    "decision-letter_language": "nb",
}


# --- people, browsers and the mailbox ---------------------------------------------------------------------------

def criteria_items():
    return [{"code": code, "weight": weight, "title_nb": nb, "title_nn": nn, "title_en": en}
            for code, weight, nb, nn, en in DEFAULT_CRITERIA]


def imdi_people(language="nb"):
    return {
        "admin": UserFactory(role=Role.admin, name="Ada Administrator", email="ada@imdi.example", language=language),
        "caseworker": UserFactory(role=Role.caseworker, name="Kari Saksbehandler", email="kari@imdi.example",
                                  language=language),
        "reviewer": UserFactory(role=Role.reviewer, name="Rita Fagvurderer", email="rita@imdi.example",
                                language=language),
        "approver": UserFactory(role=Role.approver, name="Per Godkjenner", email="per@imdi.example",
                                language=language),
    }


@pytest.fixture
def browse(browser, live_server):
    """browse() -> a page in a browser context of its own (one person, one browser), logged out. Like the ``page``
    fixture, every page fails the test on a JavaScript error or a CSP violation."""
    opened = []

    def open_page():
        context = browser.new_context(base_url=live_server.url, locale="nb-NO", timezone_id="Europe/Oslo",
                                      viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.set_default_timeout(30_000)
        problems = PageProblems()
        page = context.new_page()
        page.on("console", problems.console)
        page.on("pageerror", problems.page_error)
        opened.append((context, problems))
        return page

    yield open_page
    for context, _problems in opened:
        context.close()
    messages = [message for _context, problems in opened for message in problems.messages]
    assert not messages, "\n".join(messages)


class Mailbox:
    """The SMTP server's messages, and the worker's part: delivering what waits in the outbox."""

    def __init__(self, recorder):
        self.recorder = recorder

    def deliver(self):
        """Send every pending notice as a worker does (claim, render, SMTP, mark sent). Returns how many."""
        ids = db.session.scalars(select(Notice.id).where(Notice.state == NoticeState.pending)
                                 .order_by(Notice.id)).all()
        settle()
        states = [deliver(notice_id) for notice_id in ids]
        settle()  # the attachment loader reads through the session
        assert states == [NoticeState.sent] * len(ids), states
        return len(ids)

    def messages(self, kind, to):
        """The messages of one kind of notice (its outbox key starts with the kind) to one address."""
        with self.recorder.lock:
            messages = list(self.recorder.messages)
        return [m for m in messages
                if str(m["X-Grants-Notice"]).split(":", 1)[0] == kind and parseaddr(str(m["To"]))[1] == to]

    def one(self, kind, to):
        found = self.messages(kind, to)
        assert len(found) == 1, f"{len(found)} {kind} message(s) to {to}"
        return found[0]


@pytest.fixture
def mailbox(app, live_server):
    """An SMTP server in this process; the app of the test thread (the "worker") sends to it, and the links in
    its e-mails point at the live server."""
    with SMTPServer() as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_TIMEOUT=10,
                          PUBLIC_BASE_URL=live_server.url)
        yield Mailbox(server.recorder)
        close_connection(polite=False)


def expected_subject(app, kind, language, **context):
    """The subject the app writes for ``kind`` in ``language`` (from its catalogue), and the English one."""
    with app.test_request_context():
        with force_locale(language):
            translated = subject_for(kind, context)
        with force_locale("en"):
            english = subject_for(kind, context)
    return translated, english


def assert_in_language(app, message, kind, language, **context):
    """The message is written in the recipient's language: Content-Language and the translated subject."""
    assert message["Content-Language"] == language, message["Content-Language"]
    translated, english = expected_subject(app, kind, language, **context)
    assert str(message["Subject"]) == translated
    if language != "en":
        assert translated != english, f"{kind}: the subject is not translated to {language}"


def text_of(message):
    return message.get_body(("plain",)).get_content()


def pdf_attachments(message):
    return [(part.get_filename(), part.get_content()) for part in message.iter_attachments()
            if part.get_content_type() == "application/pdf"]


# --- steps shared by the tests -----------------------------------------------------------------------------------

def look(page, axe, label, lang="nb"):
    """The page is in ``lang`` and axe-core finds nothing on it."""
    expect(page.locator("html")).to_have_attribute("lang", lang)
    axe(page, label)


def go(page, selector):
    """Follow a link or press a button that loads a page; it must answer 200."""
    response = click_through(page, selector)
    assert response.status == 200, f"{selector}: {response.status} at {page.url}"
    return response


def log_in_as(page, email, lang="nb", landing=None):
    page.goto("/konto/logg-inn")
    if lang != "nb":
        switch_language(page, lang)
    response = log_in(page, email)
    assert response.status == 200 and not path(page).startswith("/konto/logg-inn"), path(page)
    if landing is not None:
        assert path(page) == landing, path(page)
    return response


def fill_every_section(page, axe, application):
    """Every section through its labels, as test_apply.py does; the project is saved with invalid values first."""
    for section in SECTIONS:
        open_section(page, section)
        look(page, axe, f"section {section}")
        data = dict(VALID_SECTIONS[section])
        if section == "project":
            fill_section(page, dict(data, participants="3", period_end="2020-01-01"))
            assert save(page).status == 422
            expect_error_summary(page, "participants", "period_end")
            look(page, axe, "section project saved with invalid values")
        missing = fill_section(page, data)
        if section == "budget":  # the second cost line comes with "Add a cost line"
            assert missing and all(name.startswith("cost_lines-1-") for name in missing), missing
            click_through(page, f'{MAIN_FORM} button[name="add_line"]')
            expect(page.locator(f"{MAIN_FORM} fieldset:has(#cost_lines-1-amount)")).to_have_count(1)
            look(page, axe, "budget with two cost lines")
            missing = fill_section(page, data)
        assert not missing, (section, missing)
        save_and_return(page, application, section)


def scores_for(criteria):
    """A score for every criterion (4, 5 and 6 in turn: none of the low levels that need a comment)."""
    return {c["id"]: 4 + n % 3 for n, c in enumerate(criteria)}


def reviewer_scores_the_application(page, axe, application, criteria, lang="nb"):
    """The reviewer's part, logged in (landed on "My reviews"): from "My reviews" to the impartiality declaration (no
    conflict), the assessment submitted once with nothing scored (errors), then with a score for every criterion, a
    recommendation and a suggested amount. ``criteria``: [{"id", "weight"}] in page order. Returns the scores."""
    case = f"/saksbehandling/soknader/{application}"
    go(page, 'header a[href="/saksbehandling/mine"]')
    look(page, axe, "my reviews", lang)
    go(page, f'main a[href="{case}/habilitet"]')
    look(page, axe, "impartiality declaration", lang)
    fill_section(page, {"conflict": "no"})
    save(page)
    assert path(page) == f"{case}/vurdering", path(page)
    look(page, axe, "assessment form", lang)
    submit = f'{MAIN_FORM} button[name="action"][value="submit"]'

    # Submitted with no score and no recommendation: every criterion and the recommendation are in the summary.
    response = click_through(page, submit)
    assert response.status == 422
    expect_error_summary(page, *[f"score_{c['id']}" for c in criteria], "recommendation")
    look(page, axe, "assessment submitted with missing scores", lang)

    scores = scores_for(criteria)
    data = {"recommendation": "grant", "suggested_amount": "400 000", "comment": "Godt forankret prosjekt."}
    for n, c in enumerate(criteria):
        data[f"score_{c['id']}"] = str(scores[c["id"]])
        data[f"comment_{c['id']}"] = f"Vurdering {n + 1}."
    assert not fill_section(page, data)
    response = click_through(page, submit)
    assert response.status == 200 and path(page) == case, path(page)
    look(page, axe, "case page of the reviewer after submitting", lang)
    return scores


def assert_review_saved(application, reviewer, criteria, scores):
    db.session.expire_all()
    review = db.session.scalar(select(Review).where(Review.application_id == application,
                                                    Review.reviewer_id == reviewer))
    saved = {s.criterion_id: s.value for s in review.scores}
    result = (review.is_submitted, str(review.recommendation), review.suggested_amount, review.weighted_score)
    settle()
    assert saved == scores
    weighted = round(sum(scores[c["id"]] * c["weight"] for c in criteria) / sum(c["weight"] for c in criteria), 4)
    assert result == (True, "grant", 400_000, weighted)


def criteria_of(round_):
    return [{"id": c.id, "weight": c.weight} for c in sorted(round_.criteria, key=lambda c: c.position)]


# --- the whole path ----------------------------------------------------------------------------------------------

@pytest.fixture
def scene(app):
    people = imdi_people()
    round_ = RoundFactory(year=2025, budget=2_000_000)
    set_criteria(round_, criteria_items())
    db.session.commit()
    bergen = db.session.scalar(select(Municipality).where(Municipality.number == KOMMUNE))
    assert db.session.scalar(select(User.id).where(User.municipality_id == bergen.id)) is None
    scene = {"round": round_.id, "scheme": round_.scheme.slug, "criteria": criteria_of(round_),
             "kommune": bergen.name, **{key: (user.id, user.email) for key, user in people.items()}}
    settle()
    return scene


def test_the_whole_path_from_registration_to_the_published_summary(app, scene, browse, axe, mailbox, tmp_path):
    round_id = scene["round"]

    # 1. A new staff member of Bergen registers: first with nothing filled in, then properly.
    kommune = browse()
    kommune.goto("/")
    look(kommune, axe, "front page")
    go(kommune, 'header a[href="/konto/registrer"]')
    look(kommune, axe, "registration")
    response = save(kommune)
    assert response.status == 422
    expect_error_summary(kommune, "name", "email", "municipality", "password", "confirm")
    look(kommune, axe, "registration submitted empty")
    assert not fill_section(kommune, NEW_USER)
    response = save(kommune)
    assert response.status == 200 and path(kommune) == "/konto/registrer"
    expect(kommune.locator("#error-summary")).to_have_count(0)
    look(kommune, axe, "registered")

    user = db.session.scalar(select(User).where(User.email == NEW_USER["email"]))
    registered = (user.id, user.status, user.role, user.municipality.number, user.language)
    settle()
    new_user_id = registered[0]
    assert registered[1:] == (UserStatus.pending, Role.municipal, KOMMUNE, "nb")

    # The confirmation e-mail arrives; the link in it confirms the address and leads to the login page.
    assert mailbox.deliver() == 2  # the confirmation to the new user, and "a new user waits" to the administrator
    mailbox.one("user_pending", scene["admin"][1])
    confirmation = mailbox.one("confirm_email", NEW_USER["email"])
    assert_in_language(app, confirmation, "confirm_email", "nb")
    link = re.search(r"http://\S+/konto/bekreft/\S+", text_of(confirmation)).group(0)
    assert link.startswith(app.config["PUBLIC_BASE_URL"])
    response = kommune.goto(link)
    assert response.status == 200 and path(kommune) == "/konto/logg-inn"
    look(kommune, axe, "login after confirming the e-mail address")
    # Not approved yet: no way in.
    response = log_in(kommune, NEW_USER["email"])
    assert response.status == 200 and path(kommune) == "/konto/logg-inn"
    expect(kommune.locator('main .ds-alert[role="status"]')).to_be_visible()  # a notice: nothing to correct
    expect(kommune.locator("#error-summary")).to_have_count(0)
    look(kommune, axe, "login while waiting for approval")

    # The administrator logs in (a wrong password first) and approves the new user.
    admin = browse()
    admin.goto("/konto/logg-inn")
    look(admin, axe, "login")
    response = log_in(admin, scene["admin"][1], "not the password")
    assert response.status == 200 and path(admin) == "/konto/logg-inn"
    expect_error_summary(admin)
    look(admin, axe, "login with a wrong password")
    response = log_in(admin, scene["admin"][1])
    assert response.status == 200 and path(admin) == "/admin/utlysninger/"
    look(admin, axe, "administrator's rounds")
    go(admin, 'header a[href="/konto/brukere"]')
    look(admin, axe, "users waiting for approval")
    approve = f'main form[action="/konto/brukere/{new_user_id}/godkjenn"] button[type=submit]'
    go(admin, approve)
    assert path(admin) == "/konto/brukere"
    expect(admin.locator(approve)).to_have_count(0)
    look(admin, axe, "users after the approval")
    user = db.session.get(User, new_user_id)
    approved = (user.status, user.is_municipality_admin, user.approved_by_id)
    settle()
    assert approved == (UserStatus.active, True, scene["admin"][0])
    assert mailbox.deliver() == 1
    assert_in_language(app, mailbox.one("user_approved", NEW_USER["email"]), "user_approved", "nb")

    # ... and the new user logs in.
    response = log_in(kommune, NEW_USER["email"])
    assert response.status == 200 and path(kommune) == "/soknader/"
    look(kommune, axe, "dashboard")

    # 2. The application: every section, an attachment, check, submit, receipt.
    go(kommune, 'main form[action$="/soknader/ny"] button[type=submit]')
    application = application_id(kommune)
    assert path(kommune) == f"/soknader/{application}"
    look(kommune, axe, "overview of a new draft")
    fill_every_section(kommune, axe, application)
    look(kommune, axe, "overview with every section filled in")

    go(kommune, f'main a[href="/soknader/{application}/vedlegg"]')
    look(kommune, axe, "attachments")
    pdf = tmp_path / "handlingsplan.pdf"
    pdf.write_bytes(tiny_pdf())
    by_label(kommune, "file").set_input_files(pdf)
    by_label(kommune, "purpose").select_option("action_plan")
    response = save(kommune)
    assert response.status == 200 and path(kommune) == f"/soknader/{application}/vedlegg"
    expect(kommune.locator(f'main a[href^="/soknader/{application}/vedlegg/"]')).to_have_text("handlingsplan.pdf")
    look(kommune, axe, "attachments with a file")

    go(kommune, f'main a[href="/soknader/{application}"]')
    go(kommune, f'main a[href="/soknader/{application}/kontroll"]')
    expect(kommune.locator("#error-summary")).to_have_count(0)
    look(kommune, axe, "check page, complete")
    go(kommune, f'main form[action="/soknader/{application}/send"] button[type=submit]')
    assert path(kommune) == f"/soknader/{application}/kvittering"
    look(kommune, axe, "receipt")
    db.session.expire_all()
    submitted = db.session.get(Application, application)
    state, reference, submitter, amount = (submitted.state, submitted.reference, submitted.submitted_by_id,
                                           submitted.amount_applied)
    settle()
    assert (state, submitter, amount) == (State.submitted, new_user_id, APPLIED)
    assert reference == "2025-0001"
    expect(kommune.locator("main dl.summary-list dd").first).to_have_text(reference)

    assert mailbox.deliver() == 2  # to the user who submitted, and to the contact person of the application
    for to in (NEW_USER["email"], CONTACT):
        receipt = mailbox.one("receipt", to)
        assert_in_language(app, receipt, "receipt", "nb", reference=reference)
        assert reference in str(receipt["Subject"]) and reference in text_of(receipt)

    # 3. A caseworker adds a reviewer to the round, checks the application formally (accepted), and assigns her.
    caseworker = browse()
    log_in_as(caseworker, scene["caseworker"][1], landing="/")
    look(caseworker, axe, "front page, logged in as a caseworker")
    go(caseworker, 'header a[href="/saksbehandling/"]')
    look(caseworker, axe, "case handling: rounds")
    inbox = f"/saksbehandling/runder/{round_id}"
    go(caseworker, f'main a[href="{inbox}"]')
    look(caseworker, axe, "inbox of the round")
    go(caseworker, f'main nav a[href="{inbox}/fagvurderere"]')
    look(caseworker, axe, "the round's reviewers, none yet")
    reviewer_id = scene["reviewer"][0]
    fill_section(caseworker, {"pool-user": str(reviewer_id)})
    go(caseworker, f'main form[action="{inbox}/fagvurderere"] button[type=submit]')
    assert path(caseworker) == f"{inbox}/fagvurderere"
    look(caseworker, axe, "the round's reviewers, one added")
    go(caseworker, f'main nav a[href="{inbox}"]')
    case = f"/saksbehandling/soknader/{application}"
    go(caseworker, f'main a[href="{case}"]')
    look(caseworker, axe, "case page before the formal check")
    for name in CHECKS:  # what the system could tell by itself is ticked already
        expect(by_label(caseworker, f"check-{name}")).to_be_checked()
    go(caseworker, f'main form[action="{case}/formell-kontroll"] button[name="check-verdict"][value="accept"]')
    assert path(caseworker) == case
    look(caseworker, axe, "case page after the formal check")
    fill_section(caseworker, {"assign-reviewer": str(reviewer_id)})
    go(caseworker, f'main form[action="{case}/fagvurderere"] button[type=submit]')
    assert path(caseworker) == case
    look(caseworker, axe, "case page with a reviewer assigned")
    state = db.session.get(Application, application).state
    settle()
    assert state == State.in_review

    # 4. The reviewer declares impartiality and scores the application (the reviewer's own test below does the
    #    same steps in three languages).
    reviewer = browse()
    log_in_as(reviewer, scene["reviewer"][1], landing="/saksbehandling/mine")
    scores = reviewer_scores_the_application(reviewer, axe, application, scene["criteria"])
    assert_review_saved(application, reviewer_id, scene["criteria"], scores)

    # 5. The caseworker proposes a grant: first more than was applied for, then 400 000.
    go(caseworker, f'main a[href="{inbox}"]')
    go(caseworker, f'main a[href="{case}"]')
    look(caseworker, axe, "case page with a submitted review")
    propose = f'main form[action="{case}/vedtak"] button[type=submit]'
    fill_section(caseworker, dict(PROPOSAL, **{"decision-amount": "500 000"}))
    response = click_through(caseworker, propose)
    assert response.status == 422
    expect_error_summary(caseworker, "decision-amount")
    expect(by_label(caseworker, "decision-amount")).to_have_value("500 000")
    look(caseworker, axe, "proposal with an amount above the amount applied for")
    fill_section(caseworker, PROPOSAL)
    go(caseworker, propose)
    assert path(caseworker) == case
    expect(caseworker.locator('main form[action$="/godkjenn"]')).to_have_count(0)  # not by the one who proposed
    look(caseworker, axe, "case page with a proposed decision")

    # Another person, the approver, approves and sends the round's decisions.
    approver = browse()
    log_in_as(approver, scene["approver"][1], landing="/")
    go(approver, 'header a[href="/saksbehandling/"]')
    go(approver, f'main a[href="{inbox}"]')
    go(approver, f'main nav a[href="{inbox}/godkjenning"]')
    look(approver, axe, "approval")
    go(approver, 'main form[action^="/saksbehandling/vedtak/"][action$="/godkjenn"] button[type=submit]')
    assert path(approver) == f"{inbox}/godkjenning"
    look(approver, axe, "approval, one approved")
    go(approver, f'main a[href="{inbox}/send-ut"]')
    look(approver, axe, "sending the approved decisions")
    go(approver, 'main form button[type=submit]')
    assert path(approver) == f"{inbox}/godkjenning"
    look(approver, axe, "approval after sending")

    decision = db.session.scalar(select(Decision).where(Decision.application_id == application))
    decided = (decision.state, decision.outcome, decision.amount, decision.proposed_by_id, decision.approved_by_id,
               str(decision.reporting_deadline), decision.letter_language, decision.application.state)
    settle()
    assert decided == (DecisionState.released, Outcome.granted, GRANTED, scene["caseworker"][0],
                       scene["approver"][0], "2027-03-01", "nb", State.granted)

    assert mailbox.deliver() == 2  # to the user who submitted, and to the contact person
    letters = {}
    for to in (NEW_USER["email"], CONTACT):
        notice = mailbox.one("decision", to)
        assert_in_language(app, notice, "decision", "nb", reference=reference)
        attached = pdf_attachments(notice)
        assert [name for name, _content in attached] == [f"vedtak-{reference}.pdf"]
        letters[to] = attached[0][1]
        assert letters[to].startswith(b"%PDF-")
        assert f"/soknader/{application}/vedtak" in text_of(notice)

    # 6. The kommune reads its decision letter from the application's page, and downloads it: the same PDF as
    #    the e-mail's.
    go(kommune, 'header a[href="/soknader/"]')
    look(kommune, axe, "dashboard with a granted application")
    go(kommune, f'main a[href="/soknader/{application}"]')
    look(kommune, axe, "overview of a granted application")
    go(kommune, f'main a[href="/soknader/{application}/vedtak"]')
    look(kommune, axe, "decision letter")
    letter = kommune.locator("main .letter-frame")
    expect(letter).to_contain_text(reference)
    expect(letter).to_contain_text(PROPOSAL["decision-purpose"])
    expect(letter).to_contain_text(PROPOSAL["decision-conditions"])
    expect(letter).to_contain_text(format_kroner(GRANTED))
    expect(letter).to_contain_text("1. mars 2027")  # the reporting deadline, written out
    with kommune.expect_download() as download:
        kommune.locator(f'main a[href^="/soknader/{application}/vedtak/"][href$=".pdf"]').click()
    assert open(download.value.path(), "rb").read() == letters[NEW_USER["email"]]

    # 7. After the deadline, the administrator publishes the round's allocation summary ...
    # (A deadline is a whole Oslo day: it was yesterday, and the application came in the evening before it ended.)
    round_ = db.session.get(Round, round_id)
    yesterday = oslo_date(now_utc()) - timedelta(days=1)
    round_.deadline_date, round_.deadline_at = yesterday, deadline_utc(yesterday)
    db.session.get(Application, application).received_at = deadline_utc(yesterday) - timedelta(hours=1)
    db.session.commit()
    settle()
    admin.goto(f"/saksbehandling/runder/{round_id}/tall")
    look(admin, axe, "the round's figures")
    go(admin, f'main form[action="/saksbehandling/runder/{round_id}/publiser"] button[type=submit]')
    assert path(admin) == f"/tildelinger/{round_id}"
    look(admin, axe, "allocation summary, as the administrator")

    # ... which anyone sees, logged out: the kommune, the project and the amount.
    public = browse()
    public.goto(f"/ordningen/{scene['scheme']}")
    expect(public.locator('header form[action="/konto/logg-ut"]')).to_have_count(0)
    look(public, axe, "the scheme's rounds")
    go(public, f'main a[href="/tildelinger/{round_id}"]')
    look(public, axe, "allocation summary")
    row = public.locator("main table").first.locator("tbody tr", has_text=TITLE)  # the grants; then what followed
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_contain_text(scene["kommune"])
    expect(row.locator("td").nth(1)).to_contain_text(TITLE)
    expect(row.locator("td").nth(2)).to_have_text(format_kroner(GRANTED))

    # 8. Every notice was sent once, and nothing else is waiting.
    assert not mailbox.recorder.duplicates()
    assert mailbox.deliver() == 0


# --- the reviewer, in three languages ----------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_reviewer_declares_impartiality_and_scores_an_application(app, browse, axe, lang):
    people = imdi_people(language=lang)
    round_ = RoundFactory(year=2025)
    set_criteria(round_, criteria_items())
    db.session.flush()
    application = submitted_application(round_, number=KOMMUNE, amount_applied=APPLIED, title=TITLE)
    ops.formal_check(application, people["caseworker"], checks=CHECKS, accept=True)
    ops.add_round_reviewer(round_, people["reviewer"], people["caseworker"])
    ops.assign(application, people["reviewer"], people["caseworker"])
    db.session.commit()
    ids = (application.id, people["reviewer"].id, people["reviewer"].email, criteria_of(round_))
    settle()
    application, reviewer_id, email, criteria = ids

    page = browse()
    log_in_as(page, email, lang=lang, landing="/saksbehandling/mine")
    scores = reviewer_scores_the_application(page, axe, application, criteria, lang=lang)
    assert_review_saved(application, reviewer_id, criteria, scores)


# --- every other page kind of the path, in three languages -------------------------------------------------------

@pytest.fixture
def pages_scene(app, lang):
    """Data for each page of the path, made by the factories and the operations: a round that is decided, sent
    and published (A), and an open round (B) with an application in each state the case pages show."""
    people = imdi_people(language=lang)
    kommune = municipal_user(KOMMUNE, name="Nora Nyansatt", email=NEW_USER["email"], language=lang,
                             is_municipality_admin=True)
    scheme = SchemeFactory()
    caseworker, approver = people["caseworker"], people["approver"]

    closed = RoundFactory(scheme=scheme, closed=True, year=2024)
    set_criteria(closed, criteria_items())
    db.session.flush()
    granted = submitted_application(closed, number=KOMMUNE, amount_applied=APPLIED, title=TITLE,
                                    submitted_by_id=kommune.id)
    ops.formal_check(granted, caseworker, checks=CHECKS, accept=True)
    decision = decision_ops.propose_decision(granted, caseworker, outcome="granted", amount=GRANTED,
                                    purpose=PROPOSAL["decision-purpose"])
    decision_ops.approve_decision(decision, approver)
    decision_ops.release_round(closed, approver)
    db.session.commit()
    publishing.publish(closed, people["admin"])
    db.session.commit()

    open_ = RoundFactory(scheme=scheme, year=2025)
    set_criteria(open_, criteria_items())
    db.session.flush()
    ops.add_round_reviewer(open_, people["reviewer"], caseworker)
    to_check = submitted_application(open_, number=KOMMUNE, amount_applied=APPLIED, title="Til formell kontroll")
    in_review = submitted_application(open_, number=KOMMUNE, amount_applied=APPLIED, title="Til vurdering")
    proposed = submitted_application(open_, number=KOMMUNE, amount_applied=APPLIED, title="Foreslått")
    approved = submitted_application(open_, number=KOMMUNE, amount_applied=APPLIED, title="Godkjent")
    for application in (in_review, proposed, approved):
        ops.formal_check(application, caseworker, checks=CHECKS, accept=True)
    ops.assign(in_review, people["reviewer"], caseworker)
    decision_ops.propose_decision(proposed, caseworker, outcome="granted", amount=200_000)
    decision_ops.approve_decision(
        decision_ops.propose_decision(approved, caseworker, outcome="granted", amount=300_000), approver)
    draft = ApplicationFactory(round=open_, municipality_id=kommune.municipality_id, created_by_id=kommune.id)
    # An approval made before the formal check became a rule: the release page holds it back and says why.
    unchecked = submitted_application(open_, number=KOMMUNE, amount_applied=APPLIED, title="Uten formell kontroll")
    db.session.add(Decision(application_id=unchecked.id, round_id=open_.id, outcome="rejected",
                            reasons={"rules": "r", "facts": "f", "considerations": "c"}, letter_language=lang,
                            proposed_by_id=caseworker.id, state="approved", approved_by_id=approver.id,
                            approved_at=now_utc()))
    db.session.commit()
    scene = {"lang": lang, "closed": closed.id, "open": open_.id, "scheme": scheme.slug, "granted": granted.id,
             "to_check": to_check.id, "in_review": in_review.id, "draft": draft.id,
             "kommune": kommune.email, **{key: user.email for key, user in people.items()}}
    settle()
    return scene


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_kind_of_the_path_in_each_language(app, pages_scene, browse, axe, lang):
    scene = pages_scene

    def check(page, label):
        look(page, axe, label, lang)

    # Anyone: registration (empty, then done), login (a wrong password), the published summary.
    anyone = browse()
    anyone.goto("/")
    switch_language(anyone, lang)
    check(anyone, "front page")
    go(anyone, 'header a[href="/konto/registrer"]')
    check(anyone, "registration")
    assert save(anyone).status == 422
    expect_error_summary(anyone, "name", "email", "municipality", "password", "confirm")
    check(anyone, "registration submitted empty")
    assert not fill_section(anyone, dict(NEW_USER, email="ny.kollega@bergen.kommune.example", language=lang))
    assert save(anyone).status == 200
    expect(anyone.locator("#error-summary")).to_have_count(0)
    check(anyone, "registered")
    go(anyone, 'header a[href="/konto/logg-inn"]')
    check(anyone, "login")
    assert log_in(anyone, scene["kommune"], "not the password").status == 200
    expect_error_summary(anyone)
    check(anyone, "login with a wrong password")
    anyone.goto(f"/ordningen/{scene['scheme']}")
    check(anyone, "the scheme's rounds")
    go(anyone, f'main a[href="/tildelinger/{scene["closed"]}"]')
    check(anyone, "allocation summary")

    # The administrator: the rounds, the user who just registered, the figures with the publishing forms.
    admin = browse()
    log_in_as(admin, scene["admin"], lang=lang, landing="/admin/utlysninger/")
    check(admin, "administrator's rounds")
    go(admin, 'header a[href="/konto/brukere"]')
    expect(admin.locator('main form[action$="/godkjenn"]')).to_have_count(1)
    check(admin, "users waiting for approval")
    admin.goto(f"/saksbehandling/runder/{scene['closed']}/tall")
    check(admin, "the round's figures, published")
    admin.goto(f"/admin/utlysninger/{scene['open']}")
    expect(admin.locator("main #deadline_date")).to_have_attribute("readonly", "")
    check(admin, "a round with received applications: its dates locked")
    go(admin, f'main a[href="/admin/utlysninger/{scene["open"]}/frist"]')
    check(admin, "changing the deadline")
    assert save(admin).status == 422
    expect_error_summary(admin, "reason")
    check(admin, "changing the deadline without a reason")

    # The caseworker: rounds, inbox, reviewers, the formal check, and a proposal above the amount applied for.
    caseworker = browse()
    log_in_as(caseworker, scene["caseworker"], lang=lang, landing="/")
    check(caseworker, "front page, logged in")
    go(caseworker, 'header a[href="/saksbehandling/"]')
    check(caseworker, "case handling: rounds")
    inbox = f"/saksbehandling/runder/{scene['open']}"
    go(caseworker, f'main a[href="{inbox}"]')
    check(caseworker, "inbox of the round")
    go(caseworker, f'main nav a[href="{inbox}/fagvurderere"]')
    check(caseworker, "the round's reviewers")
    go(caseworker, f'main nav a[href="{inbox}"]')
    go(caseworker, f'main a[href="/saksbehandling/soknader/{scene["to_check"]}"]')
    check(caseworker, "case page with the formal check")
    go(caseworker, f'main a[href="{inbox}"]')
    case = f"/saksbehandling/soknader/{scene['in_review']}"
    go(caseworker, f'main a[href="{case}"]')
    check(caseworker, "case page with the decision form")
    fill_section(caseworker, dict(PROPOSAL, **{"decision-amount": "500 000", "decision-letter_language": lang}))
    assert click_through(caseworker, f'main form[action="{case}/vedtak"] button[type=submit]').status == 422
    expect_error_summary(caseworker, "decision-amount")
    check(caseworker, "proposal with an amount above the amount applied for")

    # The approver: one decision to approve and one to send.
    approver = browse()
    log_in_as(approver, scene["approver"], lang=lang, landing="/")
    approver.goto(f"{inbox}/godkjenning")
    expect(approver.locator('main form[action$="/godkjenn"]')).to_have_count(1)
    check(approver, "approval")
    go(approver, f'main a[href="{inbox}/send-ut"]')
    expect(approver.locator("main h2")).to_have_count(1)  # "Approved, but cannot be sent now"
    check(approver, "sending the approved decisions, one held back")

    # The kommune: an application section saved with invalid values, and the decision letter.
    kommune = browse()
    log_in_as(kommune, scene["kommune"], lang=lang, landing="/soknader/")
    check(kommune, "dashboard")
    kommune.goto(f"/soknader/{scene['draft']}/del/project")
    fill_section(kommune, dict(VALID_SECTIONS["project"], participants="3", period_end="2020-01-01"))
    assert save(kommune).status == 422
    expect_error_summary(kommune, "participants", "period_end")
    check(kommune, "section saved with invalid values")
    kommune.goto(f"/soknader/{scene['granted']}")
    check(kommune, "overview of a granted application")
    go(kommune, f'main a[href="/soknader/{scene["granted"]}/vedtak"]')
    expect(kommune.locator("main .letter-frame")).to_contain_text(PROPOSAL["decision-purpose"])
    check(kommune, "decision letter")

    # The grant: the kommune answers it (an account number that fails MOD11 first), and IMDi sees the answer.
    grant_page = f"/soknader/{scene['granted']}/tilsagn"
    go(kommune, f'main a[href="{grant_page}"]')
    check(kommune, "the grant, waiting for an answer")
    fill_section(kommune, {"accept-account": "8601 11 17948", "accept-confirms_conditions": "y"})
    accept_button = 'main form:has(input[name="answer"][value="accept"]) button[type=submit]'
    assert click_through(kommune, accept_button).status == 422
    expect_error_summary(kommune, "accept-account")
    check(kommune, "the grant with an account number that fails MOD11")
    fill_section(kommune, {"accept-account": "8601 11 17947", "accept-confirms_conditions": "y"})
    assert click_through(kommune, accept_button).status == 200
    expect(kommune.locator("main")).to_contain_text("8601.11.17947")
    check(kommune, "the grant, accepted")
    caseworker.goto(f"/saksbehandling/runder/{scene['closed']}/tilsagn")
    expect(caseworker.locator("main tbody tr")).to_have_count(1)
    check(caseworker, "the round's grants")
    go(caseworker, 'main tbody a[href^="/saksbehandling/tilsagn/"]')
    check(caseworker, "one grant, nothing paid")
    fill_section(caseworker, {"payment-amount": "9 999 999"})
    assert click_through(caseworker, 'main form[action$="/utbetalinger"] button[type=submit]').status == 422
    expect_error_summary(caseworker, "payment-amount")
    check(caseworker, "one grant, a payment above the grant")
    fill_section(caseworker, {"payment-amount": "100 000"})
    assert click_through(caseworker, 'main form[action$="/utbetalinger"] button[type=submit]').status == 200
    expect(caseworker.locator("main tbody tr")).to_have_count(1)
    check(caseworker, "one grant, a payment proposed")

    # Messages on the case: IMDi asks, the kommune answers (an empty message first).
    caseworker.goto(f"/saksbehandling/soknader/{scene['granted']}")
    go(caseworker, f'main a[href="/saksbehandling/soknader/{scene["granted"]}/meldinger"]')
    check(caseworker, "messages, none yet")
    fill_section(caseworker, {"body": "Hvem leder prosjektet?"})
    assert click_through(caseworker, 'main form button[type=submit]').status == 200
    check(caseworker, "messages, one sent")
    kommune.goto(f"/soknader/{scene['granted']}")
    go(kommune, f'main a[href="/soknader/{scene["granted"]}/meldinger"]')
    expect(kommune.locator("main")).to_contain_text("Hvem leder prosjektet?")
    assert click_through(kommune, 'main form button[type=submit]').status == 422
    expect_error_summary(kommune, "body")
    check(kommune, "messages, an empty answer")
