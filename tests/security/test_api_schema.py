"""With the demo data loaded once for the module (grants.demo.seed_demo: real rounds, decisions, summaries):

* schemathesis on the public JSON API, loaded from the app's own /api/v1/openapi.json: no server errors, and
  every response conforms to the schema (checklist item 36);
* an access matrix (ASVS 8.2.2, 8.4.1): every URL rule with an object id, as anonymous, as another kommune's
  staff, as a reviewer not assigned, as a caseworker, an approver and an administrator, with GET and (where the
  rule takes it) POST. Nothing answers 500, and the combinations the rules forbid get 302 to the login page,
  403 or 404. The matrix iterates over whatever rules exist, so pages added later are tried too."""

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy import exists, select
from werkzeug.routing.converters import AnyConverter, IntegerConverter
from werkzeug.security import generate_password_hash

import grants.accounts.models as account_models
import grants.core.pdf
from grants.accounts.models import Municipality, Role, User, UserStatus
from grants.applications.models import Application, ApplicationPartner, Attachment
from grants.demo import seed_demo
from grants.extensions import db
from grants.notify.models import Notice
from grants.outcomes.models import AllocationSummary
from grants.review.models import Appeal, Assignment, Decision, DecisionState
from grants.rounds.models import Round
from tests.applying import pdf_bytes
from tests.conftest import FreshRequestClient, _clean, make_app
from tests.factories import PASSWORD, UserFactory

CHEAP = "pbkdf2:sha256:1"
ROLES = ("anonymous", "other_kommune", "reviewer", "caseworker", "approver", "admin")


@pytest.fixture(scope="module")
def seeded(database_url, instance_dir, _migrated):
    app = make_app(database_url, instance_dir)
    app.test_client_class = FreshRequestClient
    _clean(app)
    with app.app_context():
        with pytest.MonkeyPatch.context() as patch:  # the seeding itself is not under test: make it quick
            patch.setattr(grants.core.pdf, "unicode_font", lambda: None)  # 31 decision letters in core fonts
            patch.setattr(account_models, "generate_password_hash",
                          lambda password, method=None: generate_password_hash(password, CHEAP))
            seed_demo()
            db.session.commit()
            objects = _objects(app)
            users = _users()
            db.session.commit()
        yield app, objects, users
        db.session.remove()
    _clean(app)


def _objects(app):
    """One object of each kind, all belonging to Bergen (4601)'s 2025 application."""
    round_ = db.session.scalar(select(Round).where(Round.slug == "2025"))
    bergen = db.session.scalar(select(Municipality).where(Municipality.number == "4601"))
    application = db.session.scalar(select(Application).where(Application.round_id == round_.id,
                                                              Application.municipality_id == bergen.id))
    decision = db.session.scalar(select(Decision).where(Decision.application_id == application.id)
                                 .order_by(Decision.id.desc()))
    content = pdf_bytes()
    stored = uuid.uuid4().hex
    folder = Path(app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / stored).write_bytes(content)
    attachment = Attachment(application_id=application.id, original_name="plan.pdf", stored_name=stored,
                            content_type="application/pdf", size=len(content),
                            sha256=hashlib.sha256(content).hexdigest())
    db.session.add(attachment)
    lead = db.session.scalar(select(User).where(User.municipality_id == bergen.id, User.status == UserStatus.active))
    appeal = Appeal(decision_id=decision.id, application_id=application.id, lodged_by_id=lead.id,
                    text="Vi klager.", lodged_at=(decision.released_at or decision.proposed_at) + timedelta(days=1))
    db.session.add(appeal)
    pending = UserFactory(role=Role.municipal, municipality_id=bergen.id, status=UserStatus.pending,
                          password_hash=generate_password_hash(PASSWORD, CHEAP))
    db.session.flush()
    summary = db.session.scalar(select(AllocationSummary).where(AllocationSummary.round_id == round_.id))
    assert decision is not None and decision.state == DecisionState.released and summary is not None
    return {
        "round_id": round_.id, "application_id": application.id, "attachment_id": attachment.id,
        "decision_id": decision.id, "appeal_id": appeal.id, "summary_id": summary.id, "version": summary.version,
        "assignment_id": db.session.scalar(select(Assignment.id).where(Assignment.application_id == application.id)),
        "notice_id": db.session.scalar(select(Notice.id).where(Notice.user_id == lead.id)),
        "user_id": pending.id,
    }


def _users():
    cheap = generate_password_hash(PASSWORD, CHEAP)
    involved = select(Application.id).where(Application.municipality_id == Municipality.id)
    partner = select(ApplicationPartner.id).where(ApplicationPartner.municipality_id == Municipality.id)
    outsider = db.session.scalar(select(Municipality).where(~exists(involved), ~exists(partner))
                                 .order_by(Municipality.number))
    return {
        "other_kommune": UserFactory(role=Role.municipal, municipality_id=outsider.id, is_municipality_admin=True,
                                     password_hash=cheap),
        "reviewer": UserFactory(role=Role.reviewer, password_hash=cheap),
        "caseworker": UserFactory(role=Role.caseworker, password_hash=cheap),
        "approver": UserFactory(role=Role.approver, password_hash=cheap),
        "admin": UserFactory(role=Role.admin, password_hash=cheap),
    }


