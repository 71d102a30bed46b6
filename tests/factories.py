"""factory_boy factories with traits per state. Objects go into the Flask-SQLAlchemy session."""

from datetime import date, datetime, timedelta

import factory
from sqlalchemy import select

from grants.accounts.models import Municipality, Role, User, UserStatus
from grants.applications.models import Application
from grants.applications.workflow import State
from grants.core.timeutil import OSLO, deadline_utc, now_utc, oslo_date
from grants.extensions import db
from grants.rounds.models import Round, Scheme
from grants.rounds.operations import free_reference_prefix
from tests.second_factor import give_second_factor

PASSWORD = "correct horse battery"  # noqa: S105


def municipality(number):
    return db.session.scalar(select(Municipality).where(Municipality.number == number))


class Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.no")
    name = factory.Sequence(lambda n: f"Person {n}")
    role = Role.caseworker
    status = UserStatus.active
    language = "nb"
    password_hash = factory.LazyFunction(lambda: _hash())

    class Params:
        municipal = factory.Trait(
            role=Role.municipal,
            municipality_id=factory.LazyFunction(lambda: municipality("0301").id),
        )
        pending = factory.Trait(status=UserStatus.pending)

    @factory.post_generation
    def second_factor(user, create, extracted, **kwargs):
        """IMDi staff have their authenticator app set up, as they must to work (the login helpers type its
        codes: tests/second_factor.py); ``second_factor=False`` makes one who has not enrolled yet."""
        if create and extracted is not False and user.role != Role.municipal:
            give_second_factor(user)


_HASH = {}


def _hash():
    if "h" not in _HASH:
        u = User()
        u.set_password(PASSWORD)
        _HASH["h"] = u.password_hash
    return _HASH["h"]


def municipal_user(number="0301", **kwargs):
    return UserFactory(role=Role.municipal, municipality_id=municipality(number).id, **kwargs)


class SchemeFactory(Base):
    class Meta:
        model = Scheme

    slug = factory.Sequence(lambda n: f"scheme-{n}")
    title_nb = "Tilskudd mot rasisme og diskriminering"
    title_nn = "Tilskot mot rasisme og diskriminering"
    title_en = "Grant against racism and discrimination"


class RoundFactory(Base):
    """A round open now, with its deadline three weeks ahead (Oslo dates)."""

    class Meta:
        model = Round

    scheme = factory.SubFactory(SchemeFactory)
    slug = factory.Sequence(lambda n: f"round-{n}")
    year = 2025
    area_number = 5
    title_nb = "Mangfold og mot rasisme 2025"
    title_nn = "Mangfald og mot rasisme 2025"
    title_en = "Diversity and against racism 2025"
    text_nb = "Tekst"
    text_nn = "Tekst"
    text_en = "Text"
    budget = 10_000_000
    opens_at = factory.LazyFunction(lambda: now_utc() - timedelta(days=5))
    deadline_date = factory.LazyFunction(lambda: oslo_date(now_utc()) + timedelta(days=21))
    deadline_at = factory.LazyAttribute(lambda o: deadline_utc(o.deadline_date))
    reference_prefix = factory.LazyAttribute(lambda o: free_reference_prefix(o.year))
    min_participants = 10
    own_contribution_required = True

    class Params:
        closed = factory.Trait(
            opens_at=factory.LazyFunction(lambda: now_utc() - timedelta(days=60)),
            deadline_date=factory.LazyFunction(lambda: oslo_date(now_utc()) - timedelta(days=2)),
        )
        real_2025 = factory.Trait(
            year=2025,
            opens_at=datetime(2025, 1, 24, 9, tzinfo=OSLO),
            deadline_date=date(2025, 2, 19),
        )


class ApplicationFactory(Base):
    class Meta:
        model = Application

    round = factory.SubFactory(RoundFactory)
    round_id = factory.SelfAttribute("round.id")
    municipality_id = factory.LazyFunction(lambda: municipality("0301").id)
    state = State.draft
    title = factory.Sequence(lambda n: f"Prosjekt {n}")
    answers = factory.LazyFunction(dict)


_refs = {"n": 0}


def submitted_application(round_, number="0301", amount_applied=400_000, **kwargs):
    """An application as it stands after a real submission: reference, time received, snapshot. In a later
    ``state`` it also has what the database requires of that state unless given: a decision time once decided, a
    time and a reason once withdrawn (an amount granted must be given)."""
    _refs["n"] += 1
    received_at = round_.opens_at + timedelta(days=1)
    values = dict(
        round=round_, municipality_id=municipality(number).id, state=State.submitted,
        reference=f"{round_.reference_prefix}-{_refs['n']:04d}", received_at=received_at,
        amount_applied=amount_applied, own_contribution=100_000, participants=20, snapshot={"answers": {}},
        answers={"budget": {"no_running_costs": ["y"]}},
    )
    state = State(kwargs.get("state", State.submitted))
    if state.is_decided:
        values["decided_at"] = received_at + timedelta(days=30)
    if state == State.withdrawn:
        values.update(withdrawn_at=received_at + timedelta(days=2), withdraw_reason="Trukket")
    values.update(kwargs)
    return ApplicationFactory(**values)
