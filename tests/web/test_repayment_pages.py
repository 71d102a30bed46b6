"""The pages of repayment claims: IMDi proposes, approves, withdraws and records repayments on its grant page and
lists the overdue claims; the kommune reads its claims and their letters. Every page and POST per role (the access
matrix), errors beside their fields with what was typed kept, and no 500 on bad input."""

import pytest
from sqlalchemy import select

from grants.accounts.models import Role
from grants.extensions import db
from grants.followup import repayments as ops
from grants.followup.models import ClaimState, Repayment, RepaymentClaim
from tests.conftest import login
from tests.factories import UserFactory, municipal_user
from tests.web.test_repayment_claims import approved, conflicted, in_days, paid_grant, propose, today


@pytest.fixture
def grant(people, round_):
    return paid_grant(people, round_)

# --- the pages: IMDi ---------------------------------------------------------------------------------------------

def page_of(grant):
    return f"/saksbehandling/tilsagn/{grant.id}"


def test_a_claim_is_proposed_approved_and_repaid_through_the_pages(client, login_as, people, grant):
    login_as(people["caseworker"])
    page = client.get(page_of(grant)).get_data(as_text=True)
    assert 'id="claims"' in page and "Foreslå kravet" in page
    due = in_days(30).isoformat()
    done = client.post(page_of(grant) + "/tilbakebetalingskrav", data={
        "claim-amount": "60 000", "claim-reason": "Prosjektet ble avsluttet før tiden", "claim-due_on": due})
    assert done.status_code == 302 and done.headers["Location"].endswith("#claims")
    claim = db.session.scalar(select(RepaymentClaim))
    assert (claim.amount, claim.state, claim.due_on.isoformat()) == (60_000, ClaimState.proposed, due)
    page = client.get(page_of(grant)).get_data(as_text=True)
    assert "Prosjektet ble avsluttet før tiden" in page and "Godkjenn og send kravet" not in page
    assert f"/tilbakebetalingskrav/{claim.id}/godkjenn" not in page  # the proposer is offered no approval

    login_as(people["approver"])
    page = client.get(page_of(grant)).get_data(as_text=True)
    assert f"/tilbakebetalingskrav/{claim.id}/godkjenn" in page
    assert client.post(f"/saksbehandling/tilbakebetalingskrav/{claim.id}/godkjenn").status_code == 302
    assert db.session.get(RepaymentClaim, claim.id).state == ClaimState.approved
    # Approved again (a second approver a moment later): told it is handled, nothing changes.
    again = client.post(f"/saksbehandling/tilbakebetalingskrav/{claim.id}/godkjenn", follow_redirects=True)
    assert again.status_code == 200 and "allerede behandlet dette kravet" in again.get_data(as_text=True)

    record = f"/saksbehandling/tilbakebetalingskrav/{claim.id}/innbetalinger"
    assert client.post(record, data={f"repaid-{claim.id}-amount": "25 000",
                                     f"repaid-{claim.id}-received_on": today().isoformat()}).status_code == 302
    too_much = client.post(record, data={f"repaid-{claim.id}-amount": "35 001",
                                         f"repaid-{claim.id}-received_on": today().isoformat()})
    text = too_much.get_data(as_text=True).replace("\xa0", " ")
    assert too_much.status_code == 422 and "35 000" in text and 'id="error-summary"' in text
    assert 'value="35 001"' in text  # what was typed is kept
    assert client.post(record, data={f"repaid-{claim.id}-amount": "35000",
                                     f"repaid-{claim.id}-received_on": today().isoformat()}).status_code == 302
    claim = db.session.get(RepaymentClaim, claim.id)
    assert (claim.state, claim.received) == (ClaimState.repaid, 60_000)
    history = client.get(f"/saksbehandling/soknader/{grant.application_id}").get_data(as_text=True)
    assert "Krav om tilbakebetaling foreslått" in history and "Tilbakebetaling mottatt" in history


