"""The access policy of tests/security/access_policy.py, tested whole: every rule of app.url_map x every method
it takes x every role, against a world with one object of each kind the rules need (ASVS 8.1.1, 8.2.2, 8.4.1).

One test per rule and method, so a failure names them; inside it every role and every ``on`` row of the table is
tried and the mismatches are reported together. A rule of the URL map that the table lacks fails its test, and so
does a row of the table whose rule is gone.

The world is built once for the module and every role logs in once (CSRF protection on: every POST carries the
token of the client's own session, so only the access decision can refuse it). After each request the database is
put back from a snapshot (SQLite's backup API) and the client's cookie is restored, so an allowed POST (a
submission, an approval, a logout) changes nothing for the next check. The snapshot needs SQLite; the policy does
not depend on the database, so the module runs on the SQLite backend only."""

import hashlib
import re
import sqlite3
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.routing.converters import AnyConverter

from grants import create_app
from grants.accounts import oidc_ops, throttling
from grants.accounts import operations as accounts_ops
from grants.accounts.models import Role, UserStatus
from grants.applications.models import ApplicationPartner, Attachment
from grants.applications.workflow import State
from grants.core.timeutil import now_utc, oslo_date
from grants.decisions import operations as decision_ops
from grants.extensions import db
from grants.followup import operations as followup_ops
from grants.followup import repayments as repayment_ops
from grants.followup import reports
from grants.messages import operations as message_ops
from grants.notify.models import Notice, NoticeState
from grants.outcomes import cache as summary_cache
from grants.outcomes.publishing import publish
from grants.review import operations as review_ops
from grants.rounds.operations import set_criteria
from tests.applying import pdf_bytes
from tests.conftest import FreshRequestClient, _clean, make_app
from tests.factories import PASSWORD, ApplicationFactory, RoundFactory, municipality, submitted_application
from tests.second_factor import pass_second_factor
from tests.security.access_policy import (
    ALLOWED,
    FORBIDDEN,
    KNOWN_DEVIATIONS,
    LOGIN,
    NOT_FOUND,
    POLICY,
    ROLES,
    expected,
)
from tests.security.support import user

IGNORED_METHODS = {"HEAD", "OPTIONS"}
SIGN_IN = "/konto/logg-inn"
LEAD, PARTNER, OTHER = "4601", "5001", "1103"  # Bergen applies with Trondheim; Stavanger has no part in it
CHECKS = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)
CRITERIA = [{"code": "purpose", "weight": 1, "title_nb": "Formål", "title_nn": "Føremål", "title_en": "Purpose"}]
STATIC_FILE = "css/app.css"

# What a POST sends besides its CSRF token: the least the view needs to reach its decision. Everything else is
# posted empty, which an allowed user answers with the form's validation (422) or a redirect.
BODIES = {
    "public.set_language": lambda world: {"lang": "nb", "next": "/"},
    "applications.start": lambda world: {"round_id": world.params["round"]["round_id"]},
    "applications.submit": lambda world: {"submission_key": "access-policy"},
    "outcomes.publish": lambda world: {"note": "Retting av tallene."},
    "outcomes.unpublish": lambda world: {"reason": "Feil tall."},
}


# --- the URL map and the table ---------------------------------------------------------------------------------

def url_map_routes(app=None):
    """{(method, rule): endpoint} of the app's URL map, HEAD and OPTIONS aside."""
    app = app or create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", CELERY_BROKER_URL="memory://")
    return {(method, rule.rule): rule.endpoint for rule in app.url_map.iter_rules()
            for method in rule.methods - IGNORED_METHODS}


def policy_rows():
    """{(method, rule): [(on, {role: outcome})]} of the table."""
    rows = defaultdict(list)
    for method, rule, on, outcomes in POLICY:
        rows[method, rule].append((on, expected(outcomes)))
    return dict(rows)


ROUTES = url_map_routes()
ROWS = policy_rows()


def route_id(route):
    method, rule = route
    return f"{method} {rule}"


# --- what an answer means ---------------------------------------------------------------------------------------

def is_sign_in_redirect(response):
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    location = urlsplit(response.headers.get("Location", ""))
    return location.path == SIGN_IN and "next" in parse_qs(location.query)


def classify(response):
    """The outcome of an answer, in the words of the table (see access_policy's docstring), or what it was."""
    status = response.status_code
    if is_sign_in_redirect(response):
        return LOGIN
    if 200 <= status < 400 or status == 422:
        return ALLOWED
    return {403: FORBIDDEN, 404: NOT_FOUND}.get(status, f"HTTP {status}")


