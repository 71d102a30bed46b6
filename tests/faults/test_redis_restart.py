"""Redis stopped and started while kommuner submit through gunicorn: submissions (and logins) go on, the
hand-over to the broker fails fast, and once Redis is back the outbox sweeper delivers every receipt once.

Forty kommuner submit over HTTP (tests.faults.Journey, no retries: every request must succeed). Once eight have
their receipt, Redis is shut down without saving (its queues are lost), eight more kommuner start and log in
meanwhile (the login limiter falls back to memory), and Redis is started again after at least five seconds and
eight more receipts. A Celery worker and beat (sweeping every second) deliver to an SMTP sink in this process,
which counts Message-IDs.
"""

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.faults import ensure_services, redis_control, redis_outage_scenario

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker, pytest.mark.faults]


@pytest.fixture
def restartable(postgres_url, redis_url):
    reason = redis_control(redis_url)
    if reason:
        (pytest.fail if REQUIRE_SERVICES else pytest.skip)(reason)
    yield postgres_url, redis_url
    assert not ensure_services(postgres_url, redis_url), "PostgreSQL or Redis is not running after the test"


def test_submissions_go_on_without_redis_and_every_receipt_arrives_once(restartable, tmp_path):
    postgres_url, redis_url = restartable
    # Fifteen seconds: longer than a worker would wait if it gave up reconnecting after a few attempts.
    report = redis_outage_scenario(postgres_url, redis_url, tmp_path, kommuner=40, trigger=8, outage=15.0)
    details = {k: v for k, v in report.items() if k != "log"}
    log = report.get("log", "")[-3000:]

    # Every request succeeded, those during the outage too, and the outage met submissions.
    assert report["submits_during_outage"] > 0, details
    assert report["errors"] == 0, details
    assert report["gave_up"] == [], details
    assert report["lost"] == [], details
    assert report["submitted"] == report["unique_references"] == 40, details
    assert report["half_saved"] == 0, details

    # The worker and beat lived through it, and every receipt (two per application) reached the SMTP sink
    # exactly once: the ones whose hand-over failed, and the ones Redis forgot, came through the sweeper.
    assert report["worker_alive"] and report["beat_alive"], log
    assert report["receipts"] == 80, details
    assert report["receipts_sent"] == report["receipts_at_sink"] == 80, (details, log)
    assert report["duplicates"] == 0, details
