"""The outbox sweeper at its edges, on the real database: which rows it hands to the broker again (at the exact
moment a row falls due, a lease runs out or a hand-over goes stale), in what order and how many, how it marks
them, when it gives up on a row whose workers keep dying, and how a sweep goes batch by batch and where it stops."""

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from grants.core.timeutil import at_moment, now_utc
from grants.extensions import db
from grants.notify import delivery, outbox
from grants.notify.delivery import claim, due_for_dispatch, give_up_on_lost_workers, mark_dispatched, sweep
from grants.notify.models import Notice, NoticeState
from tests.notify_support import drain_mail_queue

_keys = itertools.count()


def _values(**values):
    now = now_utc()
    row = dict(key=f"sweep:{next(_keys)}", kind="user_approved", recipient_email="kari@kommune.example",
               language="nb", context={"municipality_name": "Oslo"}, state=NoticeState.pending, attempts=0,
               created_at=now, next_attempt_at=now, dispatched_at=None, lease_until=None)
    row.update(values)
    return row


def _notice(**values):
    """A row of the outbox as the test sets it, committed (the sweeper reads what is committed)."""
    notice_id = db.session.execute(insert(Notice).values(**_values(**values)).returning(Notice.id)).scalar_one()
    db.session.commit()
    return notice_id


def _held(lease_until, **values):
    """A row a worker claimed (its first attempt), under a lease until ``lease_until``."""
    return _notice(state=NoticeState.sending, attempts=1, lease_until=lease_until, **values)


def _notices(count, **values):
    db.session.execute(insert(Notice), [_values(**values) for _ in range(count)])
    db.session.commit()
    return db.session.scalars(select(Notice.id).order_by(Notice.id)).all()


def _due(**kwargs):
    ids = due_for_dispatch(**kwargs)
    db.session.commit()  # end the read: on SQLite it would hold the write lock against delivery's own connection
    return ids


def _row(notice_id):
    db.session.expire_all()
    notice = db.session.get(Notice, notice_id)
    db.session.expunge(notice)
    db.session.commit()
    return notice


# --- which rows are due ------------------------------------------------------------------------------------------

def test_a_pending_notice_is_due_from_the_very_moment_of_its_next_attempt(app):
    moment = now_utc() + timedelta(minutes=5)
    notice_id = _notice(next_attempt_at=moment)
    with at_moment(moment - timedelta(microseconds=1)):
        assert _due() == []
    with at_moment(moment):
        assert _due() == [notice_id]


def test_a_hand_over_is_repeated_only_when_it_is_more_than_the_stale_time_ago(app):
    app.config["OUTBOX_STALE_SECONDS"] = 60
    moment = now_utc()
    notice_id = _notice(next_attempt_at=moment - timedelta(hours=1), dispatched_at=moment - timedelta(seconds=60))
    with at_moment(moment):
        assert _due() == []  # handed over exactly 60 s ago: its message may still be on its way
    with at_moment(moment + timedelta(microseconds=1)):
        assert _due() == [notice_id]  # no backlog given: the queue counts as empty
        assert _due(backlog=0) == [notice_id]
        assert _due(backlog=1) == []  # messages wait in the queue: its own is probably among them


def test_due_ids_come_oldest_first_and_at_most_the_limit(app):
    now = now_utc()
    # The older notice falls due later (a retry), the newer one earlier: the oldest goes first all the same.
    older = _notice(next_attempt_at=now - timedelta(seconds=1))
    newer = _notice(next_attempt_at=now - timedelta(seconds=50))
    lost = _held(now - timedelta(seconds=5))
    assert _due() == [older, newer, lost]
    assert _due(limit=2) == [older, newer]
    assert _due(limit=1) == [older]


def test_at_most_500_ids_unless_told_otherwise(app):
    ids = _notices(501)
    assert _due() == ids[:500]


