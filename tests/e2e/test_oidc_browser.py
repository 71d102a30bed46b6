"""Logging in with ID-porten in a browser, through a real OpenID provider's own login page (oidc-provider-mock over
HTTP, standing in for ID-porten): the invitation's page, the provider, back as a new user of the kommune, and out
again through the provider's end-session page. The app's pages on the way are checked with axe-core, and the page
fixture fails on any Content-Security-Policy violation (the logout's way on to the provider included)."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from grants.accounts import oidc_ops
from grants.accounts.models import User, UserStatus
from grants.extensions import db
from tests.e2e.conftest import serving, settle, watched_page
from tests.factories import municipal_user
from tests.oidc_support import configure, running_provider

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def provider():
    with running_provider() as running:
        yield running


@pytest.fixture
def oidc_server(database_url, instance_dir, _migrated, provider):
    with serving(database_url, instance_dir, prepare=lambda app: configure(app, provider, "idporten")) as server:
        yield server


@pytest.fixture
def oidc_page(browser, oidc_server):
    with watched_page(browser, oidc_server.url) as page:
        yield page


def test_an_invited_person_logs_in_with_idporten_and_out_again(app, oidc_page, oidc_server, provider, axe):
    page = oidc_page
    admin = municipal_user("0301", email="anne@oslo.kommune.no", name="Anne Admin", is_municipality_admin=True)
    db.session.flush()
    _invitation, token = oidc_ops.invite(admin, email="kari@oslo.kommune.no", name="Kari Nordmann")
    db.session.commit()
    provider.set_user("browser-person", pid="24079412345")
    settle()

    page.goto("/konto/logg-inn")
    expect(page.get_by_role("link", name="Logg inn med ID-porten")).to_be_visible()
    axe(page, "login page with ID-porten")

    page.goto(f"/konto/invitasjon/{token}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Oslo")
    axe(page, "invitation")
    page.get_by_role("link", name="Logg inn med ID-porten").click()

    # The provider's own login page: type the person and authorize.
    expect(page).to_have_url(re.compile(re.escape(provider.url) + r"/oauth2/authorize"))
    page.locator('input[name="sub"]').fill("browser-person")
    page.get_by_role("button", name="Authorize").click()

    expect(page).to_have_url(re.compile(re.escape(oidc_server.url)))
    expect(page.get_by_role("link", name="Kari Nordmann")).to_be_visible()  # the header's "signed in as"
    axe(page, "first page after logging in with ID-porten")
    settle()
    user = db.session.scalar(select(User).where(User.email == "kari@oslo.kommune.no"))
    assert user.status == UserStatus.active
    db.session.commit()

    # Logging out: the app's session ends, the browser goes on to the provider's end-session page and back.
    page.get_by_role("button", name="Logg ut").click()
    expect(page).to_have_url(re.compile(re.escape(provider.url) + r"/oauth2/end_session"))
    page.get_by_role("button", name="End session").click()
    expect(page).to_have_url(re.compile(re.escape(oidc_server.url) + r"/$"))
    expect(page.locator(".flash-messages")).to_contain_text("ID-porten")
    axe(page, "front page after logging out")
    page.goto("/konto/profil")
    expect(page).to_have_url(re.compile(r"/konto/logg-inn"))


def test_a_person_with_no_kommune_sees_an_accessible_page(app, oidc_page, provider, axe):
    page = oidc_page
    provider.set_user("no-kommune-person", pid="01010112345")
    settle()
    page.goto("/konto/logg-inn")
    page.get_by_role("link", name="Logg inn med ID-porten").click()
    page.locator('input[name="sub"]').fill("no-kommune-person")
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Du er ikke knyttet til en kommune ennå")
    axe(page, "no kommune yet")
    assert db.session.scalar(select(User.id).where(User.email.like("%"))) is None
