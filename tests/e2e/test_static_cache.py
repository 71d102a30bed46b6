"""A browser fetches the stylesheets and fonts once: on the next pages it takes them from its cache without
asking the server (fingerprinted URLs, ``Cache-Control: immutable``; grants/static_files.py).

The server counts the requests it gets for /static/, so the test sees what went over the wire, whatever the
browser's cache reports. The server keeps a file without fingerprint for no time at all here
(STATIC_MAX_AGE=0), so only the fingerprinted, immutable URLs can pass."""

import threading

import pytest

from tests.e2e.conftest import serving
from tests.factories import RoundFactory

pytestmark = pytest.mark.e2e


class StaticCounter:
    """WSGI middleware that notes the path of every request for /static/."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.paths = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"].startswith("/static/"):
            with self.lock:
                self.paths.append(environ["PATH_INFO"])
        return self.wsgi_app(environ, start_response)


@pytest.fixture
def counted_server(database_url, instance_dir, _migrated):
    counters = []

    def count(app):
        counters.append(StaticCounter(app.wsgi_app))
        app.wsgi_app = counters[0]

    with serving(database_url, instance_dir, prepare=count, STATIC_MAX_AGE=0) as server:
        yield server, counters[0]


def test_the_second_and_later_pages_ask_nothing_for_stylesheets_or_fonts(app, browser, counted_server):
    RoundFactory()
    from grants.extensions import db

    db.session.commit()
    server, counter = counted_server
    context = browser.new_context(base_url=server.url, locale="nb-NO")
    try:
        page = context.new_page()
        page.goto("/")
        page.wait_for_load_state("load")
        page.evaluate("document.fonts.ready.then(() => true)")
        first = list(counter.paths)
        assert sum(p.endswith(".css") for p in first) == 4, first
        assert any(p.endswith(".woff2") for p in first), first

        for path in ("/konto/logg-inn", "/", "/konto/registrer", "/"):
            page.goto(path)
            page.wait_for_load_state("load")
            page.evaluate("document.fonts.ready.then(() => true)")
        later = counter.paths[len(first):]
        assert later == [], f"asked again after the first page: {later}"
    finally:
        context.close()
