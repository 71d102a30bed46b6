"""CSRF protection on every state-changing route (ASVS 3.5.1, 4.2.2), taken from the URL map: a route added
later is covered without anyone writing a line here.

For each rule that takes POST, PUT, PATCH or DELETE, as a role the access policy (tests/security/access_policy.py)
allows to use it, in the world of tests/security/test_access_policy.py, the same request is sent three times:

1. without a CSRF token                         -> refused by the CSRF check, and nothing in the database changed;
2. with a token valid for ANOTHER session (a second client, logged in as someone else; the token read from a
   form of its own)                             -> refused by the CSRF check, and nothing changed;
3. with the session's own token                 -> not refused for CSRF: the answer the access policy gives.

How the app answers a CSRF failure: Flask-WTF's CSRFProtect raises CSRFError (a 400 BadRequest) before any view
runs; grants/errors.py answers it with the bad-request page carrying a message of its own (the form had expired or
did not come from this service). The refusal asserted here is that: status 400, that message, AND the reason
Flask-WTF records for a CSRF failure ("The CSRF token is missing." / "The CSRF tokens do not match.", logged by
flask_wtf.csrf when it refuses), caught for each request.
"""

import logging
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from grants.extensions import db
from tests.security.access_policy import ALLOWED, ROLES
from tests.security.test_access_policy import BODIES, ROUTES, ROWS, build_world, classify, route_id, rule_for

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
MISSING, MISMATCH = "The CSRF token is missing.", "The CSRF tokens do not match."
CSRF_MESSAGE = "Skjemaet var utløpt eller kom ikke fra denne tjenesten"  # grants/errors.py, csrf_error, in bokmål

# Routes that take a state-changing method without CSRF protection, by design: (method, rule) -> reason.
# None today. The JSON API (grants/api, exempted from CSRF as a blueprint: it is read without cookies) has only GET
# routes; a POST added there would show up below as unprotected until it is listed here with its reason.
EXEMPT = {}

# Routes that an anonymous visitor may use without a token, their Origin checked instead: (method, rule) -> reason.
# As anonymous, the request is sent with another site's Origin (refused: the CSRF answer, nothing changed) and
# with none (allowed); every logged-in role is tried with tokens as above.
BY_ORIGIN_WHEN_ANONYMOUS = {
    ("POST", "/sprak"): "the language switch: an anonymous visitor's choice lives only in that visitor's session, "
                        "and its form carries no token so that public pages give no session "
                        "(grants.public.views.set_language)",
}

CSRF_ROUTES = sorted(route for route in ROUTES if route[0] in STATE_CHANGING)


@pytest.fixture(scope="module")
def world(database_url, instance_dir, _migrated):
    yield from build_world(database_url, instance_dir)


@contextmanager
def csrf_refusals():
    """The reasons Flask-WTF gives for the CSRF failures during the block (it logs each refusal)."""
    reasons = []

    class Catch(logging.Handler):
        def emit(self, record):
            reasons.append(record.getMessage())

    logger = logging.getLogger("flask_wtf.csrf")
    handler, level, disabled = Catch(logging.INFO), logger.level, logger.disabled
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.disabled = False  # Alembic's fileConfig, run by the migrations, disables the loggers that existed then
    try:
        yield reasons
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled


def fingerprint():
    """Every row of every table, to tell whether a request changed anything."""
    with db.engine.connect() as connection:
        return {table.name: connection.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
                for table in db.metadata.sorted_tables}


def users_of(route):
    """(role, on): a logged-in role the access policy lets use the route, and anonymous too where it may."""
    chosen = []
    for on, outcomes in ROWS.get(route, []):
        allowed = [role for role in ROLES if outcomes[role] == ALLOWED]
        logged_in = [role for role in allowed if role != "anonymous"]
        if logged_in:
            chosen.append((logged_in[0], on))
        if "anonymous" in allowed:
            chosen.append(("anonymous", on))
        if chosen:
            return chosen
    return chosen


def someone_else(role):
    return "caseworker" if role == "admin" else "admin"


def test_csrf_protection_is_on_and_every_route_is_covered(world):
    assert world.app.config["WTF_CSRF_ENABLED"] is True
    assert len(CSRF_ROUTES) >= 30
    stale = sorted(set(EXEMPT) - set(CSRF_ROUTES))
    assert not stale, f"EXEMPT lists routes that are not state-changing rules of the URL map: {stale}"
    nobody = [route_id(r) for r in CSRF_ROUTES if r not in EXEMPT and not users_of(r)]
    assert not nobody, f"the access policy allows nobody to use these routes, so CSRF cannot be tried: {nobody}"


