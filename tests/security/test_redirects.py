"""No open redirects (ASVS 15.2.x / 4.0.3 5.1.5): the login's and the language switch's ``next`` never send the
browser to another site, whatever it says. The unit tests of safe_next are in tests/unit; these go through the
views as a browser would, and read the Location header as a browser would."""

import pytest
from werkzeug.security import generate_password_hash

from grants.extensions import db
from tests.factories import PASSWORD, UserFactory
from tests.second_factor import pass_second_factor

NASTY = [
    "//evil.example", "///evil.example", "////evil.example/x", "/\\evil.example", "\\/evil.example",
    "\\\\evil.example", "/\\/evil.example", "https:evil.example", "https:/evil.example", "http://evil.example",
    "HTTPS://evil.example", "//evil.example@localhost", "https://localhost@evil.example", "%2F%2Fevil.example",
    "%2f%2fevil.example", "/%2F%2Fevil.example", "%5C%5Cevil.example", "javascript:alert(1)",
    "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)", "/ok\r\nLocation: https://evil.example", "/ok\nSet-Cookie: a=b", "%0d%0aLocation:%20//evil",
    "/\t/evil.example", "\t//evil.example", " //evil.example", "/\x00/evil.example", "//\u3002evil.example",
    "／／evil.example", "/\u2215\u2215evil.example", "http:\\\\evil.example", "\\evil.example", "evil.example",
    "@evil.example", ".evil.example", "//", "/" + "a" * 5000,
]


def assert_stays_on_site(response):
    assert response.status_code in (302, 303), response.status_code
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location
    assert "Set-Cookie: a=b" not in str(response.headers) and response.headers.get("Set-Cookie", "").count("a=b") == 0
    for prefix in ("http://localhost/", "https://localhost/"):
        if location.startswith(prefix):
            location = location[len(prefix) - 1:]
    # A browser resolves these against the current page; only a path that starts with one slash (not //, not
    # /\ which browsers read as //) and has no whitespace or control characters stays on this host.
    assert location.startswith("/"), location
    assert location[1:2] not in ("/", "\\"), location
    assert all(ord(ch) > 32 and ch != "\x7f" for ch in location), location


@pytest.fixture
def user(app):
    user = UserFactory(password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1"))
    db.session.commit()
    return user


def test_login_next_in_the_form(client, user):
    for target in NASTY:
        response = client.post("/konto/logg-inn", data={"email": user.email, "password": PASSWORD, "next": target})
        assert_stays_on_site(response)
        assert_stays_on_site(pass_second_factor(client, user, response))  # the next kept for after the code


def test_login_next_from_the_query_string(client, user):
    for target in NASTY:
        page = client.get("/konto/logg-inn", query_string={"next": target})
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and 'name="password"' in text, target  # the sign-in form, not an error
        assert "<script>alert" not in text and "\nSet-Cookie" not in page.headers.get("Set-Cookie", ""), target
        # the value goes into a hidden field, escaped, and the POST that follows is checked again
        response = client.post("/konto/logg-inn", query_string={"next": target},
                               data={"email": user.email, "password": PASSWORD, "next": target})
        assert_stays_on_site(response)
        assert_stays_on_site(pass_second_factor(client, user, response))


def test_login_next_that_is_local_is_kept(client, user):
    response = client.post("/konto/logg-inn", data={"email": user.email, "password": PASSWORD,
                                                     "next": "/konto/profil?tab=1"})
    response = pass_second_factor(client, user, response)
    assert response.headers["Location"] == "/konto/profil?tab=1"


def test_language_switch_next(client):
    for target in NASTY:
        assert_stays_on_site(client.post("/sprak", data={"lang": "en", "next": target}))


def test_language_switch_next_when_logged_in(client, user):
    pass_second_factor(client, user, client.post("/konto/logg-inn", data={"email": user.email, "password": PASSWORD}))
    for target in NASTY:
        assert_stays_on_site(client.post("/sprak", data={"lang": "nn", "next": target}))


def test_login_page_escapes_next(client):
    page = client.get("/konto/logg-inn", query_string={"next": '"><script>alert(1)</script>'}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