def csrf_token_in(response):
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert match, f"no CSRF token on the page ({response.status_code} {response.request.path})"
    return match.group(1)


# --- the world --------------------------------------------------------------------------------------------------

class World:
    """Everyone of ROLES with a logged-in client, one object of each kind, and a snapshot to go back to."""

    def __init__(self, app):
        self.app = app
        self.people = {}
        self.clients = {}
        self.tokens = {}
        self.params = {}
        self.files = {}
        self.cookies = {}
        self._snapshot = None
        self.requests = 0

    # building
    def build(self):
        lead, partner, other = (municipality(n) for n in (LEAD, PARTNER, OTHER))
        kommune = dict(role=Role.municipal)
        self.people = {
            "lead_staff": user(**kommune, municipality_id=lead.id, name="Lead Staff"),
            "lead_admin": user(**kommune, municipality_id=lead.id, is_municipality_admin=True, name="Lead Admin"),
            "partner_staff": user(**kommune, municipality_id=partner.id, name="Partner Staff"),
            "other_kommune": user(**kommune, municipality_id=other.id, is_municipality_admin=True,
                                  name="Other Kommune's Admin"),
            "caseworker": user(role=Role.caseworker),
            "reviewer": user(role=Role.reviewer),
            "reviewer_undeclared": user(role=Role.reviewer),
            "reviewer_unassigned": user(role=Role.reviewer),
            "reviewer_conflicted": user(role=Role.reviewer),
            "approver": user(role=Role.approver),
            "admin": user(role=Role.admin),
        }
        # the people who made the world are none of the roles: no role is the proposer or approver of anything
        maker = user(role=Role.caseworker, name="World Caseworker")
        checker = user(role=Role.approver, name="World Approver")
        publisher = user(role=Role.admin, name="World Admin")
        pending = user(**kommune, municipality_id=lead.id, status=UserStatus.pending, name="Pending Colleague")
        forgetful = user(**kommune, municipality_id=other.id, name="Forgetful")

        open_round = RoundFactory(appeals_allowed=True)
        set_criteria(open_round, CRITERIA)
        closed_round = RoundFactory(closed=True, scheme=open_round.scheme)

        applications = {"draft": ApplicationFactory(round=open_round, municipality_id=lead.id, title="Utkast",
                                                    created_by_id=self.people["lead_staff"].id)}
        for state in ("submitted", "in_review", "decided", "appealed", "reported"):
            applications[state] = submitted_application(open_round, LEAD, title=f"Felles søknad ({state})",
                                                        submitted_by_id=self.people["lead_staff"].id)
        attachments = {}
        for state, application in applications.items():
            db.session.add(ApplicationPartner(application_id=application.id, municipality_id=partner.id))
            attachments[state] = self._attachment(application)
        db.session.flush()

        assignments = {}
        for state in ("in_review", "decided", "appealed", "reported"):
            application = applications[state]
            review_ops.formal_check(application, maker, checks=CHECKS, accept=True)
            for role in ("reviewer", "reviewer_undeclared", "reviewer_conflicted"):
                assignments[state, role] = review_ops.assign(application, self.people[role], maker)
            review_ops.declare(application, self.people["reviewer"], conflict=False)
            review_ops.declare(application, self.people["reviewer_conflicted"], conflict=True,
                               reason="Nær familie i prosjektgruppen.")
        decisions = {}
        for state in ("decided", "appealed", "reported"):
            decisions[state] = decision_ops.propose_decision(applications[state], maker, outcome="granted",
                                                           amount=200_000)
            decision_ops.approve_decision(decisions[state], checker)
        decision_ops.release_round(open_round, checker)
        appeal = decision_ops.lodge_appeal(decisions["appealed"], self.people["lead_staff"], "Vi klager på beløpet.")
        grant = followup_ops.grant_of(applications["appealed"])  # "decided" keeps its grant waiting for an answer
        followup_ops.accept_grant(grant, self.people["lead_staff"], account="86011117947", confirms_conditions=True)
        payment = followup_ops.propose_payment(grant, maker, 50_000)
        # The appealed case's report is a draft with a document; the reported case's report is sent, with one.
        lead_staff = self.people["lead_staff"]
        draft = reports.draft_for(grant, lead_staff)
        draft_document = reports.add_attachment(draft, lead_staff, "regnskap.pdf", pdf_bytes())
        reported_grant = followup_ops.grant_of(applications["reported"])
        followup_ops.accept_grant(reported_grant, lead_staff, account="86011117947", confirms_conditions=True)
        sent = reports.draft_for(reported_grant, lead_staff)
        sent_document = reports.add_attachment(sent, lead_staff, "regnskap.pdf", pdf_bytes())
        reports.submit(sent, lead_staff, participants=12, spending=[], own_contribution=0, unused=0)
        # Repayment claims on money paid: a proposal (the "appealed" object's claim) and one approved and sent to
        # the kommune (the "claimed" object's), both by the world's own people.
        paid = followup_ops.propose_payment(grant, maker, 100_000)
        followup_ops.approve_payment(paid, checker)
        followup_ops.mark_paid(paid, maker, oslo_date(now_utc()))
        due = oslo_date(now_utc()) + timedelta(days=30)
        proposed_claim = repayment_ops.propose_claim(grant, maker, amount=10_000, reason="Ikke brukt.", due_on=due)
        sent_claim = repayment_ops.propose_claim(grant, maker, amount=20_000, reason="Ikke brukt.", due_on=due)
        repayment_ops.approve_claim(sent_claim, checker)
        decisions["in_review"] = decision_ops.propose_decision(applications["in_review"], maker, outcome="granted",
                                                             amount=150_000)
        # IMDi asks the kommune for information (open: the kommune has not answered) and keeps an internal note,
        # each with a document
        request = message_ops.write(applications["in_review"], maker, "Send oss vedtaket.",
                                    answer_by=oslo_date(now_utc()) + timedelta(days=30),
                                    uploads=[("mal.pdf", pdf_bytes())])
        note = message_ops.write(applications["in_review"], maker, "Internt notat.", internal=True,
                                 uploads=[("notat.pdf", pdf_bytes())])
        for message in (request, note):
            path = Path(self.app.config["UPLOAD_DIR"]) / message.attachments[0].stored_name
            self.files[path] = path.read_bytes()
        summary = publish(closed_round, publisher)
        notice = db.session.scalars(select(Notice).order_by(Notice.id)).first()
        notice.state, notice.attempts, notice.last_error = NoticeState.failed, 6, "550 mailbox unavailable"
        email_token = accounts_ops.queue_confirmation(pending)
        reset_token = accounts_ops.reset_token(forgetful)
        unlock_token = throttling.unlock_token(forgetful.email)
        _invitation, invitation_token = oidc_ops.invite(self.people["lead_admin"], email="invitert@example.no",
                                                        name="Invitert Person")
        db.session.commit()

        assert applications["draft"].state == State.draft and applications["submitted"].state == State.submitted
        assert applications["in_review"].state == State.in_review
        assert applications["decided"].state == applications["appealed"].state == State.granted
        assert applications["reported"].state == State.reported
        self.params = {
            "-": {},
            "static": {"filename": STATIC_FILE},
            "round": {"round_id": open_round.id},
            "published": {"round_id": closed_round.id, "version": summary.version, "summary_id": summary.id,
                          "slug": closed_round.scheme.slug},
            "notice": {"notice_id": notice.id},
            "pending_user": {"user_id": pending.id},
            "staff_user": {"user_id": maker.id},
            "email_token": {"token": email_token},
            "reset_token": {"token": reset_token},
            "unlock_token": {"token": unlock_token},
            "invitation_token": {"token": invitation_token},
        }
        self.params["internal_note"] = {"application_id": applications["in_review"].id,
                                        "file_id": note.attachments[0].id}
        for state, application in applications.items():
            params = {"application_id": application.id, "attachment_id": attachments[state].id}
            if state == "in_review":
                params["file_id"] = request.attachments[0].id
            if state in decisions:
                params["decision_id"] = decisions[state].id
            if (state, "reviewer_undeclared") in assignments:
                params["assignment_id"] = assignments[state, "reviewer_undeclared"].id
            if state == "appealed":
                params["appeal_id"] = appeal.id
            if state == "appealed":
                params["grant_id"], params["payment_id"] = grant.id, payment.id
                params["report_id"], params["report_attachment_id"], params["number"] = (
                    draft.id, draft_document.id, draft.number)
                params["claim_id"] = proposed_claim.id
                self.params["claimed"] = dict(params, claim_id=sent_claim.id)
            if state == "reported":
                params["grant_id"], params["report_id"] = reported_grant.id, sent.id
                params["report_attachment_id"], params["number"] = sent_document.id, sent.number
            self.params[state] = params

    def _attachment(self, application):
        content = pdf_bytes()
        stored = hashlib.sha256(f"access-policy-{application.id}".encode()).hexdigest()[:32]
        path = Path(self.app.config["UPLOAD_DIR"]) / stored
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        self.files[path] = content
        attachment = Attachment(application_id=application.id, original_name="handlingsplan.pdf", stored_name=stored,
                                content_type="application/pdf", size=len(content),
                                sha256=hashlib.sha256(content).hexdigest())
        db.session.add(attachment)
        return attachment

    def log_in_everyone(self):
        anonymous = self.app.test_client()
        self.clients["anonymous"] = anonymous
        self.tokens["anonymous"] = csrf_token_in(anonymous.get(SIGN_IN))  # a form with a token
        for role, person in self.people.items():
            self.clients[role] = client = self.app.test_client()
            self.tokens[role] = log_in(client, person)

    # going back
    def take_snapshot(self):
        db.session.commit()
        db.session.remove()
        self._snapshot = sqlite3.connect(":memory:")
        with db.engine.connect() as connection:
            connection.connection.driver_connection.backup(self._snapshot)
        name = self.app.config["SESSION_COOKIE_NAME"]
        self.cookies = {role: client.get_cookie(name) for role, client in self.clients.items()}

    def restore(self, role=None):
        """The database as it was after building; the role's client with its cookie as it was after login."""
        db.session.remove()
        with db.engine.connect() as connection:
            self._snapshot.backup(connection.connection.driver_connection)
        summary_cache.clear_all()
        for path, content in self.files.items():
            if not path.exists():
                path.write_bytes(content)
        for name in [role] if role else self.clients:
            client, cookie = self.clients[name], self.cookies[name]
            session_cookie = self.app.config["SESSION_COOKIE_NAME"]
            if cookie is None:
                client.delete_cookie(session_cookie)
            else:
                client.set_cookie(session_cookie, cookie.value)

    # asking
    def urls(self, rule, on):
        """Every URL of the rule on the ``on`` object: one per value of each any(...) part."""
        values = self.params[on]
        variants = [{}]
        for name, converter in rule._converters.items():
            if isinstance(converter, AnyConverter):
                options = sorted(converter.items)
            elif name in values:
                options = [values[name]]
            else:
                raise AssertionError(f"the world's {on!r} object has no value for <{name}> of {rule.rule}")
            variants = [dict(v, **{name: option}) for v in variants for option in options]
        return [rule.build(v)[1] for v in variants]

    def send(self, role, method, url, data, restore=True, headers=None):
        """One request as the role, with ``data`` as the form; then the world as it was."""
        self.requests += 1
        try:
            return self.clients[role].open(url, method=method, data=data, headers=headers)
        finally:
            if restore:
                self.restore(role)

    def ask(self, role, method, url, endpoint):
        data = BODIES[endpoint](self) if endpoint in BODIES else {}
        if method != "GET":
            data = dict(data, csrf_token=self.tokens[role])
        return self.send(role, method, url, data)


