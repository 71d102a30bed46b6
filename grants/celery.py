"""Celery bound to the Flask app: every task runs inside an app context."""

from celery import Celery, Task
from kombu import Queue


def celery_settings(config):
    """Celery's settings from the Flask config. Chosen so that a Redis broker loses nothing."""
    broker = config["CELERY_BROKER_URL"]
    visibility = config["CELERY_VISIBILITY_TIMEOUT"]
    return {
        "broker_url": broker,
        "task_ignore_result": True,
        "result_backend": None,
        # Acknowledge after the task ran, and give the message back if the worker process dies.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One message at a time per worker process, so a dying process holds at most one.
        "worker_prefetch_multiplier": 1,
        # Redis hands an unacknowledged message to another worker after this many seconds; it must be longer
        # than any countdown we use (the longest retry backoff), or tasks run twice.
        "broker_transport_options": transport_options(broker, visibility),
        "visibility_timeout": visibility,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": 3,
        "task_default_queue": "default",
        "task_queues": (Queue("default"), Queue("mail"), Queue("heavy")),
        "task_routes": {
            "grants.notify.tasks.send_notice": {"queue": "mail"},
            "grants.outcomes.tasks.*": {"queue": "heavy"},
        },
        "task_always_eager": config["CELERY_ALWAYS_EAGER"],
        "task_eager_propagates": True,
        "timezone": "Europe/Oslo",
        "enable_utc": True,
        "beat_schedule": beat_schedule(config),
        "worker_hijack_root_logger": False,
    }


def transport_options(broker, visibility):
    """Redis needs the visibility timeout; the SQLAlchemy transport passes its options to create_engine."""
    if broker.startswith(("redis://", "rediss://")):
        return {"visibility_timeout": visibility, "socket_connect_timeout": 2, "socket_timeout": 5}
    return {"polling_interval": 0.5}


def beat_schedule(config):
    sweep = config["OUTBOX_SWEEP_SECONDS"]
    return {
        "outbox-sweep": {"task": "grants.notify.tasks.sweep_outbox", "schedule": float(sweep)},
        "deadline-notices": {"task": "grants.notify.tasks.schedule_notices", "schedule": 300.0},
    }


def celery_init_app(app):
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app.config))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
