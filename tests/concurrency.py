"""Running operations at the same moment on a real database, for the tests of locks and unique numbers."""

import threading

from grants.extensions import db


def _in_thread(app, work, results, barrier):
    with app.app_context():
        db.session.commit()  # hold no transaction while waiting for the others
        barrier.wait()
        try:
            outcome = work()
            db.session.commit()
            results.append(outcome)
        except Exception as exc:  # noqa: BLE001 - the tests count outcomes
            db.session.rollback()
            results.append(type(exc).__name__)
        finally:
            db.session.remove()


def at_once(app, works, timeout=60):
    """Run each callable of ``works`` in a thread of its own with its own app context and session, all released at
    one barrier; each commits on success. Returns what each returned, or the name of the exception it raised, in
    the order they finished."""
    db.session.commit()  # the test's own session must not hold a lock while the threads run
    results, barrier = [], threading.Barrier(len(works))
    threads = [threading.Thread(target=_in_thread, args=(app, work, results, barrier)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
