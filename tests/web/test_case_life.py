"""The life of a case where it touches others: a withdrawal takes its unreleased decision with it, a release or an
approval of a whole round goes case by case, a grant or a rejection waits for the formal check, and publishing says
exactly what is missing. Each test is one of the faults found by trying the app as a new user would."""

import pytest
from sqlalchemy import select

from grants.applications.models import Application
from grants.applications.workflow import State
from grants.core.timeutil import now_utc
from grants.core.wording import moment_in
from grants.decisions import operations as decision_ops
from grants.decisions.models import Decision, DecisionState, Outcome
from grants.extensions import db
from grants.notify.models import Notice
from grants.review import operations as ops
from tests.factories import submitted_application
from tests.web.test_review import in_review

REASONS = {"rules": "Utlysningen", "facts": "Svak forankring", "considerations": "Andre var sterkere"}


def grant_approved(round_, people, amount, number="0301", **kwargs):
    application = in_review(round_, people, number=number, submitted_by_id=people["staff"].id, **kwargs)
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome=Outcome.granted, amount=amount)
    decision_ops.approve_decision(decision, people["approver"])
    return application, decision


def test_a_withdrawal_after_approval_cancels_its_decision_and_the_round_is_still_released(
        client, login_as, people, round_):
    a, decision_a = grant_approved(round_, people, 300_000)
    b, decision_b = grant_approved(round_, people, 200_000, number="4601")
    db.session.commit()
    assert decision_ops.committed_amount(round_.id) == 500_000

    login_as(people["staff"])  # Oslo's staff withdraw A
    response = client.post(f"/soknader/{a.id}/trekk", data={"reason": "Prosjektet er lagt ned"})
    assert response.status_code == 302
    assert db.session.get(Application, a.id).state == State.withdrawn
    assert db.session.get(Decision, decision_a.id).state == DecisionState.cancelled
    assert decision_ops.committed_amount(round_.id) == 200_000  # A's money is back in the budget
    told = db.session.scalars(select(Notice.recipient_email).where(Notice.kind == "decision_cancelled")).all()
    assert sorted(told) == sorted([people["caseworker"].email, people["approver"].email])

    login_as(people["approver"])
    page = client.get(f"/saksbehandling/runder/{round_.id}/send-ut").get_data(as_text=True)
    assert b.reference in page and a.reference not in page
    response = client.post(f"/saksbehandling/runder/{round_.id}/send-ut")
    assert response.status_code == 302
    assert db.session.get(Application, b.id).state == State.granted
    assert db.session.get(Decision, decision_b.id).state == DecisionState.released
    assert db.session.get(Decision, decision_a.id).state == DecisionState.cancelled

    login_as(people["caseworker"])
    history = client.get(f"/saksbehandling/soknader/{a.id}").get_data(as_text=True)
    assert "Vedtak annullert: søknaden ble trukket" in history


def test_a_decided_application_cannot_be_withdrawn_and_says_why(client, login_as, people, round_):
    application, _decision = grant_approved(round_, people, 300_000)
    decision_ops.release_round(round_, people["approver"])
    db.session.commit()
    login_as(people["staff"])
    response = client.post(f"/soknader/{application.id}/trekk", data={"reason": "Vi ombestemte oss"})
    assert response.status_code == 409
    assert "kan ikke lenger trekkes" in response.get_data(as_text=True)
    assert db.session.get(Application, application.id).state == State.granted


def test_a_grant_or_rejection_waits_for_the_formal_check(client, login_as, people, round_):
    paper = submitted_application(round_, channel="post")  # registered, not yet checked
    db.session.commit()
    login_as(people["caseworker"])
    page = client.get(f"/saksbehandling/soknader/{paper.id}").get_data(as_text=True)
    assert 'name="decision-outcome"' not in page  # the decision form is not offered
    response = client.post(f"/saksbehandling/soknader/{paper.id}/vedtak", data={
        "decision-outcome": "rejected", "decision-reasons_rules": "r", "decision-reasons_facts": "f",
        "decision-letter_language": "nb"})
    assert response.status_code == 403
    assert db.session.scalar(select(Decision)) is None