@pytest.mark.parametrize(("data", "words"), [
    ({"claim-amount": "mange penger"}, ["mange penger", "hele kroner"]),
    ({"claim-amount": "9" * 400}, ["hele kroner"]),
    ({"claim-amount": "99 999 999 999"}, ["kan ikke være mer enn"]),
    ({"claim-amount": "12,50"}, ["12,50", "hele kroner"]),
    ({"claim-amount": "200 001"}, ["mer enn som kan kreves tilbake", "200 000"]),
    ({"claim-due_on": "1999-01-01"}, ["kan ikke være tilbake i tid", "1999-01-01"]),
    ({"claim-due_on": "31.02.2027"}, ["31.02.2027"]),
    ({"claim-due_on": ""}, ["Oppgi datoen beløpet skal være betalt tilbake innen"]),
    ({"claim-reason": "å" * 3001}, ["3000"]),
    ({"claim-reason": ""}, ["Oppgi begrunnelsen for kravet"]),
    ({"claim-reason": "   "}, ["Oppgi en begrunnelse"]),
])
def test_bad_input_is_shown_beside_its_field_and_kept_never_a_500(client, login_as, people, grant, data, words):
    login_as(people["caseworker"])
    form = {"claim-amount": "1000", "claim-reason": "Ikke brukt etter formålet",
            "claim-due_on": in_days(5).isoformat()} | data
    response = client.post(page_of(grant) + "/tilbakebetalingskrav", data=form)
    text = response.get_data(as_text=True).replace("\xa0", " ")
    assert response.status_code == 422 and 'id="error-summary"' in text and 'aria-invalid="true"' in text
    for word in words:
        assert word in text.replace("&#39;", "'"), word
    assert db.session.scalars(select(RepaymentClaim)).all() == []


@pytest.mark.parametrize("data", [
    {"amount": "abc"}, {"amount": "-5"}, {"received_on": "i går"}, {"received_on": "2001-01-01"}, {"amount": ""},
])
def test_bad_repayments_never_give_a_500(client, login_as, people, grant, data):
    claim = approved(grant, people)
    login_as(people["caseworker"])
    form = {f"repaid-{claim.id}-{key}": value for key, value in ({"amount": "10", "received_on": today().isoformat()}
                                                                  | data).items()}
    response = client.post(f"/saksbehandling/tilbakebetalingskrav/{claim.id}/innbetalinger", data=form)
    assert response.status_code == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
    assert db.session.get(RepaymentClaim, claim.id).received == 0


def test_the_overdue_list_shows_claims_past_due_not_wholly_repaid(client, login_as, people, round_, grant):
    late = approved(grant, people, 40_000, due_on=today())
    paid_late = approved(grant, people, 5_000, due_on=today())
    on_time = approved(grant, people, 7_000, due_on=in_days(3))
    ops.record_repayment(db.session.get(RepaymentClaim, late.id), people["caseworker"], amount=15_000,
                         received_on=today())
    ops.record_repayment(db.session.get(RepaymentClaim, paid_late.id), people["caseworker"], amount=5_000,
                         received_on=today())
    db.session.execute(RepaymentClaim.__table__.update().where(RepaymentClaim.id.in_([late.id, paid_late.id]))
                       .values(due_on=in_days(-4)))
    db.session.commit()
    rows = ops.overdue_claims()
    assert [(claim.id, received) for claim, received in rows] == [(late.id, 15_000)]
    assert [claim.id for claim, _received in ops.overdue_claims(in_days(4))] == [late.id, on_time.id]
    assert ops.overdue_claims(round_id=round_.id + 1) == []

    login_as(people["caseworker"])
    grants_page = client.get(f"/saksbehandling/runder/{round_.id}/tilsagn").get_data(as_text=True)
    assert f"/saksbehandling/tilbakebetalinger?runde={round_.id}" in grants_page
    for url in ("/saksbehandling/tilbakebetalinger", f"/saksbehandling/tilbakebetalinger?runde={round_.id}"):
        page = client.get(url).get_data(as_text=True).replace("\xa0", " ")
        assert grant.application.reference in page and "25 000" in page and "40 000" in page, url
        assert "7 000" not in page and page.count(f'href="/saksbehandling/tilsagn/{grant.id}#claims"') == 1
    assert client.get("/saksbehandling/tilbakebetalinger?runde=999").status_code == 404