def log_in(client, person):
    """Through the real form, CSRF token and all; returns the CSRF token of the new session."""
    token = csrf_token_in(client.get(SIGN_IN))
    response = client.post(SIGN_IN, data={"email": person.email, "password": PASSWORD, "csrf_token": token})
    response = pass_second_factor(client, person, response, csrf=True)
    assert response.status_code == 302 and not is_sign_in_redirect(response), response.get_data(as_text=True)[:300]
    return csrf_token_in(client.get("/konto/profil"))


def build_world(database_url, instance_dir):
    if not database_url.startswith("sqlite"):
        pytest.skip("the world is reset through SQLite's backup API; access does not depend on the database")
    app = make_app(database_url, instance_dir, WTF_CSRF_ENABLED=True)
    app.test_client_class = FreshRequestClient
    _clean(app)
    with app.app_context():
        world = World(app)
        world.build()
        world.log_in_everyone()
        world.take_snapshot()
        yield world
        db.session.remove()
    _clean(app)


@pytest.fixture(scope="module")
def world(database_url, instance_dir, _migrated):
    yield from build_world(database_url, instance_dir)


def rule_for(app, method, text):
    """The rule of the URL map with this text that takes this method (two rules may share a path)."""
    return next(rule for rule in app.url_map.iter_rules() if rule.rule == text and method in rule.methods)