def test_a_decision_that_cannot_be_released_is_held_and_the_rest_go(client, login_as, people, round_):
    """An approved decision on an application that never passed the formal check (made before this rule
    existed) is listed with its reason; the round's other decisions are sent."""
    ready, _decision = grant_approved(round_, people, 100_000)
    unchecked = submitted_application(round_, number="4601")
    db.session.flush()
    stuck = Decision(application_id=unchecked.id, round_id=round_.id, outcome=Outcome.rejected, reasons=REASONS,
                     letter_language="nb", proposed_by_id=people["caseworker"].id, state=DecisionState.approved,
                     approved_by_id=people["approver"].id, approved_at=now_utc())
    db.session.add(stuck)
    db.session.commit()

    login_as(people["approver"])
    response = client.post(f"/saksbehandling/runder/{round_.id}/send-ut")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/runder/{round_.id}/send-ut")
    assert db.session.get(Application, ready.id).state == State.granted
    assert db.session.get(Decision, stuck.id).state == DecisionState.approved
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 vedtak kunne ikke sendes ut" in page
    assert unchecked.reference in page and "har ikke vært gjennom den formelle kontrollen" in page


def test_approve_all_approves_what_fits_and_names_what_does_not(client, login_as, people, round_):
    first = in_review(round_, people)
    second = in_review(round_, people, number="4601")
    d1 = decision_ops.propose_decision(first, people["caseworker"], outcome=Outcome.granted, amount=400_000)
    d2 = decision_ops.propose_decision(second, people["caseworker"], outcome=Outcome.granted, amount=400_000)
    decision_ops.approve_decision(d1, people["approver"])
    round_.budget = 600_000  # the budget was cut after both were proposed: only one of them fits now
    db.session.commit()

    login_as(people["approver"])
    response = client.post(f"/saksbehandling/runder/{round_.id}/godkjenning/alle")
    assert response.status_code == 302
    assert db.session.get(Decision, d2.id).state == DecisionState.proposed
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "0 vedtak ble godkjent" in page or "0 vedtak er godkjent" in page
    assert f"{second.reference} ble ikke godkjent" in page


def test_publishing_before_the_deadline_says_so_and_when(client, login_as, people, round_):
    login_as(people["admin"])
    response = client.post(f"/saksbehandling/runder/{round_.id}/publiser")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Søknadsfristen har ikke gått ut" in page
    assert moment_in(round_.deadline_at, "nb") in page  # "21. desember 2026 kl. 23:59"
    assert "utsendt vedtak" not in page  # the other cause is not named: it is not the reason


# --- boundaries ----------------------------------------------------------------------------------------------------

def test_a_pdf_with_a_long_name_keeps_its_extension_and_is_accepted(client, login_as, people):
    import io

    from grants.applications.models import Attachment
    from tests.applying import pdf_bytes
    from tests.factories import RoundFactory

    round_ = RoundFactory()
    db.session.commit()
    login_as(people["staff"])
    response = client.post("/soknader/ny", data={"round_id": round_.id})
    application_id = int(response.headers["Location"].split("/soknader/")[1].split("/")[0])
    name = "r" * 197 + ".pdf"  # 201 characters
    response = client.post(f"/soknader/{application_id}/vedlegg", content_type="multipart/form-data",
                           data={"purpose": "general", "file": (io.BytesIO(pdf_bytes()), name)})
    assert response.status_code == 302
    stored = db.session.scalar(select(Attachment.original_name))
    assert len(stored) == 200 and stored.endswith("….pdf") and stored.startswith("rrr")


