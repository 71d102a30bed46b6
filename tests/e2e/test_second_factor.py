"""In the browser: a new caseworker logs in, is taken to enrolment, reads the key off the page into an
"authenticator app" (pyotp), confirms the first code, sees the recovery codes once; logs out, logs in again with the
password and a code, first a wrong one. Every page passes axe-core and the Content-Security-Policy (the QR code is
inline SVG without style attributes; the page fixture fails on any CSP violation)."""

import pyotp
import pytest
from playwright.sync_api import expect

from grants.accounts.models import Role
from tests.e2e.conftest import settle
from tests.e2e.support import PASSWORD, by_label, fill_section, log_in, navigate, path, save, type_app_code
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e


def test_enrol_then_log_in_with_a_code(app, page, axe):
    email = "ny.saksbehandler@imdi.example"
    UserFactory(role=Role.caseworker, email=email, second_factor=False)
    settle()

    page.goto("/konto/logg-inn")
    fill_section(page, {"email": email, "password": PASSWORD})
    response = save(page)
    assert response.status == 200 and path(page) == "/konto/tofaktor/ny", path(page)
    qr = page.locator("main .qr-frame svg[role=img]")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 150
    axe(page, "enrolment")

    key = page.locator("main .secret-key code").inner_text().replace(" ", "")
    app_on_phone = pyotp.TOTP(key)
    by_label(page, "code").fill("000000" if app_on_phone.now() != "000000" else "111111")
    response = save(page)
    assert response.status == 422
    expect(page.locator("#error-summary")).to_be_focused()
    axe(page, "enrolment with a wrong code")

    by_label(page, "code").fill(app_on_phone.now())
    response = save(page)
    assert response.status == 200
    codes = page.locator("main ol.recovery-codes li")
    expect(codes).to_have_count(10)
    expect(page.locator("main button[data-print]")).to_be_visible()  # shown by app.js
    axe(page, "recovery codes")

    navigate(page, lambda: page.locator("main a[data-variant=primary]").click())
    navigate(page, lambda: page.locator('header form[action="/konto/logg-ut"] button').click())

    page.goto("/konto/logg-inn")
    fill_section(page, {"email": email, "password": PASSWORD})
    save(page)
    assert path(page) == "/konto/kode"
    axe(page, "the code after the password")
    right = app_on_phone.now()
    by_label(page, "code").fill(f"{(int(right) + 500_000) % 1_000_000:06d}")
    assert save(page).status == 422
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#code-error")).to_be_visible()
    axe(page, "a wrong code")
    response = type_app_code(page, email)
    assert response.status == 200 and path(page) not in ("/konto/kode", "/konto/logg-inn"), path(page)
    page.goto("/konto/tofaktor")
    axe(page, "the second factor page")


def test_the_login_helper_passes_the_code_page(app, page):
    UserFactory(role=Role.approver, email="godkjenner.e2e@imdi.example")
    settle()
    page.goto("/konto/logg-inn")
    assert log_in(page, "godkjenner.e2e@imdi.example").status == 200
    assert path(page) != "/konto/kode"
