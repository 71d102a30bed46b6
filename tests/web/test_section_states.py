"""The overview's section states (grants.applications.sections.section_states) are completeness()'s, whether the
verdict is worked out or remembered, and a remembered verdict is never used once one of its inputs has changed:
the answers, the round, the register that resolves the partners, or the earlier grants a project may continue."""

import re

import pytest
from sqlalchemy import select

from grants.accounts.models import Municipality
from grants.applications import sections
from grants.applications.models import Application
from grants.extensions import db
from tests.applying import VALID_SECTIONS, save_section
from tests.factories import RoundFactory

LABELS = {"complete": "Fullført", "incomplete": "Må rettes", "empty": "Ikke påbegynt"}


@pytest.fixture
def draft(client, login_as, staff):
    round_ = RoundFactory(year=2025, min_participants=10)
    db.session.commit()
    login_as(staff)
    response = client.post("/soknader/ny", data={"round_id": round_.id})
    return int(re.search(r"/soknader/(\d+)", response.headers["Location"]).group(1))


@pytest.fixture(autouse=True)
def forget_verdicts():
    sections._VERDICTS = sections._Verdicts(4096)
    yield


def application(application_id):
    db.session.expire_all()
    return db.session.get(Application, application_id)


def states(application_id):
    return {section: state for section, _title, state in sections.section_states(application(application_id))}


def full_states(application_id):
    return {section: state for section, _title, state, _errors in sections.completeness(application(application_id))}


def shown(client, application_id, section):
    """The state label the overview shows beside ``section``'s link."""
    page = client.get(f"/soknader/{application_id}").get_data(as_text=True)
    item = re.search(rf'/del/{section}">[^<]+</a>\s*<span class="ds-tag"[^>]*>([^<]+)</span>', page)
    return item.group(1)


def test_the_states_are_completenesss_worked_out_and_remembered(client, draft):
    save_section(client, draft, "applicant")
    save_section(client, draft, "project", dict(VALID_SECTIONS["project"], participants="3"))
    save_section(client, draft, "budget")
    expected = full_states(draft)
    assert expected["applicant"] == "complete" and expected["project"] == "incomplete"
    assert expected["anchoring"] == "empty"
    assert states(draft) == expected  # worked out
    assert len(sections._VERDICTS._known) == 3
    assert states(draft) == expected  # remembered
    assert shown(client, draft, "project") == LABELS["incomplete"]
    assert shown(client, draft, "budget") == LABELS["complete"]


def test_new_answers_are_judged_anew(client, draft):
    save_section(client, draft, "project", dict(VALID_SECTIONS["project"], participants="3"))
    assert shown(client, draft, "project") == LABELS["incomplete"]
    save_section(client, draft, "project")
    assert shown(client, draft, "project") == LABELS["complete"]


def test_a_change_to_the_round_is_judged_anew(client, draft):
    save_section(client, draft, "project", dict(VALID_SECTIONS["project"], participants="12"))
    assert shown(client, draft, "project") == LABELS["complete"]
    application(draft).round.min_participants = 20
    db.session.commit()
    assert shown(client, draft, "project") == LABELS["incomplete"]
    assert states(draft) == full_states(draft)


def test_a_change_to_the_register_is_judged_anew(client, draft):
    save_section(client, draft, "applicant", dict(VALID_SECTIONS["applicant"], partners="Bergen"))
    assert shown(client, draft, "applicant") == LABELS["complete"]
    bergen = db.session.scalar(select(Municipality).where(Municipality.number == "4601"))
    bergen.name = "Bjørgvin"
    db.session.commit()
    try:
        assert shown(client, draft, "applicant") == LABELS["incomplete"]
        assert states(draft) == full_states(draft)
    finally:
        bergen.name = "Bergen"
        db.session.commit()


def test_a_grant_that_can_no_longer_be_continued_is_judged_anew(client, draft, staff):
    earlier_round = RoundFactory(year=2024, closed=True)
    db.session.flush()
    earlier = Application(round_id=earlier_round.id, municipality_id=staff.municipality_id, state="granted",
                          reference="IMDI-24-0001", channel="portal", title="Tidligere prosjekt", answers={},
                          version=1, amount_applied=100_000, amount_granted=100_000, total_cost=100_000,
                          own_contribution=0, other_funding=0, participants=10,
                          received_at=earlier_round.opens_at, decided_at=earlier_round.deadline_at)
    db.session.add(earlier)
    db.session.commit()
    save_section(client, draft, "history", dict(VALID_SECTIONS["history"], continues=str(earlier.id)))
    assert shown(client, draft, "history") == LABELS["complete"]
    earlier.state = "closed"  # still one that can be continued: the same verdict
    db.session.commit()
    assert shown(client, draft, "history") == LABELS["complete"]
    # Recorded as another kommune's after all: no longer one of this kommune's grants.
    earlier.municipality_id = db.session.scalar(select(Municipality.id).where(Municipality.number == "4601"))
    db.session.commit()
    assert shown(client, draft, "history") == LABELS["incomplete"]
    assert states(draft) == full_states(draft)
