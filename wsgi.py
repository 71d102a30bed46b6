"""The gunicorn entry point: ``gunicorn wsgi:app``.

A web process warms up before it takes requests (grants.warmup); the ``flask`` commands, which import this file
too, skip it, except a server started with ``GRANTS_WARM_UP=1`` (``make run`` sets it)."""

import os

from grants import create_app

app = create_app()

if os.environ.get("FLASK_RUN_FROM_CLI") != "true" or os.environ.get("GRANTS_WARM_UP") == "1":
    from grants.warmup import warm

    warm(app)
