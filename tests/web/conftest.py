"""Fixtures of IMDi's side shared by the web tests: the people of a round and the round itself."""

import pytest

from grants.accounts.models import Role
from grants.extensions import db
from grants.review import operations as ops
from grants.rounds.operations import set_criteria
from tests.factories import RoundFactory, UserFactory, municipal_user


@pytest.fixture
def people(app):
    people = {
        "caseworker": UserFactory(role=Role.caseworker, name="Kari Saksbehandler"),
        "approver": UserFactory(role=Role.approver, name="Per Godkjenner"),
        "admin": UserFactory(role=Role.admin, name="Ada Admin"),
        "r1": UserFactory(role=Role.reviewer, name="Rita Fagvurderer"),
        "r2": UserFactory(role=Role.reviewer, name="Rolf Fagvurderer"),
        "r3": UserFactory(role=Role.reviewer, name="Runa Fagvurderer"),
        "staff": municipal_user("0301", name="Ola Kommune", email="ola@oslo.kommune.no"),
    }
    db.session.commit()
    return people


@pytest.fixture
def round_(app, people):
    round_ = RoundFactory(budget=1_000_000, appeals_allowed=True)
    set_criteria(round_, [
        {"code": "purpose", "weight": 3, "title_nb": "Formål", "title_nn": "Føremål", "title_en": "Purpose"},
        {"code": "transfer_value", "weight": 1, "title_nb": "Overføringsverdi", "title_nn": "Overføringsverdi",
         "title_en": "Transfer value"},
    ])
    db.session.flush()
    for key in ("r1", "r2", "r3"):
        ops.add_round_reviewer(round_, people[key], people["caseworker"])
    db.session.commit()
    return round_


@pytest.fixture
def staff(app):
    """A kommune user of Oslo, writing in bokmål."""
    user = municipal_user("0301", email="ola@oslo.kommune.no", language="nb")
    db.session.commit()
    return user
