"""The throttles' pages in a browser, each checked with axe-core: a wrong password that starts a wait, an attempt
refused during the wait (429, the form kept, focus on the error summary), the pause, the unlock page from the
e-mail and its button, and the login after it. In the three languages.

A live server of its own, with the throttles on (the suite's shared server runs with them off). Nothing asserts on
a text of the UI: statuses, ids, addresses and the outbox."""

import time
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from grants.extensions import db
from grants.notify.models import Notice
from tests.e2e.conftest import serving, settle, watched_page
from tests.e2e.support import PASSWORD, log_in, path, switch_language
from tests.factories import municipal_user

pytestmark = pytest.mark.e2e

EMAIL = "kari@oslo.kommune.no"


@pytest.fixture
def throttled_server(database_url, instance_dir, _migrated):
    with serving(database_url, instance_dir, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                 RATELIMIT_KEY_PREFIX=f"e2e-{uuid.uuid4().hex}:", LOGIN_FREE_FAILURES=1,
                 LOGIN_LOCK_AFTER=2) as server:
        yield server


@pytest.fixture
def throttled_page(browser, throttled_server):
    with watched_page(browser, throttled_server.url) as page:
        yield page


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_waits_the_pause_and_the_unlock_link_are_accessible(app, throttled_page, axe, lang):
    page = throttled_page
    municipal_user("0301", email=EMAIL, name="Kari Nordmann", language=lang)
    db.session.commit()
    settle()
    page.goto("/konto/logg-inn")
    if lang != "nb":
        switch_language(page, lang)
    # the first failure starts a wait of one second: the form again, with the error summary
    response = log_in(page, EMAIL, "feil passord!!")
    assert response.status == 200 and path(page).startswith("/konto/logg-inn")
    expect(page.locator("#error-summary")).to_be_focused()
    axe(page, f"login after a failure, wait ({lang})")
    # at once again, with the right password: refused during the wait, not checked
    response = log_in(page, EMAIL, PASSWORD)
    assert response.status == 429
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#email")).to_have_value(EMAIL)
    axe(page, f"login refused during the wait ({lang})")
    time.sleep(1.1)
    # the second failure pauses logging in with the address; the owner gets the link
    assert log_in(page, EMAIL, "feil passord!!").status == 200
    axe(page, f"login paused ({lang})")
    assert log_in(page, EMAIL, PASSWORD).status == 429
    db.session.expire_all()
    mail = db.session.scalar(select(Notice).where(Notice.kind == "account_locked"))
    assert mail is not None and mail.language == lang and mail.recipient_email == EMAIL
    token = mail.context["token"]
    settle()  # after reading: a loaded attribute read later would begin a transaction that blocks the server
    page.goto(f"/konto/las-opp/{token}")
    assert page.evaluate("document.documentElement.lang") == lang
    axe(page, f"the unlock page ({lang})")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert path(page) == "/konto/logg-inn"
    expect(page.locator('.flash-messages .ds-alert[data-color="success"]')).to_be_visible()
    axe(page, f"login page after the pause is lifted ({lang})")
    response = log_in(page, EMAIL, PASSWORD)
    assert path(page) != "/konto/logg-inn", response.status
