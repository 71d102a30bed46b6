"""Browser tests: the real app served over HTTP on 127.0.0.1, driven by Playwright through Debian's Chromium.

* ``live_server``: the app (real CSRF, as a user has it) served by werkzeug's threaded ``make_server`` in a
  background thread, once per test session, against the migrated SQLite file database of ``tests.conftest``.
  Tests use the ``app`` fixture of tests/conftest.py as usual: it empties the tables before each test (keeping
  the municipality register) and holds an app context in which the factories create users and rounds.
* ``browser``: one Chromium per session; ``page``: a fresh context and page per test, which fails the test on a
  JavaScript error or a Content-Security-Policy violation.
* ``axe``: ``axe(page, "what")`` runs axe-core (WCAG 2.0/2.1 A and AA rules) on the page and fails with every
  violation's id, impact, targets and help.

SQLite and the test thread: every SQLite transaction of the app begins IMMEDIATE (grants.db.configure_sqlite),
so a transaction the test thread leaves open blocks every write of the server. Read what you need and end the
transaction (``db.session.commit()``) before driving the browser; ``settle()`` does that.

Only the SQLite parameter of ``database_url`` runs here; the PostgreSQL one is skipped (the web and
integration suites cover PostgreSQL, and the browser sees the same pages).
"""

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from grants.extensions import db
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GRANTS_CHROMIUM", "/usr/bin/chromium")  # Debian's; never a downloaded build
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
REQUIRE_SERVICES = os.environ.get("GRANTS_REQUIRE_SERVICES") == "true"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Generous upper bounds, reached only when something is wrong or the machine is very busy.
expect.set_options(timeout=15_000)


def missing(what):
    """Skip on a developer's machine; fail in CI (GRANTS_REQUIRE_SERVICES=true), where it must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"CI requires {what}")
    pytest.skip(what)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    skip_pg = pytest.mark.skip(reason="the browser tests run on SQLite only; PostgreSQL is covered by tests/web")
    for item in items:
        if here not in Path(str(item.fspath)).parents:
            continue
        item.add_marker(pytest.mark.e2e)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url", "sqlite") != "sqlite":
            item.add_marker(skip_pg)


# --- the server -------------------------------------------------------------------------------------------------

class QuietHandler(WSGIRequestHandler):
    """No line per request (the page loads would drown a failure's output); errors are still logged."""

    def log_request(self, *args, **kwargs):
        pass


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="e2e-live-server", daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()
        with self.app.app_context():
            db.engine.dispose()


@contextmanager
def serving(database_url, instance_dir, prepare=None, **settings):
    """A live server of the real app made with ``settings`` (real CSRF, as a user has it, always): started, yielded
    (its ``app`` is the app), stopped at the end. ``prepare(app)``, when given, runs before the server starts (a
    provider to configure, a WSGI layer to add). Skips on a database other than SQLite: the browser tests run there
    only. The suite's shared server is ``live_server``; a test that needs other settings makes its own with this."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the browser tests run on SQLite only")
    app = make_app(database_url, instance_dir, WTF_CSRF_ENABLED=True, **settings)
    if prepare is not None:
        prepare(app)
    server = LiveServer(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_server(database_url, instance_dir, _migrated):
    # Static files kept by the browser as in production (grants/static_files.py).
    with serving(database_url, instance_dir) as server:
        yield server


def settle():
    """End the test thread's transaction, so that the server can write (SQLite: BEGIN IMMEDIATE)."""
    db.session.commit()


# --- the browser ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def _playwright():
    if not Path(CHROMIUM).exists():
        missing(f"Debian's chromium is not installed at {CHROMIUM} (run `make browser`)")
    playwright = sync_playwright().start()
    yield playwright
    playwright.stop()


@pytest.fixture(scope="session")
def browser(_playwright):
    try:
        browser = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as error:  # noqa: BLE001 - reported as skip/fail with the reason
        missing(f"Chromium at {CHROMIUM} does not start: {error}")
    yield browser
    browser.close()


class PageProblems:
    """JavaScript errors and CSP violations seen by a page: the app's own script (static/js/app.js) must cause none."""

    def __init__(self):
        self.messages = []

    def console(self, message):
        text = message.text
        if message.type == "error" and "Content Security Policy" in text:
            self.messages.append(f"CSP: {text}")

    def page_error(self, error):
        self.messages.append(f"page error: {error}")


@contextmanager
def watched_page(browser, base_url, **options):
    """A page in a browser context of its own on ``base_url`` (Norwegian, Oslo's time, 1280 × 900 unless ``options``
    say otherwise; a 30 s timeout), closed at the end, when the test fails on any JavaScript error or
    Content-Security-Policy violation the page met (PageProblems)."""
    context = browser.new_context(**{"base_url": base_url, "locale": "nb-NO", "timezone_id": "Europe/Oslo",
                                     "viewport": {"width": 1280, "height": 900}, **options})
    context.set_default_timeout(30_000)
    problems = PageProblems()
    page = context.new_page()
    page.on("console", problems.console)
    page.on("pageerror", problems.page_error)
    try:
        yield page
    finally:
        context.close()
    assert not problems.messages, "\n".join(problems.messages)


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="nb-NO", timezone_id="Europe/Oslo",
                                  viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(30_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    problems = PageProblems()
    page = context.new_page()
    page.on("console", problems.console)
    page.on("pageerror", problems.page_error)
    yield page
    assert not problems.messages, "\n".join(problems.messages)


# --- axe-core ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def axe_source():
    if not AXE_JS.exists():
        missing(f"axe-core is not installed at {AXE_JS} (run `npm ci`)")
    return AXE_JS.read_text(encoding="utf-8")


def format_violations(violations):
    lines = []
    for v in violations:
        targets = [" ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"])
                   for node in v["nodes"]]
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} [{v.get('helpUrl', '')}]")
        for node, target in zip(v["nodes"], targets, strict=False):
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {target}: {summary[:300]}")
    return "\n".join(lines)


@pytest.fixture
def axe(axe_source):
    """axe(page, label): assert that axe-core finds no WCAG 2.1 A/AA violation on the page as it is now.

    The app's CSP forbids inline scripts, so axe is evaluated through the DevTools protocol (page.evaluate),
    which CSP does not govern; the page itself keeps its real CSP.
    """
    def run(page, label=""):
        # Colours are checked as they end, not halfway through a fade-in (a dialog opening on a busy machine).
        page.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished.catch(() => null)))")
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(axe_source)
        result = page.evaluate(
            """async (tags) => {
                const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
                return {violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    helpUrl: v.helpUrl, nodes: v.nodes.map(n => ({target: n.target,
                    failureSummary: n.failureSummary}))}))};
            }""",
            WCAG_TAGS,
        )
        violations = result["violations"]
        where = f"{label} ({page.url}, lang={page.evaluate('document.documentElement.lang')})"
        assert not violations, f"axe: {len(violations)} WCAG violation(s) on {where}:\n" + format_violations(
            violations)
        return result

    return run


# --- people -------------------------------------------------------------------------------------------------------

APPLICANT_EMAIL = "ola@oslo.kommune.no"


@pytest.fixture
def applicant(app):
    """A kommune user of Oslo (bokmål) and an open 2025 round; gives the user's e-mail address."""
    from tests.factories import RoundFactory, municipal_user

    municipal_user("0301", email=APPLICANT_EMAIL, name="Ola Nordmann", language="nb")
    RoundFactory(year=2025)
    db.session.commit()
    settle()
    return APPLICANT_EMAIL
