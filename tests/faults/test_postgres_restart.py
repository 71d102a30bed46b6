"""PostgreSQL restarted while kommuner submit through gunicorn: the app recovers by itself, answers a clean 503
page meanwhile, and neither loses nor half-saves a submission.

Forty kommuner, each with a draft whose sections are all saved but the last, log in, save the last section,
open the check page and submit over HTTP (tests.faults.Journey), retrying a failed step as a person would.
Once eight have their receipt, the local PostgreSQL is restarted (every connection is cut) and eight more
kommuner start meanwhile. gunicorn is never restarted.
"""

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.faults import ensure_services, postgres_control, postgres_restart_scenario

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.faults]


@pytest.fixture
def restartable(postgres_url, redis_url):
    reason = postgres_control(postgres_url)
    if reason:
        (pytest.fail if REQUIRE_SERVICES else pytest.skip)(reason)
    yield postgres_url, redis_url
    assert not ensure_services(postgres_url, redis_url), "PostgreSQL or Redis is not running after the test"


def test_submissions_survive_a_postgres_restart(restartable, tmp_path):
    postgres_url, redis_url = restartable
    report = postgres_restart_scenario(postgres_url, redis_url, tmp_path, kommuner=40, trigger=8)
    details = {k: v for k, v in report.items() if k != "log"}

    # The fault met the traffic, and gunicorn (never restarted) served every kommune to its receipt.
    assert report["requests_during_fault"] > 0, details
    assert report["gunicorn_alive"], details
    assert report["gave_up"] == [], details
    assert report["recovery_s"] is not None and report["recovery_s"] < 10, details
    assert report["errors_after_recovery"] == 0, details

    # Meanwhile: always an answer, and the app's own 503 page (Retry-After), never a traceback or a bare 500.
    assert report["no_answer"] == 0, details
    assert report["client_errors"] == 0, details
    assert set(report["statuses"]) <= {503}, details
    assert report["unclean_error_pages"] == 0, details

    # Nothing lost, nothing half-saved: every receipt the kommuner saw is in the database with its reference,
    # every submission is whole (reference, time, snapshot, two receipt notices, one audit entry), and the
    # reference numbers run without a gap (a rolled-back submission gave its number back).
    assert report["lost"] == [], details
    assert report["receipt_pages"] == report["submitted"] == report["unique_references"] == 40, details
    assert report["half_saved"] == 0, details
    assert report["references_gap_free"], details
