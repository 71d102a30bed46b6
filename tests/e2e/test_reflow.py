"""Reflow (WCAG 2.1 1.4.10): at 320 CSS px wide, which is 1280 px at 400 % zoom, no page scrolls sideways.

The demo data (``flask grants seed-demo``: the 2024 and 2025 rounds replayed through the real operations, an open
round, IMDi's staff and six kommuner) is loaded, and a crawler walks every page it can reach by following links
as each role: anyone (not logged in), a kommune's user, a caseworker, a reviewer and the administrator. On each
page it asserts that ``document.documentElement.scrollWidth <= 320``: a table may scroll inside its focusable region
(templates/_macros/pages.html, table_scroll), the page may not. Pages that differ only by an id are the same
template; the crawler visits at most PER_KIND of each, so the walk stays short while reaching every kind of page.
The URLs visited are printed and the test fails if fewer than the known number were reached, so a broken link or
a login that no longer works cannot make it pass by visiting nothing.

axe-core checks the public pages this change made or changed (front page, round, index of allocations, summary,
data page) at the same width."""

import re
from collections import Counter, deque
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from grants.accounts.models import User
from grants.demo import DEMO_PASSWORD, STAFF
from grants.demo import seed_demo as load_demo
from grants.extensions import db
from grants.rounds.models import Round
from tests.e2e.conftest import settle
from tests.e2e.support import html_lang, log_in, switch_language
from tests.factories import ApplicationFactory, submitted_application

WIDTH, HEIGHT = 320, 640
PER_KIND = 2
MAX_PAGES = 80  # per role: far more than the kinds of page there are

ROLES = {
    "public": None,
    "kommune": "oslo@kommune.example",
    "caseworker": next(email for email, _name, role in STAFF if role == "caseworker"),
    "reviewer": next(email for email, _name, role in STAFF if role == "reviewer"),
    "admin": next(email for email, _name, role in STAFF if role == "admin"),
}
# The fewest pages each role must reach (measured on the demo data, with a margin for data that moves with the
# date the test runs).
AT_LEAST = {"public": 12, "kommune": 27, "caseworker": 32, "reviewer": 12, "admin": 48}

# Not pages: files, the language switch and logout (POST forms, never links), pages that end the session.
SKIP = re.compile(r"\.(csv|xlsx|json|pdf|svg|png|ico|css|js)$|^/static/|^/api/|/logg-ut|/sprak")

OVERFLOW_JS = """(width) => {
    const root = document.documentElement;
    if (root.scrollWidth <= width) return null;
    // The innermost elements whose box or content (a long word, a wide child) reaches past the viewport, outside
    // the regions that scroll by themselves: what to fix.
    const edge = (el) => {
        const r = el.getBoundingClientRect();
        // A box that clips or scrolls keeps its content inside; any other box is as wide as what it holds.
        return getComputedStyle(el).overflowX === 'visible' ? Math.max(r.right, r.left + el.scrollWidth) : r.right;
    };
    // Taken out of the flow, an element belongs to its positioned ancestor, which may be outside the region.
    const placedOutside = (el) => ['absolute', 'fixed'].includes(getComputedStyle(el).position);
    const considered = (el) =>
        !(el.parentElement && el.parentElement.closest('.table-scroll') && !placedOutside(el))  // scrolls inside
        && !(el.parentElement && el.parentElement.closest('svg'))          // drawn inside a scaled viewBox
        && el.getBoundingClientRect().width > 0;
    const wide = (el) => considered(el) && edge(el) > width + 0.5;
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
        if (wide(el) && !Array.from(el.children).some(wide)) {
            out.push(el.outerHTML.slice(0, 160) + ` (reaches ${Math.round(edge(el))})`);
        }
    }
    return {scrollWidth: root.scrollWidth, culprits: out.slice(0, 5)};
}"""

MY_PAGES = re.compile(r"^/$|^/utlysninger/\d+$|^/tildelinger$|^/tildelinger/\d+$|^/tildelinger/data$")


def kind(path):
    """Pages that differ only by the numbers in their address or the values of its query are one kind."""
    url = urlsplit(path)
    keys = sorted(part.split("=", 1)[0] for part in url.query.split("&") if part)
    return re.sub(r"\d+", "N", url.path) + "?" + "&".join(keys)


