"""`flask grants seed-demo` replays 2024 and 2025 through the real operations; the 2025 summary reads
19 / 11 / 6 / 2 and can be downloaded in every format."""

import json

from sqlalchemy import func, select

from grants.applications.models import Application
from grants.core.audit import AuditEntry
from grants.demo import seed_demo
from grants.extensions import db
from grants.outcomes import tallies
from grants.rounds.models import Round


def _round(slug):
    return db.session.scalar(select(Round).where(Round.slug == slug))


def test_seed_demo_replays_history_that_reads_right_everywhere(app, client):
    """One seeding (it replays two whole rounds), then every check of the issue on it."""
    seed_demo()
    db.session.commit()
    check_2025_reads_19_11_6_2_and_about_ten_million()
    check_2024_has_twelve_grants()
    check_history_went_through_the_real_operations()
    check_public_summary_api_and_downloads(client)
    check_the_grants_are_followed_up()
    check_seed_demo_is_idempotent()
    check_demo_logins_work_and_real_passwords_keep_their_own_salt()


def check_2025_reads_19_11_6_2_and_about_ten_million():
    tally = tallies.for_round(_round("2025").id)
    assert (tally.received, tally.granted, tally.rejected, tally.dismissed, tally.withdrawn) == (19, 11, 6, 2, 0)
    assert 9_500_000 <= tally.amount_granted <= 10_000_000
    assert tally.continuation == 9


def check_2024_has_twelve_grants():
    tally = tallies.for_round(_round("2024").id)
    assert tally.granted == 12 and tally.amount_granted <= 10_000_000


def check_history_went_through_the_real_operations():
    actions = dict(db.session.execute(select(AuditEntry.action, func.count()).group_by(AuditEntry.action)).all())
    for action in ("register", "approve", "submit", "accept_for_review", "assign", "declare", "submit_review",
                   "propose", "release", "publish", "register_received"):
        assert actions.get(action), action
    late = db.session.scalar(select(Application).where(Application.channel == "email"))
    assert late.state == "dismissed" and late.received_at > late.round.deadline_at


def check_the_grants_are_followed_up():
    """2024: every grant paid; reports approved but for one returned and sent again, and one overdue. 2025: every
    grant accepted and paid in full."""
    from grants.followup.models import Grant, GrantState, Payment, PaymentState, Report, ReportState

    for slug in ("2024", "2025"):
        grants = db.session.scalars(select(Grant).where(Grant.round_id == _round(slug).id)).all()
        paid = db.session.scalars(select(Payment).where(Payment.grant_id.in_([g.id for g in grants]))).all()
        assert {g.state for g in grants} == {GrantState.accepted}, slug
        assert {p.state for p in paid} == {PaymentState.paid} and sum(p.amount for p in paid) == sum(
            g.amount for g in grants), slug
    versions = db.session.execute(select(Report.number, Report.state).join(Grant, Grant.id == Report.grant_id)
                                  .where(Grant.round_id == _round("2024").id)).all()
    assert sorted(versions) == sorted([(1, ReportState.approved)] * 10 + [(1, ReportState.returned),
                                                                          (2, ReportState.approved)])
    states = dict(db.session.execute(select(Application.state, func.count()).where(
        Application.round_id == _round("2024").id).group_by(Application.state)).all())
    assert states == {"closed": 11, "granted": 1}  # the one whose report is overdue
    from grants.followup import figures
    from grants.followup.figures import ReportStatus
    from grants.followup.models import ClaimState, RepaymentClaim

    claim = db.session.scalar(select(RepaymentClaim))
    assert (claim.state, claim.amount, claim.report_id is not None) == (ClaimState.repaid, 120_000, True)
    total = figures.for_round(_round("2024").id)
    assert (total.claimed, total.repaid, total.reports[ReportStatus.approved],
            total.reports[ReportStatus.overdue]) == (120_000, 120_000, 11, 1)


def check_demo_logins_work_and_real_passwords_keep_their_own_salt():
    """The demo's accounts share the hash of their one published password (made once while seeding); any account made
    afterwards gets its own salt again, even with the same password."""
    from grants.accounts.models import User
    from grants.demo import DEMO_PASSWORD

    demo = db.session.scalars(select(User).where(User.email.like("%.example"))).all()
    assert len(demo) > 30
    assert all(u.check_password(DEMO_PASSWORD) for u in demo)
    assert len({u.password_hash for u in demo}) == 1
    first, second = User(email="a@x.example"), User(email="b@x.example")
    first.set_password(DEMO_PASSWORD)
    second.set_password(DEMO_PASSWORD)
    assert first.password_hash != second.password_hash and second.check_password(DEMO_PASSWORD)


def check_seed_demo_is_idempotent():
    before = db.session.scalar(select(func.count()).select_from(Application))
    seed_demo()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Application)) == before


def check_public_summary_api_and_downloads(client):
    round_id = _round("2025").id
    page = client.get(f"/tildelinger/{round_id}").get_data(as_text=True)
    assert "19 søknader: 11 innvilget, 6 avslått, 2 avvist" in page
    client.post("/sprak", data={"lang": "en"})
    assert "19 applications: 11 granted, 6 rejected, 2 dismissed" in client.get(f"/tildelinger/{round_id}").get_data(
        as_text=True)
    rounds = client.get("/api/v1/rounds").get_json()["rounds"]
    assert {r["year"] for r in rounds} == {2024, 2025}
    summary = client.get(f"/api/v1/rounds/{round_id}/summary").get_json()
    assert summary["counts"] == {"received": 19, "granted": 11, "rejected": 6, "dismissed": 2, "withdrawn": 0}
    assert len(summary["grants"]) == 11 and sum(g["amount"] for g in summary["grants"]) == summary["amounts"][
        "granted"]
    for fmt in ("csv", "xlsx", "json", "360giving.json"):
        response = client.get(summary["downloads"][fmt].replace("http://localhost", ""))
        assert response.status_code == 200 and response.data, fmt
        assert response.headers["Content-Disposition"].startswith("attachment")
    giving = json.loads(client.get(summary["downloads"]["360giving.json"].replace("http://localhost", "")).data)
    assert len(giving["grants"]) == 11 and all(g["currency"] == "NOK" for g in giving["grants"])
    assert client.get("/api/v1/openapi.json").get_json()["openapi"].startswith("3.")
    assert "2024" in client.get("/ordningen/tuki-rasisme-diskriminering").get_data(as_text=True)
