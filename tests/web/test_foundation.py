"""Public pages, login and sessions, registration and approval, profile, rounds administration."""

from datetime import date

import pytest
from sqlalchemy import select

from grants.accounts.models import Role, User, UserStatus
from grants.core.timeutil import deadline_utc
from grants.extensions import db
from grants.notify.models import Notice
from grants.rounds.models import Round
from tests.conftest import login
from tests.factories import PASSWORD, RoundFactory, UserFactory, municipal_user, municipality
from tests.second_factor import pass_second_factor


def test_front_page_lists_open_round_with_oslo_deadline(client, app):
    round_ = RoundFactory(deadline_date=date(2099, 2, 19), title_nb="Åpen runde")
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "Åpen runde" in page or "pen runde" in page
    assert "Søknadsfrist 19. februar 2099." in page and "kl. 23:59" not in page  # the deadline is the whole day
    detail = client.get(f"/utlysninger/{round_.id}")
    assert detail.status_code == 200


@pytest.mark.parametrize("lang, word", [("nb", 'lang="nb"'), ("nn", 'lang="nn"'), ("en", 'lang="en"')])
def test_language_switch_sets_page_language(client, lang, word):
    response = client.post("/sprak", data={"lang": lang, "next": "/"})
    assert response.status_code == 302
    assert word in client.get("/").get_data(as_text=True)


def test_a_signed_in_users_language_is_kept_for_the_next_session(client, login_as):
    user = UserFactory(role=Role.caseworker, language="nb")
    db.session.commit()
    login_as(user)
    assert client.post("/sprak", data={"lang": "nn", "next": "/"}).status_code == 302
    assert db.session.get(User, user.id).language == "nn"  # e-mails and letters follow it too
    client.post("/konto/logg-ut")
    login_as(user)
    assert 'lang="nn"' in client.get("/").get_data(as_text=True)


