"""Celery bound to the Flask app: every task runs inside an app context."""

import os

from celery import Celery, Task
from celery.signals import worker_process_init, worker_process_shutdown
from kombu import Queue


def celery_settings(config):
    """Celery's settings from the Flask config. Chosen so that a Redis broker loses nothing."""
    broker = config["CELERY_BROKER_URL"]
    visibility = config["CELERY_VISIBILITY_TIMEOUT"]
    # A key prefix keeps apart several apps (or test runs) that share one Redis database.
    prefix = config.get("CELERY_KEY_PREFIX") or os.environ.get("CELERY_KEY_PREFIX")
    return {
        "broker_url": broker,
        "imports": ("grants.notify.tasks", "grants.decisions.tasks", "grants.reminders"),
        "task_ignore_result": True,
        "result_backend": None,
        # Acknowledge after the task ran, and give the message back if the worker process dies.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One message at a time per worker process, so a dying process holds at most one (a batch of up to
        # OUTBOX_TASK_BATCH notice ids; the notice it was sending waits for its lease, the rest are still pending).
        "worker_prefetch_multiplier": 1,
        # Redis hands an unacknowledged message to another worker after this many seconds; it must be longer
        # than any countdown we use (the longest retry backoff), or tasks run twice.
        "broker_transport_options": transport_options(broker, visibility, prefix),
        "result_backend_transport_options": {"visibility_timeout": visibility},
        "visibility_timeout": visibility,
        # A worker that loses its broker keeps trying (2, 4, 6... seconds apart, at most 30) for as long as it
        # takes, instead of exiting after a few attempts while Redis restarts; the outbox covers what was missed.
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "task_default_queue": "default",
        "task_queues": (Queue("default"), Queue("mail"), Queue("heavy")),
        "task_routes": {
            "grants.notify.tasks.send_notice": {"queue": "mail"},
            "grants.decisions.tasks.*": {"queue": "heavy"},  # decision letters: PDFs, seconds of work
        },
        "task_always_eager": config["CELERY_ALWAYS_EAGER"],
        "task_eager_propagates": True,
        "timezone": "Europe/Oslo",
        "enable_utc": True,
        "beat_schedule": beat_schedule(config),
        "worker_hijack_root_logger": False,
    }


def transport_options(broker, visibility, prefix=None):
    """Redis needs the visibility timeout; the SQLAlchemy transport passes its options to create_engine.

    ``max_retries`` 1 with no wait: a hand-over to a broker that is down fails in milliseconds instead of
    holding a web request for seconds (the outbox sweeper sends it later). The worker's own reconnecting is
    governed by broker_connection_* and is not affected.
    """
    if broker.startswith(("redis://", "rediss://")):
        options = {"visibility_timeout": visibility, "socket_connect_timeout": 2, "socket_timeout": 5,
                   "max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
        if prefix:
            options["global_keyprefix"] = prefix
        return options
    return {}  # kombu hands these to create_engine; the SQLite broker needs none


def beat_schedule(config):
    sweep = config["OUTBOX_SWEEP_SECONDS"]
    return {
        "outbox-sweep": {"task": "grants.notify.tasks.sweep_outbox", "schedule": float(sweep)},
        "deadline-notices": {"task": "grants.reminders.schedule_notices", "schedule": 300.0},
        "missing-letters": {"task": "grants.decisions.tasks.make_missing_letters", "schedule": float(sweep)},
    }


def celery_init_app(app):
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app.config))
    celery_app.set_default()
    celery_app.flask_app = app
    app.extensions["celery"] = celery_app
    return celery_app


@worker_process_init.connect(weak=False, dispatch_uid="grants.celery.fresh_connections")
def _fresh_connections(**_kwargs):
    """A prefork child must not use the database connections it inherited from its parent."""
    from celery import current_app as current_celery

    from grants.extensions import db

    flask_app = getattr(current_celery, "flask_app", None)
    if flask_app is not None:
        with flask_app.app_context():
            db.engine.dispose(close=False)


@worker_process_shutdown.connect(weak=False, dispatch_uid="grants.celery.close_smtp")
def _close_smtp(**_kwargs):
    from grants.notify.mailer import close_connection

    close_connection()
