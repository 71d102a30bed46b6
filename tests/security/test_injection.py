"""Script and formula payloads typed into every text field (ASVS 1.2.1, 1.3.7, 1.3.11; 4.0.3 5.3.3) come out
inert: escaped in HTML pages, plain text in the application PDF, escaped in e-mails whose headers carry no
CR/LF, and neutralised in the CSV/XLSX exports of a published summary."""

import csv
import email
import email.policy
import io
import re
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from grants.accounts.models import Role, User
from grants.applications.forms import SECTION_FORMS
from grants.applications.models import Application
from grants.applications.workflow import State
from grants.extensions import db
from grants.notify.messages import build_message, render_notice
from grants.notify.models import Notice
from grants.outcomes.exports import FIELDS
from grants.outcomes.models import AllocationSummary
from grants.outcomes.publishing import build_data
from tests.applying import VALID_SECTIONS, section_url, submission_key
from tests.factories import RoundFactory, municipal_user
from tests.security.support import cheap_hash, log_in, user

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}"
FORMULA = '=HYPERLINK("http://evil.example")'
PAYLOAD = FORMULA + SCRIPT + IMG + TEMPLATE  # starts with "=" for the spreadsheets; the rest for the pages
assert len(PAYLOAD) <= 100  # the shortest free-text field (political_case) takes 100 characters
CRLF_NAME = "Kari Kontakt\r\nBcc: x@evil.example\r\nX-Evil: 1"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
FREE_TEXT_TYPES = ("StringField", "TextAreaField")
NOT_FREE_TEXT = {"partners", "amount_applied", "own_contribution", "other_funding"}  # parsed: names, kroner








def assert_inert_html(html, where, *, shown=True):
    assert SCRIPT not in html, where
    assert "<img src=x" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", ""), where
    assert "<script>alert" not in html, where
    if shown:
        assert ESCAPED_SCRIPT in html, f"{where}: the payload is not shown at all"
        assert TEMPLATE in html, f"{where}: {{7*7}} was evaluated or lost"


def free_text_fields(section):
    """(name, is_free_text) of every field of a section's form."""
    form_class = SECTION_FORMS[section]
    form = form_class(meta={"csrf": False}, formdata=None)
    return [(f.name, f.type in FREE_TEXT_TYPES and f.name not in NOT_FREE_TEXT) for f in form
            if f.type not in ("HiddenField", "CSRFTokenField", "FieldList")]


def payload_sections(everything=False):
    """VALID_SECTIONS with the payload in every free-text field (and, with ``everything``, in every text input,
    e-mail, phone, link and amount included: those are refused by validation but kept and shown again)."""
    sections = {}
    for section, values in VALID_SECTIONS.items():
        data = dict(values)
        for name, free in free_text_fields(section):
            if free or (everything and name not in ("version",) and isinstance(values.get(name, ""), str)
                        and name not in ("action_plan", "mapping", "no_running_costs", "continues")):
                data[name] = PAYLOAD
        for key in list(data):
            if key.startswith("cost_lines-") and key.endswith("-description"):
                data[key] = PAYLOAD
            if everything and key.startswith("cost_lines-") and key.endswith("-amount"):
                data[key] = PAYLOAD
        if section == "applicant":
            data["contact_name"] = CRLF_NAME + SCRIPT + IMG + TEMPLATE  # at most 120 characters
        sections[section] = data
    return sections


@pytest.fixture
def kommune(app, client):
    round_ = RoundFactory(year=2025)
    staff = municipal_user("0301", password_hash=cheap_hash(),
                           email="ola@oslo.kommune.no")
    db.session.commit()
    log_in(client, staff)
    response = client.post("/soknader/ny", data={"round_id": round_.id})
    application_id = int(re.search(r"/soknader/(\d+)", response.headers["Location"]).group(1))
    return round_, staff, application_id


