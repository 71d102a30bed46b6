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


@pytest.fixture
def forms_built(monkeypatch):
    """How many section forms were built since the test began (sections.build_form)."""
    built = []
    real = sections.build_form

    def counting(*args, **kwargs):
        built.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(sections, "build_form", counting)
    return built


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


def test_the_states_are_completenesss_worked_out_and_remembered(client, draft, forms_built):
    save_section(client, draft, "applicant")
    save_section(client, draft, "project", dict(VALID_SECTIONS["project"], participants="3"))
    save_section(client, draft, "budget")
    expected = full_states(draft)
    assert expected["applicant"] == "complete" and expected["project"] == "incomplete"
    assert expected["anchoring"] == "empty"
    forms_built.clear()
    assert states(draft) == expected  # worked out
    assert sorted(forms_built) == ["applicant", "budget", "project"]
    forms_built.clear()
    assert states(draft) == expected  # remembered: no form built
    assert forms_built == []
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


def test_a_lower_budget_or_a_required_own_contribution_is_judged_anew(client, draft):
    save_section(client, draft, "budget", dict(VALID_SECTIONS["budget"], own_contribution="0",
                                               **{"cost_lines-0-amount": "250000"}))
    round_ = application(draft).round
    round_.own_contribution_required = False
    db.session.commit()
    assert shown(client, draft, "budget") == LABELS["complete"]
    round_.own_contribution_required = True
    db.session.commit()
    assert shown(client, draft, "budget") == LABELS["incomplete"]
    round_.own_contribution_required = False
    round_.budget = 400_000  # below the 450 000 applied for
    db.session.commit()
    assert shown(client, draft, "budget") == LABELS["incomplete"]
    assert states(draft) == full_states(draft)


def test_a_submission_in_the_round_does_not_make_the_verdicts_be_worked_out_again(client, draft, forms_built):
    # A submission moves the round's reference counter (and its time of change): not an input of any form.
    save_section(client, draft, "project")
    states(draft)
    round_ = application(draft).round
    round_.last_reference += 1
    db.session.commit()
    forms_built.clear()
    assert states(draft)["project"] == "complete"
    assert forms_built == []


class RecordingRound:
    """A round that notes which of its attributes are read."""

    def __init__(self, round_):
        self._round, self.read = round_, set()

    def __getattr__(self, name):
        self.read.add(name)
        return getattr(self._round, name)


@pytest.mark.parametrize("section,variants", [
    ("project", [VALID_SECTIONS["project"], dict(VALID_SECTIONS["project"], participants="3"),
                 dict(VALID_SECTIONS["project"], period_end="2020-01-01", participants="x")]),
    ("budget", [VALID_SECTIONS["budget"], dict(VALID_SECTIONS["budget"], own_contribution="0"),
                dict(VALID_SECTIONS["budget"], amount_applied="99 000 000"),
                dict(VALID_SECTIONS["budget"], **{"cost_lines-0-amount": "", "cost_lines-1-amount": "x"})]),
])
def test_the_forms_read_no_round_attribute_but_those_in_the_key(app, section, variants):
    from werkzeug.datastructures import MultiDict

    from grants.applications.forms import ROUND_INPUTS, SECTION_FORMS

    round_ = RoundFactory(year=2025)
    db.session.commit()
    recording = RecordingRound(round_)
    with app.test_request_context("/"):
        for answers in variants:
            data = MultiDict([(k, v) for k, values in answers.items()
                              for v in (values if isinstance(values, list) else [values])])
            SECTION_FORMS[section](formdata=data, meta={"csrf": False}, round=recording).validate()
    assert recording.read and recording.read <= set(ROUND_INPUTS), recording.read


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