# --- the public JSON API against its OpenAPI schema -------------------------------------------------------------

API_SETTINGS = settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def test_api_conforms_to_its_schema(seeded):
    app, objects, _users = seeded
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/rounds", "/api/v1/rounds/{round_id}/summary"}
    for operation in operations:
        # negative cases (a round id that is no integer, below 1...) exist only where there is a parameter
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if "{" in operation.path else \
            (GenerationMode.POSITIVE,)
        for mode in modes:

            @API_SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case):
                response = case.call()
                assert response.status_code < 500, (case.path, case.path_parameters, response.status_code)
                case.validate_response(response)

            check()
        if "round_id" in operation.path:  # the published rounds themselves, which random ids rarely hit
            for round_id in sorted({objects["round_id"], 1, 2, 3}):
                case = operation.Case(path_parameters={"round_id": round_id})
                response = case.call()
                assert response.status_code in (200, 404)
                case.validate_response(response)
            assert operation.Case(path_parameters={"round_id": objects["round_id"]}).call().status_code == 200


# --- the access matrix ----------------------------------------------------------------------------------------

PUBLIC_PREFIXES = ("/utlysninger/", "/tildelinger/", "/api/", "/ordningen/")


def expectation(role, rule, method):
    """True: this role must be refused. False: nothing is asserted but the absence of a server error (what is
    allowed then depends on the object's state). From the rules DESIGN and the permission modules state."""
    path = rule.rule
    if path.startswith(PUBLIC_PREFIXES) or not path.startswith(("/soknader", "/saksbehandling", "/admin", "/konto")):
        return False
    if role == "anonymous":
        return True
    if path.startswith("/admin/"):
        return role != "admin"  # rounds and the outbox are the administrators'
    if path.startswith("/konto/brukere/"):
        return role != "admin"  # approving users of a kommune: IMDi's admin or that kommune's own admin
    if path.startswith("/saksbehandling/"):
        if role in ("other_kommune", "reviewer"):
            return True  # IMDi only; a reviewer only through an assignment, and this one has none
        if "publiser" in path:
            return role != "admin"
        return False
    if path.startswith("/soknader/"):
        if role in ("other_kommune", "reviewer"):
            return True  # another kommune's application; reviewers read only through assignments
        # IMDi reads a submitted application; changing it, submitting, withdrawing, appealing: the kommune only
        return method == "POST" or "/del/" in path or path.endswith("/trekk")
    return False


def urls_for(rule, objects):
    """Every URL of a rule with its int ids filled from ``objects``, one per value of each any() part."""
    variants = [{}]
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values = [objects.get(name, 1)]
        elif isinstance(converter, AnyConverter):
            values = sorted(converter.items)
        else:
            return []
        variants = [dict(v, **{name: value}) for v in variants for value in values]
    return [rule.build(v)[1] for v in variants]


def id_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(c, IntegerConverter) for c in rule._converters.values())]


def log_in(client, user):
    response = client.post("/konto/logg-inn", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, user.role


def test_access_matrix(seeded, monkeypatch):
    app, objects, users = seeded
    monkeypatch.setattr(grants.core.pdf, "unicode_font", lambda: None)  # PDFs in core fonts: faster, same rules
    rules = sorted(id_rules(app), key=lambda r: (r.rule, sorted(r.methods)))
    assert len(rules) >= 25
    problems, seen = [], {}
    for role in ROLES:  # the most restricted first, so that what an admin's POST changes comes last
        client = app.test_client()
        if role != "anonymous":
            log_in(client, users[role])
        for rule in rules:
            for method in ("GET", "POST"):
                if method not in rule.methods:
                    continue
                must_refuse = expectation(role, rule, method)
                for url in urls_for(rule, objects):
                    response = client.open(url, method=method, data={})
                    status = seen[role, method, url] = response.status_code
                    where = f"{role:13} {method:4} {url} -> {status}"
                    if status >= 500:
                        problems.append(where + " (server error)")
                        continue
                    if not must_refuse:
                        continue
                    if role == "anonymous":
                        ok = status in (401, 403, 404) or (
                            status == 302 and "/konto/logg-inn" in response.headers.get("Location", ""))
                    elif rule.rule.startswith("/soknader/") and role in ("caseworker", "approver", "admin"):
                        ok = status in (400, 403, 404, 409)  # refused before anything changes
                    else:
                        ok = status in (403, 404)
                    if not ok:
                        problems.append(where + " (should be refused)")
        if role != "anonymous":  # the session is still the user's: nothing above logged anyone out by accident
            assert client.get("/konto/profil").status_code == 200, role
    assert len(seen) > 300
    assert not problems, "\n".join(problems)
    # the ids are real: those allowed to see them do (the matrix does not pass by finding nothing)
    application = objects["application_id"]
    for role in ("caseworker", "approver", "admin"):
        assert seen[role, "GET", f"/saksbehandling/soknader/{application}"] == 200, role
        assert seen[role, "GET", f"/soknader/{application}/vedlegg/{objects['attachment_id']}"] == 200, role
    assert seen["admin", "GET", f"/admin/utsendinger/{objects['notice_id']}"] == 200