def test_language_switch_refuses_open_redirect(client):
    response = client.post("/sprak", data={"lang": "en", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_login_and_logout(client):
    user = UserFactory(role=Role.admin)
    db.session.commit()
    response = client.post("/konto/logg-inn", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    pass_second_factor(client, user, response)
    assert client.get("/admin/utlysninger/").status_code == 200
    client.post("/konto/logg-ut")
    assert client.get("/admin/utlysninger/").status_code == 302


def test_wrong_password_shows_error_and_no_session(client):
    user = UserFactory()
    db.session.commit()
    response = client.post("/konto/logg-inn", data={"email": user.email, "password": "wrong password!"})
    assert response.status_code == 200
    assert "error-summary" in response.get_data(as_text=True)


def test_cookie_copied_before_logout_is_refused_after(app, client):
    user = UserFactory(role=Role.admin)
    db.session.commit()
    login(client, user)
    stolen = client.get_cookie("grants_session").value
    client.post("/konto/logg-ut")
    thief = app.test_client()
    thief.set_cookie("grants_session", stolen)
    assert thief.get("/admin/utlysninger/").status_code == 302  # sent to login


def test_password_change_ends_other_sessions(app, client):
    user = UserFactory(role=Role.admin)
    db.session.commit()
    other = app.test_client()
    for c in (client, other):
        login(c, user)
    response = client.post("/konto/passord", data={"current_password": PASSWORD, "password": "a brand new sentence",
                                                   "confirm": "a brand new sentence"})
    assert response.status_code == 302
    assert client.get("/admin/utlysninger/").status_code == 200
    assert other.get("/admin/utlysninger/").status_code == 302


def test_session_id_changes_at_login(client):
    user = UserFactory(role=Role.admin)
    db.session.commit()
    client.get("/")
    before = client.get_cookie("grants_session")
    login(client, user)
    after = client.get_cookie("grants_session")
    assert after is not None and (before is None or before.value != after.value)


def test_first_user_of_a_kommune_is_approved_by_imdi_and_becomes_its_administrator(client, login_as):
    admin = UserFactory(role=Role.admin)
    db.session.commit()
    response = client.post("/konto/registrer", data={
        "name": "Kari Nordmann", "email": "kari@bergen.kommune.no", "municipality": "4601", "language": "nn",
        "password": "en lang og god setning", "confirm": "en lang og god setning",
    })
    assert response.status_code == 200
    kari = db.session.scalar(select(User).where(User.email == "kari@bergen.kommune.no"))
    assert kari.status == UserStatus.pending and kari.municipality.number == "4601"
    # pending users cannot log in, and are told why as a notice (the password was right: nothing to correct)
    response = client.post("/konto/logg-inn", data={"email": kari.email, "password": "en lang og god setning"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and client.get("/soknader/").status_code == 302  # not logged in
    assert "Brukerkontoen din venter på godkjenning." in page and 'id="error-summary"' not in page
    kinds = set(db.session.scalars(select(Notice.kind)))
    assert {"confirm_email", "user_pending"} <= kinds
    # The link in the e-mail confirms the address, once and for good.
    token = db.session.scalar(select(Notice).where(Notice.kind == "confirm_email")).context["token"]
    assert kari.email_confirmed_at is None
    response = client.get(f"/konto/bekreft/{token}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/konto/logg-inn")
    assert db.session.get(User, kari.id).email_confirmed_at is not None
    assert client.get("/konto/bekreft/not-a-token").headers["Location"] == "/"
    login_as(admin)
    assert client.post(f"/konto/brukere/{kari.id}/godkjenn").status_code == 302
    db.session.refresh(kari)
    assert kari.status == UserStatus.active and kari.is_municipality_admin


def test_later_colleague_is_approved_by_the_kommunes_administrator_not_by_another_kommune(app, client, login_as):
    leader = municipal_user("4601", is_municipality_admin=True)
    outsider = municipal_user("0301", is_municipality_admin=True)
    colleague = municipal_user("4601", status=UserStatus.pending)
    db.session.commit()
    login_as(outsider)
    assert client.post(f"/konto/brukere/{colleague.id}/godkjenn").status_code == 403
    client.post("/konto/logg-ut")
    login_as(leader)
    assert client.get("/konto/kolleger").status_code == 200
    assert client.post(f"/konto/brukere/{colleague.id}/godkjenn").status_code == 302
    db.session.refresh(colleague)
    assert colleague.status == UserStatus.active and not colleague.is_municipality_admin


def test_registration_errors_are_shown_and_input_kept(client):
    response = client.post("/konto/registrer", data={
        "name": "Ola", "email": "not-an-address", "municipality": "9999", "language": "nb",
        "password": "short", "confirm": "different",
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="error-summary"' in page and 'href="#email"' in page
    assert 'value="not-an-address"' in page


def test_profile_changes_name_and_language(client, login_as):
    user = municipal_user("0301")
    db.session.commit()
    login_as(user)
    response = client.post("/konto/profil", data={"name": "Nytt Navn", "language": "en", "job_title": "Rådgiver"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.name == "Nytt Navn" and user.language == "en"
    assert 'lang="en"' in client.get("/konto/profil").get_data(as_text=True)


def test_admin_creates_round_with_oslo_deadline(client, login_as):
    admin = UserFactory(role=Role.admin)
    RoundFactory()  # gives a scheme
    db.session.commit()
    login_as(admin)
    form = client.get("/admin/utlysninger/ny")
    assert form.status_code == 200
    data = {
        "slug": "ny-runde", "year": "2027", "area_number": "5", "title_nb": "Runde", "title_nn": "Runde",
        "title_en": "Round", "text_nb": "Tekst", "text_nn": "Tekst", "text_en": "Text", "budget": "10 000 000",
        "opens_at": "2027-01-24T09:00", "deadline_date": "2027-02-19", "min_participants": "10",
        "own_contribution_required": "y", "reminder_days": "14,7,1",
    }
    criteria = [("purpose", 3), ("capacity", 2)]
    for i, (code, weight) in enumerate(criteria):
        data.update({f"criteria-{i}-code": code, f"criteria-{i}-title_nb": code, f"criteria-{i}-title_nn": code,
                     f"criteria-{i}-title_en": code, f"criteria-{i}-weight": str(weight),
                     f"criteria-{i}-scale_min": "1", f"criteria-{i}-scale_max": "6"})
    response = client.post("/admin/utlysninger/ny", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    round_ = db.session.scalar(select(Round).where(Round.slug == "ny-runde"))
    assert round_.budget == 10_000_000
    assert round_.deadline_at == deadline_utc(date(2027, 2, 19))
    assert [c.code for c in round_.criteria] == ["purpose", "capacity"]
    assert round_.reference_prefix == "2027"

    # A second round the same year gets references of its own; a year that is not the deadline's is refused.
    response = client.post("/admin/utlysninger/ny", data=dict(data, slug="andre-runde"))
    assert response.status_code == 302
    assert db.session.scalar(select(Round.reference_prefix).where(Round.slug == "andre-runde")) == "2027-2"
    response = client.post("/admin/utlysninger/ny", data=dict(data, slug="feil-aar", year="2026"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'href="#year"' in page and "Året må være året for søknadsfristen" in page
    assert db.session.scalar(select(Round).where(Round.slug == "feil-aar")) is None


def test_round_form_errors_point_at_fields(client, login_as):
    admin = UserFactory(role=Role.admin)
    RoundFactory()
    db.session.commit()
    login_as(admin)
    response = client.post("/admin/utlysninger/ny", data={"slug": "X!", "budget": "ti millioner",
                                                           "criteria-0-code": "a"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#budget"' in page and 'href="#slug"' in page


def test_municipal_staff_cannot_reach_administration(client, login_as):
    user = municipal_user("0301")
    db.session.commit()
    login_as(user)
    for url in ("/admin/utlysninger/", "/admin/utlysninger/ny", "/konto/brukere", "/admin/utsendinger/"):
        assert client.get(url).status_code == 403


def test_error_pages(client):
    assert client.get("/finnes-ikke").status_code == 404
    assert "<h1" in client.get("/finnes-ikke").get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "default-src 'self'"):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_authenticated_pages_are_not_cached(client, login_as):
    user = UserFactory(role=Role.admin)
    db.session.commit()
    login_as(user)
    assert client.get("/admin/utlysninger/").headers["Cache-Control"] == "no-store"


def test_known_municipality_rows_are_loaded(app):
    assert municipality("1580").name == "Haram"
    assert municipality("0301").county.name == "Oslo"


def test_an_administrator_creates_a_staff_user_who_can_then_sign_in(client, login_as):
    admin = UserFactory(role=Role.admin)
    db.session.commit()
    login_as(admin)
    response = client.post("/konto/brukere/ny", data={
        "name": "Siri Saksbehandler", "email": "siri@imdi.example", "role": "caseworker", "language": "nn",
        "password": "en lang og god setning"})
    assert response.status_code == 302
    siri = db.session.scalar(select(User).where(User.email == "siri@imdi.example"))
    assert siri is not None and siri.role == Role.caseworker and siri.language == "nn"
    client.post("/konto/logg-ut")
    assert client.post("/konto/logg-inn", data={"email": "siri@imdi.example",
                                                "password": "en lang og god setning"}).status_code == 302


def test_forgotten_password_sends_a_reset_link_to_a_known_address_only(client):
    kari = UserFactory(email="kari@imdi.example")
    db.session.commit()
    for address in ("kari@imdi.example", "ingen@imdi.example"):
        response = client.post("/konto/glemt-passord", data={"email": address})
        assert response.status_code == 200 and "Sjekk e-posten din" in response.get_data(as_text=True)
    notices = db.session.scalars(select(Notice).where(Notice.kind == "password_reset")).all()
    assert [n.recipient_email for n in notices] == [kari.email]