@pytest.mark.parametrize("route", CSRF_ROUTES, ids=route_id)
def test_state_changing_route_refuses_a_request_without_the_sessions_csrf_token(world, route):
    method, text = route
    if route in EXEMPT:
        pytest.skip(f"exempt from CSRF by design: {EXEMPT[route]}")
    rule = rule_for(world.app, method, text)
    users = users_of(route)
    assert users, f"{method} {text}: the access policy allows nobody (is it in tests/security/access_policy.py?)"
    before = fingerprint()
    problems = []
    for role, on in users:
        if role == "anonymous" and route in BY_ORIGIN_WHEN_ANONYMOUS:
            problems += by_origin(world, rule, on, before)
            continue
        other = someone_else(role)
        assert world.tokens[other] != world.tokens[role]
        for url in world.urls(rule, on):
            body = BODIES[rule.endpoint](world) if rule.endpoint in BODIES else {}
            tries = (("no token", dict(body), MISSING),
                     (f"the token of {other}'s session", dict(body, csrf_token=world.tokens[other]), MISMATCH))
            for what, data, reason in tries:
                with csrf_refusals() as reasons:
                    response = world.send(role, method, url, data, restore=False)
                changed = fingerprint() != before
                world.restore(role)
                page = response.get_data(as_text=True)
                if response.status_code != 400 or CSRF_MESSAGE not in page or reasons != [reason]:
                    problems.append(f"{method} {url} as {role} with {what}: {response.status_code}, CSRF refusals "
                                    f"{reasons}; wanted 400, the CSRF message and [{reason!r}]")
                if changed:
                    problems.append(f"{method} {url} as {role} with {what}: the database changed")
            # the positive control: the session's own token passes the CSRF check, and access decides
            with csrf_refusals() as reasons:
                response = world.send(role, method, url, dict(body, csrf_token=world.tokens[role]))
            if reasons or classify(response) != ALLOWED:
                problems.append(f"{method} {url} as {role} with its own token: {response.status_code}, "
                                f"CSRF refusals {reasons}; wanted no refusal and an allowed answer")
    assert not problems, "\n".join(problems)


def by_origin(world, rule, on, before):
    """An anonymous request of a route in BY_ORIGIN_WHEN_ANONYMOUS: refused from another site's page (its Origin
    or Sec-Fetch-Site), allowed without a token from this site's. The problems found, as lines."""
    problems = []
    body = BODIES[rule.endpoint](world) if rule.endpoint in BODIES else {}
    client = world.clients["anonymous"]
    for url in world.urls(rule, on):
        for what, headers in (("another site's Origin", {"Origin": "https://attacker.example"}),
                              ("Sec-Fetch-Site cross-site", {"Sec-Fetch-Site": "cross-site"}),
                              ("Sec-Fetch-Site cross-site and this site's Origin",
                               {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"})):
            world.requests += 1
            response = client.open(url, method="POST", data=dict(body),
                                   headers=headers)
            changed = fingerprint() != before
            world.restore("anonymous")
            if response.status_code != 400 or CSRF_MESSAGE not in response.get_data(as_text=True):
                problems.append(f"POST {url} as anonymous with {what}: {response.status_code}; wanted 400 and "
                                f"the CSRF message")
            if "lang" in session_set_by(world.app, response) or response.headers.get("Location"):
                problems.append(f"POST {url} as anonymous with {what}: the choice was kept in the session or "
                                f"followed (a redirect)")
            if changed:
                problems.append(f"POST {url} as anonymous with {what}: the database changed")
        public = world.app.config["PUBLIC_BASE_URL"].rstrip("/")  # the origin behind a proxy that hides it
        for what, headers in (("this site's Origin", {"Origin": "http://localhost"}), ("no Origin", {}),
                              ("the public address as Origin", {"Origin": public}),
                              ("Sec-Fetch-Site same-origin", {"Sec-Fetch-Site": "same-origin",
                                                              "Origin": "https://proxy.internal"})):
            response = world.send("anonymous", "POST", url, dict(body), headers=headers)
            if classify(response) != ALLOWED or session_set_by(world.app, response).get("lang") != body.get("lang"):
                problems.append(f"POST {url} as anonymous with {what} and no token: {response.status_code}; "
                                f"wanted an allowed answer that keeps the language in the session")
    return problems


def session_set_by(app, response):
    """The session the response's cookie holds (a dict; empty when it sets none)."""
    name = app.config["SESSION_COOKIE_NAME"]
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            value = header.split(";", 1)[0].split("=", 1)[1]
            return app.session_interface.get_signing_serializer(app).loads(value) if value else {}
    return {}
