"""A kommune's user applies through the browser, in bokmål, nynorsk and English, with axe-core on every page.

The user logs in on the login page (first with a wrong password), starts an application from the dashboard,
fills every section through the labels (text, checkboxes, radio buttons, dates, selects, a budget grown to two
cost lines with "Add a cost line"), saves one section with invalid values first, uploads a PDF, checks and
submits, and reads the receipt; the PDF of the application downloads. axe-core runs on each page on the way,
error states included. Nothing asserts on a text of the UI: only structure, ids, addresses and data.
"""


import pytest
from playwright.sync_api import expect

from grants.applications.models import Application
from grants.applications.workflow import State
from grants.core.wording import moment_in
from grants.extensions import db
from tests.applying import VALID_SECTIONS
from tests.e2e.conftest import settle
from tests.e2e.support import (
    LANGUAGES,
    MAIN_FORM,
    SECTIONS,
    application_id,
    by_label,
    click_through,
    fill_section,
    html_lang,
    log_in,
    path,
    save,
    switch_language,
)

pytestmark = pytest.mark.e2e



def tiny_pdf():
    """A small, valid one-page PDF (header, objects, cross-reference table with exact offsets, trailer)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length 0 >>\nstream\n\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)




def expect_error_summary(page, *field_ids):
    """The error summary is there, has focus, and links to each field."""
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    for field_id in field_ids:
        expect(summary.locator(f'a[href="#{field_id}"]')).to_have_count(1)
        expect(page.locator(f'[id="{field_id}"]')).to_have_attribute("aria-invalid", "true")


def open_section(page, section):
    response = click_through(page, f'main a[href$="/del/{section}"]')
    assert response.status == 200, section
    assert path(page).endswith(f"/del/{section}")


def save_and_return(page, application, label):
    response = save(page)
    assert response.status == 200, f"{label}: {response.status}"
    assert path(page) == f"/soknader/{application}", f"{label} was not saved: {path(page)}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_kommune_applies_through_the_browser(app, applicant, page, axe, tmp_path, lang):
    # The login page, in the chosen language; a wrong password first.
    page.goto("/konto/logg-inn")
    switch_language(page, lang)
    axe(page, "login")
    response = log_in(page, applicant, "not the password")
    assert response.status == 200 and path(page).startswith("/konto/logg-inn")
    expect_error_summary(page)
    axe(page, "login with a wrong password")

    response = log_in(page, applicant)
    assert response.status == 200 and path(page) == "/soknader/"
    if html_lang(page) != lang:  # the user's own language (nb) applies after login; switch again
        switch_language(page, lang)
    axe(page, "dashboard")

    # Start an application from the dashboard.
    response = click_through(page, 'main form[action$="/soknader/ny"] button[type=submit]')
    assert response.status == 200
    application = application_id(page)
    assert path(page) == f"/soknader/{application}"
    axe(page, "overview of a new draft")

    # Check and submit, before anything is filled in: the list of what is missing.
    click_through(page, f'main a[href="/soknader/{application}/kontroll"]')
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator(f'main form[action$="/soknader/{application}/send"]')).to_have_count(0)
    axe(page, "check page of an empty draft")
    click_through(page, f'main a[href="/soknader/{application}"]')

    for section in SECTIONS:
        open_section(page, section)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        axe(page, f"section {section}")
        data = dict(VALID_SECTIONS[section])
        if section == "project":
            # Saved with invalid values first: kept, and shown with the errors.
            fill_section(page, dict(data, participants="3", period_end="2020-01-01"))
            response = save(page)
            assert response.status == 422
            expect_error_summary(page, "participants", "period_end")
            expect(by_label(page, "participants")).to_have_value("3")
            axe(page, "section project with errors")
        missing = fill_section(page, data)
        if section == "budget":
            assert missing and all(name.startswith("cost_lines-1-") for name in missing), missing
            response = click_through(page, f'{MAIN_FORM} button[name="add_line"]')
            # The page comes back with the new line to write in, without its errors (what was typed is kept).
            assert response.status == 200
            expect(page.locator(f"{MAIN_FORM} fieldset:has(#cost_lines-1-amount)")).to_have_count(1)
            expect(by_label(page, "cost_lines-0-description")).to_have_value(data["cost_lines-0-description"])
            axe(page, "budget with two cost lines")
            missing = fill_section(page, data)
        assert not missing, (section, missing)
        save_and_return(page, application, section)

    axe(page, "overview with every section filled in")

    # Attachments: first "Upload" with no file (an error), then a PDF.
    click_through(page, f'main a[href="/soknader/{application}/vedlegg"]')
    axe(page, "attachments")
    response = save(page)
    assert response.status == 422
    expect_error_summary(page, "file")
    axe(page, "attachments with an error")
    pdf = tmp_path / "handlingsplan.pdf"
    pdf.write_bytes(tiny_pdf())
    by_label(page, "file").set_input_files(pdf)
    by_label(page, "purpose").select_option("action_plan")
    response = save(page)
    assert response.status == 200 and path(page) == f"/soknader/{application}/vedlegg"
    link = page.locator(f'main a[href^="/soknader/{application}/vedlegg/"]')
    expect(link).to_have_count(1)
    expect(link).to_have_text("handlingsplan.pdf")
    axe(page, "attachments with a file")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "handlingsplan.pdf"
    assert open(download.value.path(), "rb").read() == tiny_pdf()

    # Check and submit.
    click_through(page, f'main a[href="/soknader/{application}"]')
    click_through(page, f'main a[href="/soknader/{application}/kontroll"]')
    expect(page.locator("#error-summary")).to_have_count(0)
    axe(page, "check page, complete")
    response = click_through(page, f'main form[action="/soknader/{application}/send"] button[type=submit]')
    assert response.status == 200
    assert path(page) == f"/soknader/{application}/kvittering"
    axe(page, "receipt")

    # The receipt: the reference number and the time received (Oslo), as the database has them.
    db.session.expire_all()
    submitted = db.session.get(Application, application)
    state, reference, received = submitted.state, submitted.reference, submitted.received_at
    settle()
    assert state == State.submitted
    assert reference == "2025-0001"
    values = [" ".join(t.split()) for t in page.locator("main dl.summary-list dd").all_text_contents()]
    assert values[0] == reference
    # The time received, written out in the page's language: "30. november 2026 kl. 14:05".
    assert values[1] == " ".join(moment_in(received, lang).split()), values[1]

    # The application as submitted, as a PDF.
    with page.expect_download() as download:
        page.locator(f'main a[href="/soknader/{application}/soknad.pdf"]').click()
    assert download.value.suggested_filename == f"soknad-{reference}.pdf"
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"
