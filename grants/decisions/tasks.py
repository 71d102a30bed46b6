"""Celery tasks of the decisions: they take ids and call one function (which commits letter by letter). They run
on the heavy queue."""

from celery import shared_task


@shared_task(name="grants.decisions.tasks.make_letters", ignore_result=True)
def make_letters(decision_ids):
    """Make the letters of released decisions (HTML and PDF) and let their decision notices go."""
    from grants.decisions.letters import make_letters as make

    return make(decision_ids)


@shared_task(name="grants.decisions.tasks.make_missing_letters", ignore_result=True)
def make_missing_letters():
    """Beat: the letters whose hand-over to the worker was lost (a broker that was down) are made here."""
    from grants.decisions.letters import decisions_without_letters
    from grants.decisions.letters import make_letters as make

    return make(decisions_without_letters())
