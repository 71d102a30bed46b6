"""Forms keep what is typed, in the browser (issue #15, item 7).

* Text typed in a section survives the language switch (the language buttons submit the section's form) and a
  click on a link in the header (the page's script saves the draft first): back on the section, the text is there.
  A section left untouched is not saved; Enter in a field saves, it does not switch language; logging out from
  the header saves the draft first.
* Before the session's idle end an alert dialog, in the page's language, takes focus and offers to continue; going
  on really extends the session; left unanswered, the draft is saved and the user logged out with a notice. This
  runs against a server of its own with an idle time of 30 seconds; axe-core checks the section page with the
  dialog open in bokmål, nynorsk and English (those with the browser's clock moved on instead of waiting).

Nothing asserts on a text of the UI: only structure, ids, addresses, languages and the saved data.
"""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from grants.applications.models import Application
from grants.extensions import db
from tests.e2e.conftest import APPLICANT_EMAIL as EMAIL
from tests.e2e.conftest import serving, settle, watched_page
from tests.e2e.support import (
    LANGUAGES,
    application_id,
    by_label,
    click_through,
    html_lang,
    log_in,
    navigate,
    path,
    switch_language,
)

pytestmark = pytest.mark.e2e

IDLE_SECONDS = 30
WARNING_SECONDS = 12


def saved(application, section):
    db.session.expire_all()
    answers = dict(db.session.get(Application, application).answers or {})
    settle()
    return answers.get(section)


def start_application(page):
    page.goto("/konto/logg-inn")
    assert log_in(page, EMAIL).status == 200 and path(page) == "/soknader/"
    click_through(page, 'main form[action$="/soknader/ny"] button[type=submit]')
    return application_id(page)


def open_section(page, application, section):
    response = navigate(page, lambda: page.goto(f"/soknader/{application}/del/{section}"))
    assert response.status == 200


def test_typed_text_survives_the_language_switch_and_a_link(app, applicant, page, axe):
    application = start_application(page)

    # A section left as it came: the header's link leaves it without saving anything.
    open_section(page, application, "measurement")
    click_through(page, 'header a[href="/soknader/"]')
    assert path(page) == "/soknader/" and saved(application, "measurement") is None

    # Enter in a field still saves the form: the language buttons, which come earlier in the page and submit the
    # same form, are not its default button.
    open_section(page, application, "applicant")
    by_label(page, "contact_name").fill("Kari Kontakt")
    response = navigate(page, lambda: by_label(page, "contact_name").press("Enter"))
    assert response.status == 422  # saved, with the fields still missing
    assert html_lang(page) == "nb" and path(page) == f"/soknader/{application}/del/applicant"
    assert saved(application, "applicant")["contact_name"] == ["Kari Kontakt"]

    open_section(page, application, "transfer")
    field = by_label(page, "transfer_value")
    field.fill("Vi deler metoden med nabokommunene")
    for lang in ("nn", "en", "nb"):
        switch_language(page, lang)  # the same section comes back, in that language
        expect(by_label(page, "transfer_value")).to_have_value("Vi deler metoden med nabokommunene")
        axe(page, f"section after switching to {lang}")
    assert saved(application, "transfer") == {"transfer_value": ["Vi deler metoden med nabokommunene"]}

    # Typing, then a link in the header: the draft is saved before the page is left.
    by_label(page, "transfer_value").fill("Vi deler metoden i KS-nettverket")
    click_through(page, 'header a[href="/soknader/"]')
    assert path(page) == "/soknader/"
    assert saved(application, "transfer") == {"transfer_value": ["Vi deler metoden i KS-nettverket"]}
    navigate(page, lambda: page.go_back())
    assert path(page) == f"/soknader/{application}/del/transfer"
    expect(by_label(page, "transfer_value")).to_have_value("Vi deler metoden i KS-nettverket")

    # The section's own links (the application's title above it) keep the typing as well.
    by_label(page, "transfer_value").fill("Tredje utgave")
    click_through(page, f'main p a[href="/soknader/{application}"]')
    assert path(page) == f"/soknader/{application}"
    assert saved(application, "transfer") == {"transfer_value": ["Tredje utgave"]}

    # Logging out from the header with typing not saved: the draft is saved first, and the notice says so.
    open_section(page, application, "transfer")
    by_label(page, "transfer_value").fill("Fjerde utgave")
    click_through(page, 'header form[action="/konto/logg-ut"] button[type=submit]')
    assert path(page) == "/"
    expect(page.locator("main .flash-messages [role=status] .ds-alert")).to_have_count(2)
    assert saved(application, "transfer") == {"transfer_value": ["Fjerde utgave"]}