def links(page, base):
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    found = []
    for href in hrefs:
        if not href or href.startswith(("#", "mailto:", "tel:")):
            continue
        url = urlsplit(urljoin(base + "/", href))
        if f"{url.scheme}://{url.netloc}" != base:
            continue
        path = url.path + (f"?{url.query}" if url.query else "")
        if not SKIP.search(url.path):
            found.append(path)
    return found


def walk(page, base, start, visit, per_kind=PER_KIND, max_pages=MAX_PAGES):
    """Follow the links of every page reachable from ``start`` (paths; ``page``'s context has ``base`` as its
    base_url), at most ``per_kind`` pages of each kind and ``max_pages`` in all; on each HTML page call
    ``visit(path, response)`` and keep what it gives. Returns the list of those, in the order visited
    (bench/crawl.py walks the same way)."""
    seen, counted, visited = set(), Counter(), []
    queue = deque(start)
    while queue and len(visited) < max_pages:
        path = queue.popleft()
        if path in seen or counted[kind(path)] >= per_kind:
            continue
        seen.add(path)
        try:
            response = page.goto(path)
        except PlaywrightError as error:  # a link that turns out to be a download is not a page
            if "Download is starting" in str(error):
                continue
            raise
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        counted[kind(path)] += 1
        visited.append(visit(path, response))
        queue.extend(p for p in links(page, base) if p not in seen)
    return visited


def crawl(page, base, start, axe, checked_axe):
    """Visit what can be reached from ``start``; give [(path, status, problem or None)]."""

    def visit(path, response):
        overflow = page.evaluate(OVERFLOW_JS, WIDTH)
        if response.ok and MY_PAGES.match(path) and path not in checked_axe:
            checked_axe.add(path)
            axe(page, f"{path} at {WIDTH} px")
        return path, response.status, overflow

    return walk(page, base, start, visit)


@pytest.fixture
def demo(app):
    """The demo data, and in its open round what the demo leaves out: a draft of the kommune's (its form pages)
    and a submitted application from another kommune (the caseworker's formal check)."""
    load_demo()
    open_round = db.session.scalar(select(Round).where(Round.slug.like("%-open")))
    kommune = db.session.scalar(select(User).where(User.email == ROLES["kommune"]))
    ApplicationFactory(round=open_round, municipality_id=kommune.municipality_id, created_by_id=kommune.id,
                       title="Utkast til et nytt prosjekt")
    submitted_application(open_round, number="4601", title="Mottatt søknad fra Bergen")
    settle()


@pytest.mark.parametrize("role", list(ROLES))
def test_every_reachable_page_reflows_at_320_px(app, demo, browser, live_server, axe, role):
    context = browser.new_context(base_url=live_server.url, locale="nb-NO", timezone_id="Europe/Oslo",
                                  viewport={"width": WIDTH, "height": HEIGHT}, accept_downloads=False)
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        start = ["/", "/tildelinger", "/tildelinger/data", "/tilgjengelighet"]
        if ROLES[role]:
            page.goto("/konto/logg-inn")
            assert log_in(page, ROLES[role], DEMO_PASSWORD).ok
            assert "/logg-inn" not in page.url, f"{role} could not log in"
            start = [urlsplit(page.url).path, *start]
        visited = crawl(page, live_server.url, start, axe, set())
    finally:
        context.close()

    listing = "\n".join(f"  {status} {path}" + (f"  OVERFLOWS {o['scrollWidth']} px: {o['culprits']}" if o else "")
                        for path, status, o in visited)
    print(f"\n{role}: {len(visited)} pages at {WIDTH}x{HEIGHT}:\n{listing}")
    assert len(visited) >= AT_LEAST[role], f"{role} reached only {len(visited)} pages:\n{listing}"
    assert all(status < 500 for _path, status, _o in visited), listing
    wide = [(path, o) for path, _status, o in visited if o]
    assert not wide, f"{len(wide)} page(s) scroll sideways at {WIDTH} px as {role}:\n{listing}"


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_the_public_allocation_pages_pass_axe_in_each_language(app, demo, page, axe, lang):
    """The pages this change made or changed, at the usual width, in each language: front page, index of
    allocations, a summary, the data page, a round's page."""
    summary = db.session.scalar(select(Round).where(Round.slug == "2025")).id
    settle()
    page.goto("/")
    switch_language(page, lang)
    axe(page, f"front page ({lang})")
    for path in ("/tildelinger", f"/tildelinger/{summary}", "/tildelinger/data", f"/utlysninger/{summary}"):
        response = page.goto(path)
        assert response.ok, path
        assert html_lang(page) == lang
        axe(page, f"{path} ({lang})")