def test_every_field_of_the_application_form_is_escaped_when_shown_again(client, kommune):
    _round, _staff, application_id = kommune
    for section, data in payload_sections(everything=True).items():
        response = client.post(section_url(application_id, section), data=data)
        assert response.status_code in (200, 302, 422), section
        assert_inert_html(response.get_data(as_text=True), f"POST {section}", shown=response.status_code != 302)
        page = client.get(section_url(application_id, section))
        assert_inert_html(page.get_data(as_text=True), f"GET {section}")
        html = page.get_data(as_text=True)
        for name, _free in free_text_fields(section):  # every input kept the payload, as a quoted attribute value
            if data.get(name) == PAYLOAD and f'name="{name}"' in html:
                assert "=HYPERLINK(&#34;http://evil.example&#34;" in html or \
                    "=HYPERLINK(&quot;http://evil.example&quot;" in html, (section, name)
    for url in (f"/soknader/{application_id}", f"/soknader/{application_id}/kontroll", "/soknader/"):
        assert_inert_html(client.get(url).get_data(as_text=True), url, shown=url != "/soknader/")


def _pdf_strings(pdf):
    """The text of a PDF as a reader gets it (pypdf): the tagged PDF's fonts map every glyph back to its text."""
    import pypdf

    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def submit_with_payloads(client, application_id):
    for section, data in payload_sections().items():
        response = client.post(section_url(application_id, section), data=data)
        assert response.status_code == 302, (section, response.get_data(as_text=True)[:2000])
    key = submission_key(client, application_id)
    response = client.post(f"/soknader/{application_id}/send", data={"submission_key": key})
    assert response.status_code == 302 and "/kvittering" in response.headers["Location"]


def test_submitted_application_pages_pdf_and_receipts_are_inert(app, client, kommune, monkeypatch):
    round_, staff, application_id = kommune
    submit_with_payloads(client, application_id)
    for url in (f"/soknader/{application_id}", f"/soknader/{application_id}/kvittering"):
        assert_inert_html(client.get(url).get_data(as_text=True), url)

    # The PDF: the payload is just text in it, read back as typed.
    pdf = client.get(f"/soknader/{application_id}/soknad.pdf").data
    assert pdf.startswith(b"%PDF")
    for active in (b"/JavaScript", b"/JS", b"/Launch", b"/URI", b"/SubmitForm", b"/ImportData", b"/EmbeddedFile"):
        assert active not in pdf, active
    assert not re.search(rb"/AA\s*<<", pdf)
    assert all(m.startswith(b"/OpenAction [") for m in re.findall(rb"/OpenAction\s*\S", pdf))  # a page, no action
    strings = re.sub(r"\s+", "", _pdf_strings(pdf))  # the table cell breaks the payload over lines
    assert re.sub(r"\s+", "", PAYLOAD) in strings

    # IMDi's side shows the same answers.
    caseworker = user(role=Role.caseworker)
    db.session.commit()
    imdi = app.test_client()
    log_in(imdi, caseworker)
    for url in (f"/saksbehandling/soknader/{application_id}", f"/saksbehandling/runder/{round_.id}"):
        response = imdi.get(url)
        assert response.status_code == 200, url
        assert_inert_html(response.get_data(as_text=True), url)

    # The receipts: to the submitter and to the contact person, whose name was typed with CR/LF in it.
    notices = db.session.scalars(select(Notice).where(Notice.kind == "receipt")).all()
    assert {n.recipient_email for n in notices} == {staff.email, VALID_SECTIONS["applicant"]["contact_email"]}
    for notice in notices:
        assert_inert_email(notice)
    contact = next(n for n in notices if n.recipient_email != staff.email)
    assert "\r" not in (contact.recipient_name or "") and "\n" not in (contact.recipient_name or "")


def assert_inert_email(notice):
    subject, text, html = render_notice(notice)
    assert "\r" not in subject and "\n" not in subject
    assert_inert_html(html, f"e-mail {notice.kind}")
    message = build_message(notice)
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    names = {name.lower() for name in parsed.keys()}
    assert "bcc" not in names and "x-evil" not in names, names
    assert names <= {"subject", "from", "to", "message-id", "date", "x-grants-notice", "content-language",
                     "mime-version", "content-type", "content-transfer-encoding"}, names
    assert len(parsed.get_all("To")) == 1
    assert parsed["To"].addresses[0].addr_spec == notice.recipient_email
    for name, value in message.items():
        assert "\r" not in str(value) and "\n" not in str(value), name
    body = parsed.get_body(("html",)).get_content()
    assert_inert_html(body, f"HTML part of {notice.kind}")