def test_the_overdue_list_runs_a_fixed_number_of_queries(client, login_as, people, grant, count_queries):
    login_as(people["approver"])

    def measure():
        with count_queries() as counter:
            assert client.get("/saksbehandling/tilbakebetalinger").status_code == 200
        return counter.count

    claim = approved(grant, people, 1_000, due_on=today())
    db.session.execute(RepaymentClaim.__table__.update().values(due_on=in_days(-2)))
    db.session.commit()
    one = measure()
    for _ in range(3):
        approved(grant, people, 1_000, due_on=today())
    db.session.execute(RepaymentClaim.__table__.update().values(due_on=in_days(-2)))
    db.session.commit()
    assert measure() == one and len(ops.overdue_claims()) == 4 and claim.id


# --- the pages: the kommune ----------------------------------------------------------------------------------------

def test_the_kommune_sees_its_sent_claims_and_reads_the_letter(client, login_as, people, grant):
    proposal = propose(grant, people, 1_000, reason="Ikke godkjent ennå")
    claim = approved(grant, people, 33_000, reason="Lønn til prosjektleder etter prosjektslutt")
    login_as(people["staff"])
    page = client.get(f"/soknader/{grant.application_id}/tilsagn").get_data(as_text=True)
    letter_url = f"/soknader/{grant.application_id}/tilbakebetaling/{claim.id}"
    assert letter_url in page and f"/tilbakebetaling/{proposal.id}" not in page
    assert "Ikke betalt tilbake i sin helhet ennå" in page and "Sendt til kommunen" not in page
    letter = client.get(letter_url).get_data(as_text=True).replace("\xa0", " ")
    assert "Krav om tilbakebetaling av tilskudd" in letter and "33 000 kr" in letter and "7694.05.12057" in letter
    assert "Lønn til prosjektleder etter prosjektslutt" in letter and "6.3.8" in letter
    pdf = client.get(letter_url + ".pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get(f"/soknader/{grant.application_id}/tilbakebetaling/{proposal.id}").status_code == 404
    assert client.get(f"/soknader/{grant.application_id}/tilbakebetaling/{proposal.id}.pdf").status_code == 404
    assert client.get(f"/soknader/{grant.application_id}/tilbakebetaling/9999").status_code == 404


# --- who may: every page and POST per role ------------------------------------------------------------------------

@pytest.fixture
def cast(people, grant):
    """Everyone of the access matrix, with a proposal and an approved claim on the grant."""
    proposal = propose(grant, people, 10_000)
    sent = approved(grant, people, 20_000)
    cast = {
        "lead": people["staff"], "other": municipal_user("5001"), "caseworker": UserFactory(role=Role.caseworker),
        "approver": UserFactory(role=Role.approver), "conflicted": conflicted(grant, Role.admin),
        "reviewer": people["r1"], "anonymous": None,
    }
    db.session.commit()
    return cast, proposal, sent


def _routes(grant, proposal, sent):
    a = grant.application_id
    return {
        "imdi_page": ("GET", f"/saksbehandling/tilsagn/{grant.id}", None),
        "overdue": ("GET", "/saksbehandling/tilbakebetalinger", None),
        "letter": ("GET", f"/soknader/{a}/tilbakebetaling/{sent.id}", None),
        "letter_pdf": ("GET", f"/soknader/{a}/tilbakebetaling/{sent.id}.pdf", None),
        "preview": ("GET", f"/soknader/{a}/tilbakebetaling/{proposal.id}", None),
        "propose": ("POST", f"/saksbehandling/tilsagn/{grant.id}/tilbakebetalingskrav",
                    {"claim-amount": "1000", "claim-reason": "Ikke brukt", "claim-due_on": in_days(9).isoformat()}),
        "approve": ("POST", f"/saksbehandling/tilbakebetalingskrav/{proposal.id}/godkjenn", None),
        "withdraw": ("POST", f"/saksbehandling/tilbakebetalingskrav/{proposal.id}/trekk", None),
        "record": ("POST", f"/saksbehandling/tilbakebetalingskrav/{sent.id}/innbetalinger",
                   {f"repaid-{sent.id}-amount": "100", f"repaid-{sent.id}-received_on": today().isoformat()}),
    }


LOGIN = 302  # anonymous: sent to the login page
EXPECTED = {
    #              lead  other caseworker approver conflicted reviewer anonymous
    "imdi_page":  (403, 403, 200, 200, 200, 403, LOGIN),
    "overdue":    (403, 403, 200, 200, 200, 403, LOGIN),
    "letter":     (200, 404, 200, 200, 200, 403, LOGIN),
    "letter_pdf": (200, 404, 200, 200, 200, 403, LOGIN),
    "preview":    (404, 404, 200, 200, 200, 403, LOGIN),
    "propose":    (403, 403, 302, 403, 403, 403, LOGIN),
    "approve":    (403, 403, 403, 302, 403, 403, LOGIN),
    "withdraw":   (403, 403, 302, 302, 403, 403, LOGIN),
    "record":     (403, 403, 302, 302, 403, 403, LOGIN),
}
ROLES = ("lead", "other", "caseworker", "approver", "conflicted", "reviewer", "anonymous")


@pytest.mark.parametrize("route", list(EXPECTED))
def test_who_may_see_and_do_what(app, grant, cast, route):
    people, proposal, sent = cast
    method, url, data = _routes(grant, proposal, sent)[route]
    for role, expected in zip(ROLES, EXPECTED[route], strict=True):
        client = app.test_client()  # a browser of one's own: nobody is signed in before
        if people[role] is not None:
            login(client, people[role])
        response = client.open(url, method=method, data=data)
        assert response.status_code == expected, (route, role, response.status_code)
        if role == "anonymous":
            assert "/konto/logg-inn" in response.headers["Location"], (route, role)
        # A change that went through is undone for the next role: the same starting point for each.
        if method == "POST" and response.status_code == 302 and role != "anonymous":
            _undo(proposal, sent)
    assert db.session.get(RepaymentClaim, proposal.id).state == ClaimState.proposed


def _undo(proposal, sent):
    db.session.execute(Repayment.__table__.delete())
    db.session.execute(RepaymentClaim.__table__.delete().where(RepaymentClaim.id.notin_([proposal.id, sent.id])))
    db.session.execute(RepaymentClaim.__table__.update().where(RepaymentClaim.id == proposal.id).values(
        state="proposed", approved_by_id=None, approved_at=None, letter_language=None, account_number=None,
        withdrawn_at=None))
    db.session.commit()


def test_the_conflicted_and_the_kommune_are_offered_no_actions(client, login_as, grant, cast):
    people, proposal, _sent = cast
    login_as(people["conflicted"])
    page = client.get(f"/saksbehandling/tilsagn/{grant.id}").get_data(as_text=True)
    assert 'id="claims"' in page and "tilbakebetalingskrav" not in page and "/innbetalinger" not in page
    login_as(people["lead"])
    page = client.get(f"/soknader/{grant.application_id}/tilsagn").get_data(as_text=True)
    assert "tilbakebetalingskrav" not in page and "/innbetalinger" not in page
    assert f"/tilbakebetaling/{proposal.id}" not in page


def test_imdis_grant_page_runs_a_fixed_number_of_queries_whatever_the_claims(client, login_as, people, grant,
                                                                             count_queries):
    login_as(people["approver"])

    def measure():
        with count_queries() as counter:
            assert client.get(f"/saksbehandling/tilsagn/{grant.id}").status_code == 200
        return counter.count

    first = approved(grant, people, 1_000)
    ops.record_repayment(db.session.get(RepaymentClaim, first.id), people["caseworker"], amount=500,
                         received_on=today())
    propose(grant, people, 1_000)
    db.session.commit()
    few = measure()
    for _ in range(3):  # each by other people: nothing is read once for all
        others = {"caseworker": UserFactory(role=Role.caseworker), "approver": UserFactory(role=Role.approver)}
        claim = approved(grant, others, 1_000)
        ops.record_repayment(db.session.get(RepaymentClaim, claim.id), others["caseworker"], amount=500,
                             received_on=today())
        propose(grant, {"caseworker": UserFactory(role=Role.caseworker)}, 1_000, reason="Enda et krav")
    db.session.commit()
    assert measure() == few
