"""Held notices (a decision's e-mails wait for its letter) at their edges, on the real database: releasing lets go
exactly the held notices under a key prefix, taken literally; a notice released already is not released again;
and what is released is handed to the broker when the transaction commits, or left to the next sweep."""

from datetime import timedelta

from sqlalchemy import select, update

from grants.core.timeutil import at_moment, now_utc
from grants.extensions import db
from grants.notify import outbox
from grants.notify.delivery import due_for_dispatch
from grants.notify.models import Notice
from grants.notify.outbox import queue_notice, release_held


def _held(*keys):
    ids = [queue_notice("user_approved", to="kari@kommune.example", key=key, context={"municipality_name": "Oslo"},
                        held=True) for key in keys]
    db.session.commit()
    return ids


def _next_attempts():
    db.session.expire_all()
    rows = dict(db.session.execute(select(Notice.key, Notice.next_attempt_at)).all())
    db.session.commit()
    return rows


def test_releasing_lets_go_the_held_notices_under_that_prefix_only(app):
    _held("decision:1:kari@kommune.example", "decision:1:ola@kommune.example", "decision:12:kari@kommune.example")
    moment = now_utc()
    with at_moment(moment):
        assert release_held("decision:1:") == 2
    db.session.commit()
    assert _next_attempts() == {"decision:1:kari@kommune.example": moment, "decision:1:ola@kommune.example": moment,
                                "decision:12:kari@kommune.example": None}


def test_a_key_prefix_is_taken_literally_not_as_a_pattern(app):
    _held("report_1:a", "reportX1:a", "100%:a", "1000:a")
    assert release_held("report_1:") == 1
    assert release_held("100%:") == 1
    db.session.commit()
    released = {key for key, at in _next_attempts().items() if at is not None}
    assert released == {"report_1:a", "100%:a"}


def test_a_notice_released_already_is_not_released_again(app):
    (notice_id,) = _held("decision:1:kari@kommune.example")
    assert release_held("decision:1:") == 1
    retry = now_utc() + timedelta(minutes=10)  # its first attempt failed: the next waits for the backoff
    db.session.execute(update(Notice).where(Notice.id == notice_id).values(next_attempt_at=retry))
    db.session.commit()
    assert release_held("decision:1:") == 0  # the letter is made again, or the beat job passes by
    db.session.commit()
    assert _next_attempts() == {"decision:1:kari@kommune.example": retry}


def test_released_notices_are_handed_to_the_broker_when_the_transaction_commits(app, monkeypatch):
    handed = []
    monkeypatch.setattr(outbox, "dispatch", lambda ids: handed.append(list(ids)) or len(ids))
    app.config["OUTBOX_DISPATCH_AFTER_COMMIT"] = True
    first, second = _held("decision:1:kari@kommune.example", "decision:1:ola@kommune.example")
    assert handed == []  # held: not handed over at its commit
    moment = now_utc()
    with at_moment(moment):
        assert release_held("decision:1:") == 2
        assert handed == []  # not inside the transaction
        db.session.commit()
    assert handed == [[first, second]]
    rows = db.session.execute(select(Notice.dispatched_at, Notice.next_attempt_at).order_by(Notice.id)).all()
    assert rows == [(moment, moment), (moment, moment)]
    assert due_for_dispatch() == []  # handed over just now: the sweeper leaves them to the broker


def test_without_hand_over_at_commit_released_notices_are_left_to_the_next_sweep(app, monkeypatch):
    handed = []
    monkeypatch.setattr(outbox, "dispatch", lambda ids: handed.append(list(ids)) or len(ids))
    app.config["OUTBOX_DISPATCH_AFTER_COMMIT"] = False
    ids = _held("decision:1:kari@kommune.example", "decision:1:ola@kommune.example")
    assert release_held("decision:1:") == 2
    db.session.commit()
    assert handed == []
    assert db.session.scalars(select(Notice.dispatched_at)).all() == [None, None]
    assert due_for_dispatch() == ids
    db.session.commit()
