"""Static files as a browser keeps them (grants/static_files.py): the layout links fingerprinted URLs, served
with a year's immutable caching, brotli or gzip when accepted, the security headers, and without touching the
session or the database.

``make test`` runs ``make assets``, which writes the fingerprinted copies and their manifest; these tests read
the real static folder, so they fail if that step stops making them.
"""

import re
from pathlib import Path
from urllib.parse import urljoin

import pytest

from grants.static_files import YEAR
from tests.factories import municipal_user

STATIC = Path(__file__).resolve().parents[2] / "grants" / "static"
FINGERPRINT = re.compile(r"-[0-9a-f]{32}\.\w+$")
IMMUTABLE = f"max-age={YEAR}, public, immutable"


@pytest.fixture
def stylesheets(client):
    assert (STATIC / "cache_manifest.json").exists(), "run `make assets`: it fingerprints the static files"
    page = client.get("/konto/logg-inn").get_data(as_text=True)
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert len(links) == 4, links
    return links


def test_the_layout_links_fingerprinted_stylesheets_kept_for_a_year(client, stylesheets):
    for url in stylesheets:
        assert url.startswith("/static/") and FINGERPRINT.search(url), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.mimetype == "text/css"


def test_the_fonts_a_stylesheet_names_are_kept_for_a_year(client, stylesheets):
    (fonts_css,) = [url for url in stylesheets if "/inter/" in url]
    css = client.get(fonts_css).get_data(as_text=True)
    fonts = [urljoin(fonts_css, ref) for ref in re.findall(r"url\(([^)]+)\)", css)]
    assert len(fonts) == 4, fonts
    for url in fonts:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "font/woff2"
        assert response.headers["Cache-Control"] == IMMUTABLE


@pytest.mark.parametrize(("accepts", "encoding"), [("br, gzip", "br"), ("gzip", "gzip"), ("", None)])
def test_stylesheets_come_compressed_when_the_browser_accepts_it(client, stylesheets, accepts, encoding):
    url = [u for u in stylesheets if "/css/app-" in u][0]
    response = client.get(url, headers={"Accept-Encoding": accepts})
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers.get("Vary", "")
    if encoding is None:
        assert response.data == (STATIC / url.removeprefix("/static/")).read_bytes()


def test_a_name_without_fingerprint_is_kept_only_briefly(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "max-age=60, public"


def test_a_static_file_costs_a_signed_in_user_no_query_and_no_cookie(app, client, stylesheets, login_as,
                                                                     count_queries):
    user = municipal_user("0301")
    login_as(user)
    with count_queries() as counter:
        for url in stylesheets:
            response = client.get(url)
            assert response.status_code == 200
            assert "Set-Cookie" not in response.headers
    assert counter.count == 0, counter.statements


def test_a_missing_static_file_is_the_apps_own_404(client):
    response = client.get("/static/css/none-such.css")
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True)


def test_the_links_follow_the_root_the_app_is_mounted_under(client, stylesheets):
    """The URLs are remembered per process (grants.static_files._kept), keyed by the application's root: the
    same app behind a path prefix (SCRIPT_NAME) links its files under that prefix, and without it as before."""
    page = client.get("/konto/logg-inn", base_url="http://localhost/tilskudd").get_data(as_text=True)
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', page) == ["/tilskudd" + url for url in stylesheets]
    again = client.get("/konto/logg-inn").get_data(as_text=True)
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', again) == stylesheets