def check_row(world, method, rule, on, outcomes, roles):
    """The mismatches of one row of the table, as lines naming route, method, role and URL."""
    found = []
    endpoint = rule.endpoint
    for url in world.urls(rule, on):
        for role in roles:
            response = world.ask(role, method, url, endpoint)
            actual, wanted = classify(response), outcomes[role]
            if actual != wanted:
                where = response.headers.get("Location", "")
                found.append(f"{method} {rule.rule} [{on}] as {role}: {url} -> {response.status_code}"
                             f"{' ' + where if where else ''}: {actual}, the policy says {wanted}")
    return found


# --- the tests --------------------------------------------------------------------------------------------------

def test_the_table_is_well_formed():
    seen = set()
    for method, rule, on, outcomes in POLICY:
        assert (method, rule, on) not in seen, f"two rows for {method} {rule} on {on}"
        seen.add((method, rule, on))
        assert method not in IGNORED_METHODS
        expected(outcomes)
    for method, rule, on, role in KNOWN_DEVIATIONS:
        assert (method, rule, on) in seen and role in ROLES, (method, rule, on, role)


def test_every_rule_of_the_url_map_is_in_the_table_and_every_row_in_the_map():
    missing = sorted(set(ROUTES) - set(ROWS))
    stale = sorted(set(ROWS) - set(ROUTES))
    assert not missing and not stale, (
        "rules of the URL map missing from tests/security/access_policy.py:\n  "
        + "\n  ".join(route_id(r) for r in missing)
        + "\nrows of the table whose rule is gone:\n  " + "\n  ".join(route_id(r) for r in stale))