# --- the idle warning, on a server whose sessions end after 30 idle seconds -------------------------------------

@pytest.fixture(scope="module")
def short_server(database_url, instance_dir, _migrated):
    with serving(database_url, instance_dir, SEND_FILE_MAX_AGE_DEFAULT=3600,
                 PERMANENT_SESSION_LIFETIME=timedelta(seconds=IDLE_SECONDS),
                 SESSION_WARNING_SECONDS=WARNING_SECONDS) as server:
        yield server


@pytest.fixture
def short_page(browser, short_server):
    with watched_page(browser, short_server.url) as page:
        yield page


def expect_warning(page, timeout=WARNING_SECONDS * 1000 + IDLE_SECONDS * 1000):
    dialog = page.locator("dialog#session-warning")
    expect(dialog).to_be_visible(timeout=timeout)
    expect(dialog).to_have_attribute("role", "alertdialog")
    # Focus is in the dialog, on the way to go on.
    expect(dialog.locator("#session-keep button[type=submit]")).to_be_focused()
    assert page.evaluate("document.querySelector('dialog#session-warning').matches(':modal')")
    return dialog


def test_the_idle_warning_extends_the_session_or_saves_and_logs_out(app, applicant, short_page, axe):
    page = short_page
    application = start_application(page)
    open_section(page, application, "transfer")
    by_label(page, "transfer_value").fill("Skrevet før pausen")

    # The warning comes before the idle end; "Continue" starts the idle time again on the server.
    dialog = expect_warning(page)
    axe(page, "section with the idle warning open")
    dialog.locator("#session-keep button[type=submit]").click()
    expect(dialog).to_be_hidden()
    # Past the idle end the page started with, before the next warning is due.
    page.wait_for_timeout((IDLE_SECONDS - WARNING_SECONDS - 3) * 1000)
    expect(dialog).to_be_hidden()
    # The session held: another request is answered as the logged-in user (fetch: the typed text stays).
    status = page.evaluate("fetch('/soknader/', {redirect: 'manual'}).then(r => r.status)")
    assert status == 200

    # Left unanswered: the typed text is saved, and the user is logged out with a notice saying so.
    expect_warning(page)
    page.wait_for_url(lambda url: url.rstrip("/").count("/") == 2, timeout=IDLE_SECONDS * 1000)
    assert path(page) == "/"
    expect(page.locator("main .flash-messages [role=status] .ds-alert")).to_have_count(2)
    assert saved(application, "transfer") == {"transfer_value": ["Skrevet før pausen"]}
    response = navigate(page, lambda: page.goto(f"/soknader/{application}/del/transfer"))
    assert path(page).startswith("/konto/logg-inn"), response.url


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_idle_warning_speaks_the_pages_language_and_passes_axe(app, applicant, short_page, axe, lang):
    page = short_page
    page.clock.install()
    application = start_application(page)
    open_section(page, application, "project")
    if html_lang(page) != lang:
        switch_language(page, lang)
    page.clock.fast_forward((IDLE_SECONDS - WARNING_SECONDS + 1) * 1000)
    dialog = expect_warning(page, timeout=5_000)
    assert dialog.evaluate("d => d.closest('[lang]').lang") == lang
    expect(dialog.locator("[data-session-end]")).not_to_be_empty()
    axe(page, f"section with the idle warning open ({lang})")
    # Escape is taken as being there: the warning closes and the session goes on.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_registering_keeps_what_was_typed_across_the_language_switch_but_never_the_password(page, axe):
    """A form with no draft (registration) carries its typing along in the tab: switch language, and the fields
    hold it again; the passwords are never kept; once sent, nothing is put back."""
    page.goto("/konto/registrer")
    page.fill("#name", "Kari Nordmann")
    page.fill("#email", "kari@bergen.kommune.no")
    page.fill("#password", "et langt passord som holder")
    switch_language(page, "nn")
    expect(page.locator("#name")).to_have_value("Kari Nordmann")
    expect(page.locator("#email")).to_have_value("kari@bergen.kommune.no")
    expect(page.locator("#password")).to_have_value("")
    stored = page.evaluate("JSON.stringify(Object.assign({}, window.sessionStorage))")
    assert "Kari Nordmann" in stored and "et langt passord" not in stored
    axe(page, "registration with typing carried over (nn)")
    # Sent (here refused: no kommune chosen, no password), the page shows what the server holds, nothing older.
    navigate(page, lambda: page.locator("main form#register-form button[type=submit]").last.click())
    assert page.evaluate("window.sessionStorage.length") == 0