def test_registration_and_profile_are_inert(app, client):
    admin = user(role=Role.admin)
    db.session.commit()
    form = {"name": CRLF_NAME + SCRIPT + IMG + TEMPLATE, "email": "kari@bergen.kommune.no", "municipality": "4601",
            "language": "nb", "job_title": PAYLOAD, "phone": PAYLOAD,
            "password": "en lang og god setning", "confirm": "en lang og god setning"}
    refused = client.post("/konto/registrer", data=form)  # the phone is wrong: the form comes back
    assert refused.status_code == 422
    assert_inert_html(refused.get_data(as_text=True), "registration with errors")
    bad_email = client.post("/konto/registrer", data={**form, "email": '"><script>alert(1)</script>@x.no'})
    assert bad_email.status_code == 422 and SCRIPT not in bad_email.get_data(as_text=True)
    accepted = client.post("/konto/registrer", data={**form, "phone": "+47 22 00 00 00"})
    assert accepted.status_code == 200
    assert_inert_html(accepted.get_data(as_text=True), "registered", shown=False)
    kari = db.session.scalar(select(User).where(User.email == "kari@bergen.kommune.no"))
    assert kari is not None

    # the administrator sees the name in the list of users to approve, and in the e-mail about it
    imdi = app.test_client()
    log_in(imdi, admin)
    assert_inert_html(imdi.get("/konto/brukere").get_data(as_text=True), "approvals")
    pending = db.session.scalar(select(Notice).where(Notice.kind == "user_pending"))
    assert_inert_email(pending)

    # the profile, and the header of every page that shows the user's name
    staff = municipal_user("0301", password_hash=cheap_hash())
    db.session.commit()
    log_in(client, staff)
    response = client.post("/konto/profil", data={"name": PAYLOAD, "job_title": PAYLOAD, "language": "nb",
                                                  "phone": ""})
    assert response.status_code == 302
    for url in ("/konto/profil", "/soknader/", "/"):
        page = client.get(url).get_data(as_text=True)
        assert_inert_html(page, url, shown=url == "/konto/profil")
    response = client.post("/konto/profil", data={"name": PAYLOAD, "job_title": PAYLOAD, "language": "nb",
                                                  "phone": PAYLOAD})
    assert response.status_code == 422
    assert_inert_html(response.get_data(as_text=True), "profile with errors")


def test_published_summary_and_its_exports_are_inert(app, client, kommune):
    round_, _staff, application_id = kommune
    submit_with_payloads(client, application_id)
    application = db.session.get(Application, application_id)
    assert application.title == PAYLOAD
    application.state, application.amount_granted = State.granted, 400_000
    application.decided_at = datetime.now(UTC)
    admin = user(role=Role.admin)
    db.session.flush()
    db.session.add(AllocationSummary(round_id=round_.id, version=1, data=build_data(round_),
                                     published_by_id=admin.id))
    db.session.commit()
    base = f"/tildelinger/{round_.id}/v/1/tildelinger"

    page = client.get(f"/tildelinger/{round_.id}")
    assert page.status_code == 200
    assert_inert_html(page.get_data(as_text=True), "published summary")

    rows = list(csv.reader(io.StringIO(client.get(base + ".csv").get_data(as_text=True).lstrip("\ufeff")),
                           delimiter=";"))
    header, grant = rows[0], rows[1]
    assert grant[header.index("title")] == "'" + PAYLOAD
    assert grant[header.index("summary")] == "'" + PAYLOAD
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell

    # The XLSX holds the title exactly as typed, as a string cell: a spreadsheet program shows it, never runs it.
    workbook = load_workbook(io.BytesIO(client.get(base + ".xlsx").data))
    sheet = workbook.active
    title = sheet.cell(row=2, column=FIELDS.index("title") + 1)
    assert title.data_type == "s" and title.value == PAYLOAD
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
            if isinstance(cell.value, str):
                assert cell.data_type == "s", cell.coordinate

    api = client.get(f"/api/v1/rounds/{round_.id}/summary")
    assert api.mimetype == "application/json"
    assert api.headers["X-Content-Type-Options"] == "nosniff"  # never sniffed as HTML
    assert api.get_json()["grants"][0]["title"] == PAYLOAD