def test_a_submission_in_the_last_second_of_the_deadline_day_is_received(people):
    from datetime import datetime, timedelta

    from grants.applications import operations as application_ops
    from grants.core.timeutil import OSLO
    from grants.errors import DeadlinePassed
    from tests.factories import ApplicationFactory, RoundFactory, municipality

    round_ = RoundFactory()
    day = round_.deadline_date
    last_moment = datetime(day.year, day.month, day.day, 23, 59, 59, 400_000, tzinfo=OSLO)
    on_time, late = (ApplicationFactory(round=round_, municipality_id=municipality("0301").id, state=State.draft)
                     for _ in range(2))
    application_ops.submit_application(on_time, people["staff"], submission_key="a", snapshot={}, problems=[],
                                       at=last_moment)
    assert on_time.state == State.submitted and on_time.received_at == last_moment
    with pytest.raises(DeadlinePassed):
        application_ops.submit_application(late, people["staff"], submission_key="b", snapshot={}, problems=[],
                                           at=last_moment + timedelta(milliseconds=600))
    assert late.state == State.draft


def test_a_section_stores_only_its_own_fields_and_refuses_a_flood(client, login_as, people):
    from grants.applications.operations import MAX_VALUE_CHARS
    from tests.applying import VALID_SECTIONS, section_url
    from tests.factories import RoundFactory

    round_ = RoundFactory()
    db.session.commit()
    login_as(people["staff"])
    response = client.post("/soknader/ny", data={"round_id": round_.id})
    application_id = int(response.headers["Location"].split("/soknader/")[1].split("/")[0])

    forged = dict(VALID_SECTIONS["budget"], status="granted", municipality_id="238", amount_granted="999999")
    assert client.post(section_url(application_id, "budget"), data=forged).status_code == 302
    application = db.session.get(Application, application_id)
    stored = application.answers["budget"]
    assert not {"status", "municipality_id", "amount_granted", "csrf_token", "version"} & set(stored)
    assert stored["cost_lines-1-amount"] == ["200000"] and stored["amount_applied"] == ["450 000"]
    assert application.state == State.draft and application.amount_granted is None

    flood = dict(VALID_SECTIONS["project"], description="x" * (MAX_VALUE_CHARS + 1))
    response = client.post(section_url(application_id, "project"), data=flood)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#description"' in page and "Kortere" not in page and "ingenting i denne delen ble lagret" in page
    assert "project" not in db.session.get(Application, application_id).answers  # nothing of it was written

    long_line = dict(VALID_SECTIONS["budget"], **{"cost_lines-1-description": "y" * (MAX_VALUE_CHARS + 1)})
    page = client.post(section_url(application_id, "budget"), data=long_line).get_data(as_text=True)
    assert 'href="#cost_lines-1-description"' in page


def test_references_of_two_rounds_in_one_year_never_meet(people):
    import sqlalchemy as sa

    from grants.applications import operations as application_ops
    from tests.factories import ApplicationFactory, RoundFactory, municipality

    first, second = RoundFactory(year=2026), RoundFactory(year=2026)
    assert (first.reference_prefix, second.reference_prefix) == ("2026", "2026-2")
    references = []
    for round_ in (first, second):
        draft = ApplicationFactory(round=round_, municipality_id=municipality("0301").id, state=State.draft)
        application_ops.submit_application(draft, people["staff"], submission_key=f"k{round_.id}", snapshot={},
                                           problems=[])
        references.append(draft.reference)
    assert references == ["2026-0001", "2026-2-0001"]
    db.session.commit()
    clash = ApplicationFactory.build(round=second, municipality_id=municipality("4601").id, state=State.draft,
                                     reference="2026-0001")
    db.session.add(clash)
    with pytest.raises(sa.exc.IntegrityError):  # the database itself keeps references unique
        db.session.flush()
    db.session.rollback()