def test_a_lease_that_ends_this_very_moment_is_not_yet_lost(app):
    lease = now_utc() + timedelta(minutes=1)
    notice_id = _held(lease)
    with at_moment(lease):
        assert _due() == []
    with at_moment(lease + timedelta(microseconds=1)):
        assert _due() == [notice_id]


def test_a_lost_lease_is_handed_over_once_for_each_time_it_runs_out(app):
    app.config["OUTBOX_STALE_SECONDS"] = 600
    now = now_utc()
    lease = now - timedelta(seconds=10)
    # Handed over (at its queueing) before the worker's lease ran out: the worker died, hand it over again.
    before = _held(lease, dispatched_at=lease - timedelta(seconds=50))
    # Handed over at the moment the lease ran out, or after: that hand-over is for this expiry already.
    _held(lease, dispatched_at=lease)
    _held(lease, dispatched_at=lease + timedelta(seconds=5))
    with at_moment(now):
        assert _due() == [before]
        mark_dispatched([before])
        db.session.commit()
        assert _due() == []


def test_a_hand_over_after_the_lease_ran_out_is_repeated_once_it_is_stale(app):
    app.config["OUTBOX_STALE_SECONDS"] = 60
    now = now_utc()
    lease = now - timedelta(seconds=200)
    stale_ago = _held(lease, dispatched_at=now - timedelta(seconds=60))
    longer_ago = _held(lease, dispatched_at=now - timedelta(seconds=60, microseconds=1))
    with at_moment(now):
        assert _due() == [longer_ago]  # its message was lost: hand it over again
    with at_moment(now + timedelta(microseconds=1)):
        assert _due() == [stale_ago, longer_ago]


# --- marking what was handed over --------------------------------------------------------------------------------

def test_marking_ids_handed_over_stamps_those_rows_with_the_time_and_no_others(app):
    first, second, third = (_notice() for _ in range(3))
    moment = now_utc() + timedelta(seconds=30)
    with at_moment(moment):
        mark_dispatched([first, third])
        mark_dispatched([])
    db.session.commit()
    assert [_row(n).dispatched_at for n in (first, second, third)] == [moment, None, moment]


# --- giving up on a row whose workers keep dying -----------------------------------------------------------------

def _lost(max_attempts):
    """A row claimed ``max_attempts`` times by workers that all died: its last lease has run out."""
    notice_id = _notice()
    for _ in range(max_attempts):
        assert claim(notice_id) is not None
        db.session.execute(Notice.__table__.update().where(Notice.id == notice_id)
                           .values(lease_until=now_utc() - timedelta(seconds=1)))
        db.session.commit()
    return notice_id


def test_a_notice_given_up_is_failed_holds_no_lease_and_is_never_due(app):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    notice_id = _lost(2)
    assert give_up_on_lost_workers() == 1
    db.session.commit()
    notice = _row(notice_id)
    assert notice.state == NoticeState.failed and notice.lease_until is None and notice.attempts == 2
    assert notice.last_error == "The worker stopped while sending, 2 times; not tried again."
    assert give_up_on_lost_workers() == 0 and _due() == []


def test_the_last_attempt_is_not_given_up_while_its_lease_holds(app):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    notice_id = _notice()
    claimed = claim(notice_id)
    assert give_up_on_lost_workers() == 0  # the worker may still finish it
    db.session.commit()
    with at_moment(claimed.lease_until):
        assert give_up_on_lost_workers() == 0
        db.session.commit()
    assert _row(notice_id).state == NoticeState.sending
    with at_moment(claimed.lease_until + timedelta(microseconds=1)):
        assert give_up_on_lost_workers() == 1
        db.session.commit()
    assert _row(notice_id).state == NoticeState.failed


def test_a_lost_lease_with_attempts_left_is_handed_over_again_not_given_up(app):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    notice_id = _lost(2)
    assert give_up_on_lost_workers() == 0
    db.session.commit()
    notice = _row(notice_id)
    assert notice.state == NoticeState.sending and notice.last_error is None
    assert _due() == [notice_id]


