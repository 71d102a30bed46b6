"""Celery tasks: thin wrappers that take ids and call one function."""

from celery import shared_task


@shared_task(name="grants.notify.tasks.send_notice", ignore_result=True)
def send_notice(notice_ids):
    """One notice id, or a list of them (outbox.dispatch hands them over in batches)."""
    from grants.notify.delivery import deliver_many

    deliver_many(notice_ids if isinstance(notice_ids, list | tuple) else [notice_ids])


@shared_task(name="grants.notify.tasks.noop", ignore_result=True)
def noop(_value=None):
    """Does nothing: the yardstick for the broker and worker overhead in bench/notify.py."""


@shared_task(name="grants.notify.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox():
    """Hand every notice that is due and not in a worker's hands to the broker again (beat, every minute)."""
    from grants.notify.delivery import sweep

    return sweep()
