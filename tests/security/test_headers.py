"""Response headers (ASVS 3.4.x, 14.3.2, 3.2.1, 5.4.x): one snapshot per kind of response: a public page, a
logged-in page, error pages, a download and a JSON API response; HSTS with the production settings."""

import io
import re

import pytest
from werkzeug.security import generate_password_hash

from grants import create_app
from grants.accounts.models import Role
from grants.applications.models import Application
from grants.applications.workflow import State
from grants.core.timeutil import now_utc
from grants.extensions import db
from tests.applying import pdf_bytes
from tests.conftest import make_app
from tests.factories import PASSWORD, RoundFactory, UserFactory, municipal_user
from tests.second_factor import pass_second_factor

CHEAP = generate_password_hash(PASSWORD, "pbkdf2:sha256:1")

# The snapshot: every response carries exactly these.
EVERYWHERE = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def assert_snapshot(response, *, authenticated, production=False):
    for name, value in EVERYWHERE.items():
        assert response.headers.get(name) == value, (response.request.path, name, response.headers.get(name))
    csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    if production:
        assert response.headers.get("Strict-Transport-Security") == HSTS
    if authenticated:
        assert response.headers.get("Cache-Control") == "no-store", response.request.path


def log_in(client, user):
    response = client.post("/konto/logg-inn", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    pass_second_factor(client, user, response)  # IMDi staff type their app's code (tests/second_factor.py)


@pytest.fixture
def kommune_with_attachment(app, client):
    round_ = RoundFactory(year=2025)
    staff = municipal_user("0301", password_hash=CHEAP)
    db.session.commit()
    log_in(client, staff)
    application_id = int(re.search(r"/soknader/(\d+)", client.post("/soknader/ny", data={"round_id": round_.id})
                                   .headers["Location"]).group(1))
    response = client.post(f"/soknader/{application_id}/vedlegg",
                           data={"purpose": "general", "file": (io.BytesIO(pdf_bytes()), "plan.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    application = db.session.get(Application, application_id)
    return application, application.attachments[0]


def test_public_page(client):
    RoundFactory()
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 200
    assert_snapshot(response, authenticated=False)


def test_logged_in_pages(app, client, kommune_with_attachment):
    application, _attachment = kommune_with_attachment
    for url in ("/soknader/", f"/soknader/{application.id}", f"/soknader/{application.id}/del/project",
                "/konto/profil", "/"):  # a public page seen by a logged-in user is personal too (the header)
        response = client.get(url)
        assert response.status_code == 200, url
        assert_snapshot(response, authenticated=True)


def test_error_pages(database_url, instance_dir, _migrated):
    app = make_app(database_url, instance_dir)

    @app.route("/test-boom")
    def boom():
        raise RuntimeError("secret internals: /etc/shadow")

    with app.app_context():
        client = app.test_client()
        not_found = client.get("/finnes-ikke")
        assert not_found.status_code == 404
        assert_snapshot(not_found, authenticated=False)
        crashed = client.get("/test-boom")
        assert crashed.status_code == 500
        assert_snapshot(crashed, authenticated=False)
        body = crashed.get_data(as_text=True)
        assert "secret internals" not in body and "Traceback" not in body  # ASVS 16.5.1: a generic page
        not_allowed = client.put("/")
        assert not_allowed.status_code == 405
        assert set(not_allowed.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}  # RFC 9110 15.5.6
        assert "Ugyldig forespørsel" in not_allowed.get_data(as_text=True)  # the bad-request page, not "went wrong"
        assert_snapshot(not_allowed, authenticated=False)
        db.session.remove()


def test_attachment_download(client, kommune_with_attachment):
    application, attachment = kommune_with_attachment
    response = client.get(f"/soknader/{application.id}/vedlegg/{attachment.id}")
    assert response.status_code == 200
    assert_snapshot(response, authenticated=True)
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.mimetype == "application/pdf"
    pdf = client.get(f"/soknader/{application.id}/soknad.pdf")
    assert_snapshot(pdf, authenticated=True)
    assert pdf.headers["Content-Disposition"].startswith("attachment;") and pdf.mimetype == "application/pdf"


def test_attachment_download_on_imdis_side(app, kommune_with_attachment):
    application, attachment = kommune_with_attachment
    application.state, application.reference, application.received_at = State.submitted, "2025-0001", now_utc()
    caseworker = UserFactory(role=Role.caseworker, password_hash=CHEAP)
    db.session.commit()
    client = app.test_client()
    log_in(client, caseworker)
    for url in (f"/soknader/{application.id}/vedlegg/{attachment.id}",
                f"/saksbehandling/soknader/{application.id}/vedlegg/{attachment.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_snapshot(response, authenticated=True)
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.mimetype not in ("text/html", "image/svg+xml")


def test_json_api(client):
    for url in ("/api/v1/rounds", "/api/v1/openapi.json", "/api/v1/rounds/999999/summary"):
        response = client.get(url)
        assert response.mimetype == "application/json", url
        assert_snapshot(response, authenticated=False)


def test_production_sends_hsts_everywhere(database_url, instance_dir, _migrated, tmp_path):
    app = create_app("production", SECRET_KEY="p" * 48, SQLALCHEMY_DATABASE_URI=database_url,
                     CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
                     UPLOAD_DIR=str(tmp_path / "uploads"), MAIL_DIR=str(tmp_path / "mail"),
                     RATELIMIT_STORAGE_URI="memory://", RATELIMIT_ENABLED=False)
    with app.app_context():
        client = app.test_client()
        for url, status in (("/", 200), ("/konto/logg-inn", 200), ("/finnes-ikke", 404), ("/api/v1/rounds", 200)):
            response = client.get(url, base_url="https://tilskudd.example")
            assert response.status_code == status, url
            assert_snapshot(response, authenticated=False, production=True)
        db.session.remove()