# --- a sweep -----------------------------------------------------------------------------------------------------

_drain = drain_mail_queue


def test_a_sweep_hands_the_due_notices_to_the_broker_and_marks_them_handed_over(app):
    app.config["OUTBOX_TASK_BATCH"] = 20
    _drain(app)
    now = now_utc()
    due = [_notice() for _ in range(3)]
    later = _notice(next_attempt_at=now + timedelta(hours=1))
    assert sweep() == 3
    assert _drain(app) == [due]
    assert all(_row(n).dispatched_at >= now for n in due)
    assert _row(later).dispatched_at is None
    assert sweep() == 0  # handed over just now: not again until that is stale
    assert _drain(app) == []


class FakeBroker:
    """Stands in for outbox.dispatch and outbox.broker_backlog: records each hand-over and takes ``accept`` ids of
    each (all of them when None), with ``backlog`` messages said to wait in its queue."""

    def __init__(self):
        self.batches = []
        self.accept = None
        self.backlog = 0

    def dispatch(self, ids):
        ids = list(ids)
        self.batches.append(ids)
        assert len(self.batches) <= 50, "the sweep does not stop"
        return len(ids) if self.accept is None else min(self.accept, len(ids))


@pytest.fixture
def broker(monkeypatch):
    fake = FakeBroker()
    monkeypatch.setattr(outbox, "dispatch", fake.dispatch)
    monkeypatch.setattr(outbox, "broker_backlog", lambda: fake.backlog)
    return fake


def test_a_sweep_goes_batch_by_batch_until_a_batch_is_not_full(app, broker):
    ids = _notices(5)
    assert sweep(batch=2) == 5
    assert broker.batches == [ids[0:2], ids[2:4], ids[4:5]]
    assert all(_row(n).dispatched_at is not None for n in ids)


def test_a_sweep_stops_at_its_most_and_leaves_the_rest_to_the_next_sweep(app, broker):
    ids = _notices(5)
    assert sweep(batch=2, most=4) == 4
    assert broker.batches == [ids[0:2], ids[2:4]]
    assert _row(ids[4]).dispatched_at is None
    assert sweep(batch=2, most=4) == 1


def test_a_sweep_stops_where_the_broker_stopped_taking_ids(app, broker):
    ids = _notices(4)
    broker.accept = 1  # the broker went down after the first id
    assert sweep(batch=2) == 1
    assert broker.batches == [ids[0:2]]
    assert [_row(n).dispatched_at is not None for n in ids] == [True, False, False, False]
    broker.accept = 0
    assert sweep(batch=2) == 0  # still down: one try, nothing marked
    assert broker.batches[1:] == [ids[1:3]]
    assert _row(ids[1]).dispatched_at is None


def test_a_sweep_leaves_alone_what_probably_waits_in_the_broker_queue(app, broker):
    app.config["OUTBOX_STALE_SECONDS"] = 60
    handed = _notice(dispatched_at=now_utc() - timedelta(seconds=120))
    never = _notice()
    broker.backlog = 50
    assert sweep() == 1
    assert broker.batches == [[never]]
    broker.backlog = 0
    assert sweep() == 1
    assert broker.batches[1:] == [[handed]]


def test_a_sweep_hands_over_500_ids_a_batch_and_20000_at_most(app, monkeypatch, broker):
    asked = []

    def due(limit, backlog):  # an outbox that never runs dry
        asked.append((limit, backlog))
        assert len(asked) <= 40, "the sweep does not stop at 20 000"
        return list(range(len(asked) * limit, (len(asked) + 1) * limit))

    monkeypatch.setattr(delivery, "due_for_dispatch", due)
    monkeypatch.setattr(delivery, "mark_dispatched", lambda ids: None)
    broker.backlog = 7
    assert sweep() == 20_000
    assert asked == [(500, 7)] * 40
