"""Every application and attachment URL tried as another kommune's staff, as a partner, and anonymously;
every POST tried without a CSRF token."""

import io

import pytest

from grants.applications.models import Attachment
from grants.applications.workflow import State
from grants.core.timeutil import now_utc
from grants.extensions import db
from tests.applying import pdf_bytes
from tests.conftest import make_app
from tests.factories import ApplicationFactory, RoundFactory, UserFactory, municipal_user, municipality

SECTIONS = ("applicant", "project", "anchoring", "involvement", "transfer", "measurement", "budget", "history")


def application_urls(application_id, attachment_id):
    base = f"/soknader/{application_id}"
    gets = [base, f"{base}/vedlegg", f"{base}/vedlegg/{attachment_id}", f"{base}/kontroll", f"{base}/kvittering",
            f"{base}/soknad.pdf", f"{base}/trekk"] + [f"{base}/del/{s}" for s in SECTIONS]
    posts = [f"{base}/send", f"{base}/trekk", f"{base}/vedlegg", f"{base}/vedlegg/{attachment_id}/slett"] + [
        f"{base}/del/{s}" for s in SECTIONS]
    return gets, posts


@pytest.fixture
def case(app):
    round_ = RoundFactory()
    application = ApplicationFactory(round=round_, municipality_id=municipality("4601").id)
    attachment = Attachment(application=application, original_name="a.pdf", stored_name="x" * 32,
                            content_type="application/pdf", size=10, sha256="0" * 64)
    db.session.add(attachment)
    db.session.commit()
    return application, attachment


def test_other_kommunes_staff_reach_nothing(client, login_as, case):
    application, attachment = case
    outsider = municipal_user("0301")
    db.session.commit()
    login_as(outsider)
    gets, posts = application_urls(application.id, attachment.id)
    for url in gets:
        assert client.get(url).status_code in (403, 404), url
    for url in posts:
        assert client.post(url, data={"reason": "x", "submission_key": "k"}).status_code in (403, 404), url


def test_anonymous_users_reach_nothing(client, case):
    application, attachment = case
    gets, posts = application_urls(application.id, attachment.id)
    for url in gets:
        response = client.get(url)
        assert response.status_code == 302 and "/konto/logg-inn" in response.headers["Location"], url
    for url in posts:
        assert client.post(url).status_code in (302, 400), url


def test_partner_kommune_reads_but_cannot_change(client, login_as, case):
    application, attachment = case
    from grants.applications.models import ApplicationPartner

    db.session.add(ApplicationPartner(application_id=application.id, municipality_id=municipality("0301").id))
    partner = municipal_user("0301")
    db.session.commit()
    login_as(partner)
    assert client.get(f"/soknader/{application.id}").status_code == 200
    assert client.get(f"/soknader/{application.id}/del/project").status_code == 403
    assert client.post(f"/soknader/{application.id}/del/project", data={"title": "x"}).status_code == 403
    assert client.post(f"/soknader/{application.id}/send", data={"submission_key": "k"}).status_code == 403


def test_reviewer_without_assignment_sees_no_application(client, login_as, case):
    application, attachment = case
    application.state = State.submitted
    application.reference = "2025-0001"
    application.received_at = now_utc()
    reviewer = UserFactory(role="reviewer")
    db.session.commit()
    login_as(reviewer)
    assert client.get(f"/soknader/{application.id}").status_code == 403
    assert client.get(f"/soknader/{application.id}/vedlegg/{attachment.id}").status_code == 403


def test_every_post_without_a_csrf_token_is_refused(database_url, instance_dir, _migrated):
    app = make_app(database_url, instance_dir, WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = municipal_user("0301")
        round_ = RoundFactory()
        application = ApplicationFactory(round=round_, municipality_id=user.municipality_id)
        db.session.commit()
        client = app.test_client()
        page = client.get("/konto/logg-inn").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        assert client.post("/konto/logg-inn", data={"email": user.email, "password": "x"}).status_code == 400
        client.post("/konto/logg-inn", data={"email": user.email, "password": "correct horse battery",
                                             "csrf_token": token})
        with app.test_request_context():
            posts = [str(rule) for rule in app.url_map.iter_rules() if "POST" in rule.methods]
        assert len(posts) >= 10
        _gets, app_posts = application_urls(application.id, 1)
        for url in app_posts + ["/konto/logg-ut", "/sprak", "/soknader/ny", "/konto/profil", "/konto/passord",
                                "/konto/registrer", "/admin/utlysninger/ny", "/konto/brukere/1/godkjenn",
                                "/admin/utsendinger/1/send-igjen"]:
            response = client.post(url, data={"lang": "nb", "round_id": round_.id, "title": "x"})
            assert response.status_code in (400, 403), url
        db.session.remove()


def test_upload_is_refused_for_other_kommune_even_with_a_valid_file(client, login_as, case):
    application, _attachment = case
    login_as(municipal_user("0301"))
    response = client.post(f"/soknader/{application.id}/vedlegg",
                           data={"purpose": "general", "file": (io.BytesIO(pdf_bytes()), "a.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 404