def test_a_rounds_dates_are_locked_once_received_and_the_deadline_moves_only_with_a_reason(
        client, login_as, people):
    from datetime import UTC, date, datetime

    from grants.core.audit import AuditEntry
    from grants.rounds.models import Round
    from tests.factories import RoundFactory

    round_ = RoundFactory(year=2099, opens_at=datetime(2099, 1, 10, 8, tzinfo=UTC), deadline_date=date(2099, 3, 1))
    submitted_application(round_, received_at=datetime(2099, 1, 20, 12, tzinfo=UTC), submitted_by_id=people["staff"].id)
    db.session.commit()
    login_as(people["admin"])
    url = f"/admin/utlysninger/{round_.id}"

    # The round form shows the dates read-only, links to the change, and refuses a changed deadline.
    page = client.get(url).get_data(as_text=True)
    assert f"{url}/frist" in page and "readonly" in page
    assert client.get(f"{url}/frist").status_code == 200

    # Before the last received application, or without a reason, or into another year: refused beside the field.
    for data, field in (({"deadline_date": "2099-01-19", "reason": "Feil"}, "deadline_date"),
                        ({"deadline_date": "2099-02-01", "reason": ""}, "reason"),
                        ({"deadline_date": "2100-01-05", "reason": "Utsatt"}, "deadline_date")):
        response = client.post(f"{url}/frist", data=data)
        assert response.status_code == 422 and f'href="#{field}"' in response.get_data(as_text=True), data
    assert db.session.get(Round, round_.id).deadline_date == date(2099, 3, 1)

    # With a reason and a date after every received application: moved, recorded, and the kommune told.
    response = client.post(f"{url}/frist", data={"deadline_date": "2099-01-20", "reason": "Midlene må fordeles"})
    assert response.status_code == 302
    assert db.session.get(Round, round_.id).deadline_date == date(2099, 1, 20)  # the day the last one came
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "change_deadline"))
    assert entry is not None and entry.reason == "Midlene må fordeles"
    told = db.session.scalars(select(Notice.recipient_email).where(Notice.kind == "deadline_changed")).all()
    assert told == [people["staff"].email]


def test_a_formal_check_done_again_withdraws_the_dismissal_it_replaced_even_when_approved(people, round_):
    application = submitted_application(round_)
    checks = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)
    ops.formal_check(application, people["caseworker"], checks=dict(checks, eligible_applicant=False), accept=False,
                     reason_code="ineligible", reason_text="Ikke en kommune")
    dismissal = db.session.scalar(select(Decision).where(Decision.application_id == application.id))
    decision_ops.approve_decision(dismissal, people["approver"])
    ops.formal_check(application, people["caseworker"], checks=checks, accept=True)  # it was a kommune after all
    assert dismissal.state == DecisionState.withdrawn and application.state == State.in_review
    released, held = decision_ops.release_round(round_, people["approver"])
    assert released == [] and held == [] and application.state == State.in_review


def test_a_round_stored_before_the_year_rule_can_still_change_its_other_settings(people):
    from grants.errors import ValidationFailed
    from grants.rounds import operations as rounds
    from tests.factories import RoundFactory

    legacy = RoundFactory(year=2025)  # its deadline is in another year, as rounds made before the rule may be
    assert legacy.deadline_date.year != 2025
    rounds.update_round(legacy, people["admin"], budget=2_000_000, title_nb="Ny tittel")
    assert legacy.budget == 2_000_000
    with pytest.raises(ValidationFailed):  # but a changed year or deadline must follow the rule
        rounds.update_round(legacy, people["admin"], deadline_date=legacy.deadline_date.replace(day=1))


def test_the_contact_person_and_summary_are_read_as_typed_fields(round_):
    application = submitted_application(round_, answers={
        "applicant": {"contact_name": [" Kari Kontakt "], "contact_email": ["Kari.Kontakt@Kommune.example"]},
        "project": {"summary": ["  Vi kartlegger.  "]}, "budget": {"no_running_costs": ["y"]}},
        snapshot={"answers": {}})
    assert (application.contact_name, application.contact_email) == ("Kari Kontakt", "kari.kontakt@kommune.example")
    assert application.summary == "Vi kartlegger." and application.confirms_no_running_costs
    application.snapshot = {"answers": {"project": {"summary": ["Slik det ble sendt inn"]}}}
    assert application.summary == "Slik det ble sendt inn"  # once submitted, the snapshot is what counts
    assert application.contact_email == "" and not application.confirms_no_running_costs