@pytest.mark.parametrize("route", sorted(set(ROUTES) | set(ROWS)), ids=route_id)
def test_route_follows_the_policy(world, route):
    method, text = route
    if route not in ROWS:
        pytest.fail(f"{method} {text} ({ROUTES[route]}) is in the URL map but not in the access policy table")
    if route not in ROUTES:
        pytest.fail(f"the access policy table has a row for {method} {text}, which the URL map lacks")
    rule = rule_for(world.app, method, text)
    mismatches = []
    for on, outcomes in ROWS[route]:
        roles = [r for r in ROLES if (method, text, on, r) not in KNOWN_DEVIATIONS]
        mismatches += check_row(world, method, rule, on, outcomes, roles)
    assert not mismatches, "\n".join(mismatches)


# Cells where the product is known to be wrong (none today) are checked on their own, so that the rest of their
# row stays guarded; the test exists only while there is such a cell.
if KNOWN_DEVIATIONS:
    @pytest.mark.parametrize("cell", [
        pytest.param(cell, id=f"{cell[0]} {cell[1]} [{cell[2]}] {cell[3]}", marks=pytest.mark.xfail(strict=True,
                                                                                                     reason=reason))
        for cell, reason in KNOWN_DEVIATIONS.items()])
    def test_known_deviation_from_the_policy(world, cell):
        """A cell where the product is known to be wrong: it must still fail. When it passes, the product was mended:
        take the cell out of KNOWN_DEVIATIONS."""
        method, text, on, role = cell
        outcomes = dict(ROWS[method, text])[on]
        rule = rule_for(world.app, method, text)
        mismatches = check_row(world, method, rule, on, outcomes, [role])
        assert not mismatches, "\n".join(mismatches)


def test_the_world_is_what_the_table_says(world):
    """The checks above mean something only if the objects are real: the people who may reach them do, and every
    request left the world as it found it."""
    params = world.params
    application = params["in_review"]["application_id"]
    assert classify(world.ask("caseworker", "GET", f"/saksbehandling/soknader/{application}", "review.case")) \
        == ALLOWED
    response = world.ask("partner_staff", "GET", f"/soknader/{application}", "applications.overview")
    assert response.status_code == 200 and "Felles søknad (in_review)" in response.get_data(as_text=True)
    # an allowed POST is undone: the same approval can be made twice, because the first was rolled back
    approve = f"/saksbehandling/vedtak/{params['in_review']['decision_id']}/godkjenn"
    assert world.ask("approver", "POST", approve, "decisions.approve").status_code == 302
    assert world.ask("approver", "POST", approve, "decisions.approve").status_code == 302, "the approval stayed"
    # and a logout did not end the session for the next check
    assert world.ask("lead_staff", "POST", "/konto/logg-ut", "accounts.logout").status_code == 302
    assert world.ask("lead_staff", "GET", "/konto/profil", "accounts.profile").status_code == 200
