"""Payments of a grant (utbetalinger): proposed by a caseworker, approved by another person, exported in the
round's payment file, recorded as paid, never more than the grant, and the held-back share kept until the report."""

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from grants.accounts.models import Role
from grants.core.timeutil import now_utc, oslo_date
from grants.errors import InvalidTransition, NotPermitted, ValidationFailed
from grants.extensions import db
from grants.followup import operations as ops
from grants.followup.models import Payment, PaymentState
from grants.notify.models import Notice
from tests.factories import UserFactory
from tests.web.test_grants import VALID, grant_of, released


@pytest.fixture
def grant(people, round_):
    application, _decision = released(round_, people, amount=300_000)
    grant = grant_of(application)
    ops.accept_grant(grant, people["staff"], account=VALID, confirms_conditions=True)
    db.session.commit()
    return grant


def page_of(grant):
    return f"/saksbehandling/tilsagn/{grant.id}"


def test_a_payment_is_proposed_approved_exported_and_paid(client, login_as, people, round_, grant):
    login_as(people["caseworker"])
    too_much = client.post(page_of(grant) + "/utbetalinger", data={"payment-amount": "300 001"})
    text = too_much.get_data(as_text=True)
    assert too_much.status_code == 422 and "300 000" in text.replace("\xa0", " ") and 'id="error-summary"' in text
    assert client.post(page_of(grant) + "/utbetalinger", data={"payment-amount": "300 000"}).status_code == 302
    payment = db.session.scalar(select(Payment))
    assert (payment.amount, payment.state, payment.account_number) == (300_000, PaymentState.proposed, "86011117947")

    # The proposer cannot approve; an approver can, once.
    assert client.post(f"/saksbehandling/utbetalinger/{payment.id}/godkjenn").status_code == 403
    login_as(people["approver"])
    assert client.post(f"/saksbehandling/utbetalinger/{payment.id}/godkjenn").status_code == 302
    assert db.session.get(Payment, payment.id).state == PaymentState.approved
    assert client.post(f"/saksbehandling/utbetalinger/{payment.id}/godkjenn").status_code == 403

    # The payment file for the accounting system: CSV for Excel and XLSX, the approved payment in each.
    rows = list(csv.reader(io.StringIO(client.get(
        f"/saksbehandling/runder/{round_.id}/utbetalingsfil.csv").get_data(as_text=True).lstrip("\ufeff")),
        delimiter=";"))
    assert rows[0] == list(ops.PAYMENT_FILE_HEADER) and rows[1][4:6] == ["86011117947", "300000"]
    sheet = load_workbook(io.BytesIO(client.get(
        f"/saksbehandling/runder/{round_.id}/utbetalingsfil.xlsx").get_data())).active
    assert [c.value for c in sheet[2]][4:6] == ["86011117947", 300_000]

    # Paid: not in the future; then the kommune is told and sees it.
    paid = f"/saksbehandling/utbetalinger/{payment.id}/betalt"
    tomorrow = (oslo_date(now_utc()) + timedelta(days=1)).isoformat()
    future = client.post(paid, data={f"paid-{payment.id}-paid_on": tomorrow})
    assert future.status_code == 422 and "fremtiden" in future.get_data(as_text=True)
    today = oslo_date(now_utc())
    assert client.post(paid, data={f"paid-{payment.id}-paid_on": today.isoformat()}).status_code == 302
    payment = db.session.get(Payment, payment.id)
    assert (payment.state, payment.paid_on) == (PaymentState.paid, today)
    told = db.session.scalars(select(Notice).where(Notice.kind == "payment_made")).all()
    assert [n.recipient_email for n in told] == [people["staff"].email]
    assert ops.payment_file_rows(round_.id) == []
    login_as(people["staff"])
    assert "8601.11.17947" in client.get(f"/soknader/{grant.application_id}/tilsagn").get_data(as_text=True)


def test_payments_never_add_up_to_more_than_the_grant_and_a_withdrawal_frees_its_amount(people, grant):
    first = ops.propose_payment(grant, people["caseworker"], 200_000)
    with pytest.raises(ValidationFailed) as refused:
        ops.propose_payment(grant, people["caseworker"], 100_001)
    assert refused.value.message == "payment_above_payable" and refused.value.detail["payable"] == 100_000
    ops.withdraw_payment(first, people["caseworker"])
    assert ops.payable_now(grant) == 300_000
    with pytest.raises(InvalidTransition):
        ops.withdraw_payment(first, people["caseworker"])


def test_the_share_held_back_waits_for_the_report(people, round_, grant):
    round_.held_back_percent = 25
    db.session.flush()
    assert (ops.held_back(grant), ops.payable_now(grant)) == (75_000, 225_000)
    with pytest.raises(ValidationFailed):
        ops.propose_payment(grant, people["caseworker"], 225_001)
    assert ops.propose_payment(grant, people["caseworker"], 225_000).amount == 225_000
    assert ops.payable_now(grant) == 0


def test_four_eyes_hold_in_the_operations_and_in_the_database(people, grant):
    payment = ops.propose_payment(grant, people["caseworker"], 100_000)
    both = UserFactory(role=Role.admin)  # has every IMDi role, and proposed it
    second = ops.propose_payment(grant, both, 50_000)
    with pytest.raises(NotPermitted):
        ops.approve_payment(second, both)
    ops.approve_payment(payment, people["approver"])
    with pytest.raises(InvalidTransition):  # a second approval of the same payment finds it handled
        ops.approve_payment(payment, UserFactory(role=Role.approver))
    db.session.commit()
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        db.session.execute(Payment.__table__.update().where(Payment.id == second.id).values(
            state="approved", approved_by_id=both.id, approved_at=now_utc()))
        db.session.flush()
    db.session.rollback()


def test_nothing_is_paid_on_a_grant_the_kommune_has_not_accepted(client, login_as, people, round_):
    application, _decision = released(round_, people)
    grant = grant_of(application)
    with pytest.raises(InvalidTransition):
        ops.propose_payment(grant, people["caseworker"], 1_000)
    login_as(people["caseworker"])
    page = client.get(page_of(grant)).get_data(as_text=True)
    assert "Foreslå utbetaling" not in page
    assert client.post(page_of(grant) + "/utbetalinger", data={"payment-amount": "1000"}).status_code == 403


def test_an_approved_payment_can_be_withdrawn_and_a_paid_date_is_not_before_its_approval(
        client, login_as, people, grant):
    wrong = ops.propose_payment(grant, people["caseworker"], 100_000)
    ops.approve_payment(wrong, people["approver"])
    db.session.commit()
    login_as(people["caseworker"])
    assert client.post(f"/saksbehandling/utbetalinger/{wrong.id}/trekk").status_code == 302
    wrong = db.session.get(Payment, wrong.id)
    assert wrong.state == PaymentState.withdrawn and wrong.approved_by_id == people["approver"].id
    assert ops.payment_file_rows(grant.round_id) == [] and ops.payable_now(grant) == 300_000

    right = ops.propose_payment(grant, people["caseworker"], 100_000)
    ops.approve_payment(right, people["approver"])
    db.session.commit()
    long_ago = client.post(f"/saksbehandling/utbetalinger/{right.id}/betalt",
                           data={f"paid-{right.id}-paid_on": "2001-01-01"})
    assert long_ago.status_code == 422 and "før utbetalingen ble godkjent" in long_ago.get_data(as_text=True)
    assert db.session.get(Payment, right.id).state == PaymentState.approved
