"""Celery tasks of the decisions: they take ids, call one function, and commit. They run on the heavy queue."""

from celery import shared_task

from grants.extensions import db


@shared_task(name="grants.review.tasks.make_letters", ignore_result=True)
def make_letters(decision_ids):
    """Make the letters of released decisions (HTML and PDF) and let their decision notices go."""
    from grants.review.letters import make_letters as make

    made = make(decision_ids)
    db.session.commit()
    return made


@shared_task(name="grants.review.tasks.make_missing_letters", ignore_result=True)
def make_missing_letters():
    """Beat: the letters whose hand-over to the worker was lost (a broker that was down) are made here."""
    from grants.review.letters import decisions_without_letters
    from grants.review.letters import make_letters as make

    made = make(decisions_without_letters())
    db.session.commit()
    return made
