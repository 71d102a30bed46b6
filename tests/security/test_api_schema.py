"""With the demo data loaded once for the module (grants.demo.seed_demo: real rounds, decisions, summaries):
schemathesis on the public JSON API, loaded from the app's own /api/v1/openapi.json: no server errors, and every
response conforms to the schema (checklist item 36). Who may reach which page is tests/security/access_policy.py."""


import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy import select

from grants.demo import seed_demo
from grants.extensions import db
from grants.rounds.models import Round
from tests.conftest import FreshRequestClient, _clean, examples, make_app

ROLES = ("anonymous", "other_kommune", "reviewer", "caseworker", "approver", "admin")


@pytest.fixture(scope="module")
def seeded(database_url, instance_dir, _migrated):
    app = make_app(database_url, instance_dir)
    app.test_client_class = FreshRequestClient
    _clean(app)
    with app.app_context():
        seed_demo()  # its accounts share one password hash, made once (grants.demo)
        db.session.commit()
        objects = {"round_id": db.session.scalar(select(Round.id).where(Round.slug == "2025"))}
        yield app, objects
        db.session.remove()
    _clean(app)


# --- the public JSON API against its OpenAPI schema -------------------------------------------------------------

API_SETTINGS = settings(max_examples=examples(15), deadline=None, suppress_health_check=list(HealthCheck))


def test_api_conforms_to_its_schema(seeded):
    app, objects = seeded
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
