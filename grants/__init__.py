"""The grants application: create_app builds it; nothing happens at import time."""

import os
from pathlib import Path

from flask import Flask

from config import CONFIGS, ProductionConfig

ROOT = Path(__file__).resolve().parent.parent


def create_app(config=None, **overrides):
    """Build the Flask app.

    ``config`` is a name from config.CONFIGS (default: $GRANTS_CONFIG or "development") or a config class;
    ``overrides`` are set on top.
    """
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=os.environ.get("GRANTS_INSTANCE_DIR", str(ROOT / "instance")),
        instance_relative_config=False,
    )
    if config is None:
        config = os.environ.get("GRANTS_CONFIG", "development")
    config_class = CONFIGS[config] if isinstance(config, str) else config
    app.config.from_object(config_class)
    app.config.update(overrides)
    if config_class is ProductionConfig or issubclass(config_class, ProductionConfig):
        ProductionConfig.check(app.config)

    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from sqlalchemy.engine import make_url

    from grants import i18n, security
    from grants.celery import celery_init_app
    from grants.extensions import csrf, db, login_manager, migrate

    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).drivername == "postgresql+psycopg":
        # grants.db.configure_postgresql tests a pooled connection's socket instead of pinging the server.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.pop("pool_pre_ping", None)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    login_manager.init_app(app)
    celery_init_app(app)

    _import_models()
    _register_blueprints(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from grants.db import configure_sqlite, ensure_sqlite_folder

        ensure_sqlite_folder(app.config["SQLALCHEMY_DATABASE_URI"])
        ensure_sqlite_folder(app.config["CELERY_BROKER_URL"])

        with app.app_context():
            configure_sqlite(db.engine)
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        from grants.db import configure_postgresql

        with app.app_context():
            configure_postgresql(db.engine)

    from grants.errors import register_error_handlers

    register_error_handlers(app)

    from grants import static_files, templating, vocabulary

    templating.init_app(app)
    vocabulary.init_app(app)
    static_files.init_app(app)

    from grants.cli import register_cli

    register_cli(app)
    return app


def _import_models():
    """Import every model module so that relationships and Alembic see all tables."""
    from grants.accounts import models as _accounts  # noqa: F401
    from grants.accounts import oidc_models as _identities  # noqa: F401
    from grants.applications import models as _applications  # noqa: F401
    from grants.applications import queries as _round_facts  # noqa: F401 - tells the rounds of their applications
    from grants.core import audit as _audit  # noqa: F401
    from grants.decisions import letters as _letters  # noqa: F401 - registers the decision letter attachment
    from grants.decisions import models as _decisions  # noqa: F401
    from grants.decisions import operations as _followers  # noqa: F401 - a withdrawal cancels open decisions
    from grants.followup import models as _followup  # noqa: F401
    from grants.followup import operations as _grants  # noqa: F401 - a released grant decision makes its grant
    from grants.messages import models as _messages  # noqa: F401
    from grants.notify import models as _notify  # noqa: F401
    from grants.outcomes import models as _outcomes  # noqa: F401
    from grants.review import models as _review  # noqa: F401
    from grants.rounds import models as _rounds  # noqa: F401


def _register_blueprints(app):
    from grants.accounts import mfa_views as _second_factor  # noqa: F401 - adds the second factor's pages to bp
    from grants.accounts import oidc_views as _sign_in_pages  # noqa: F401 - ID-porten, Ansattporten, invitations
    from grants.accounts.permissions import can_view_outbox
    from grants.accounts.views import bp as accounts_bp
    from grants.applications.views import bp as applications_bp
    from grants.decisions.views import bp as decisions_bp
    from grants.followup import repayment_views as _claims  # noqa: F401 - adds the repayment claims' pages to bp
    from grants.followup import report_views as _report_pages  # noqa: F401 - the report's pages on that blueprint
    from grants.followup.views import bp as followup_bp
    from grants.messages.views import bp as messages_bp
    from grants.notify.views import allow_viewers
    from grants.notify.views import bp as notify_bp
    from grants.public.views import bp as public_bp
    from grants.review.views import bp as review_bp
    from grants.rounds.views import bp as rounds_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(rounds_bp)
    app.register_blueprint(applications_bp)
    allow_viewers(can_view_outbox)
    app.register_blueprint(notify_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(decisions_bp)
    app.register_blueprint(followup_bp)
    app.register_blueprint(messages_bp)
    from grants.api.views import bp as api_bp
    from grants.outcomes.views import bp as outcomes_bp

    app.register_blueprint(outcomes_bp)
    app.register_blueprint(api_bp)
