"""Configuration classes. Every setting can be overridden from the environment."""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
_INSTANCE = Path(os.environ.get("GRANTS_INSTANCE_DIR", BASE_DIR / "instance"))
DEFAULT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production


def _env(name, default=None):
    return os.environ.get(name, default)


def _env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _database_url():
    url = _env("DATABASE_URL")
    if not url:
        return f"sqlite:///{_INSTANCE / 'grants.sqlite'}"
    # Heroku-style URLs name the driver "postgres"; psycopg 3 is the one installed.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _broker_url():
    return (
        _env("CELERY_BROKER_URL")
        or _env("REDIS_URL")
        or f"sqla+sqlite:///{_INSTANCE / 'celery-broker.sqlite'}"
    )


class Config:
    SECRET_KEY = _env("SECRET_KEY", DEFAULT_SECRET_KEY)
    INSTANCE_DIR = str(_INSTANCE)
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = _env("REDIS_URL")

    # Sessions and cookies (see shared/RELIABILITY.md).
    SESSION_COOKIE_NAME = "grants_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=_env_int("SESSION_IDLE_MINUTES", 30))
    SESSION_ABSOLUTE_HOURS = _env_int("SESSION_ABSOLUTE_HOURS", 12)
    # How long before the idle end the page warns and offers to go on (WCAG 2.2.1): at least 20 seconds.
    SESSION_WARNING_SECONDS = _env_int("SESSION_WARNING_SECONDS", 120)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 11 * 1024 * 1024)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    PREFERRED_URL_SCHEME = _env("PREFERRED_URL_SCHEME", "http")
    SERVER_NAME = _env("SERVER_NAME")
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    PROXY_FIX = _env_int("PROXY_FIX", 0)  # number of trusted proxies in front

    # Languages.
    BABEL_DEFAULT_LOCALE = "nb"
    BABEL_DEFAULT_TIMEZONE = "Europe/Oslo"
    LANGUAGES = ("nb", "nn", "en")
    TIMEZONE = "Europe/Oslo"

    # Uploads.
    UPLOAD_DIR = _env("UPLOAD_DIR", str(_INSTANCE / "uploads"))
    UPLOAD_MAX_BYTES = _env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
    UPLOAD_MAX_FILES = _env_int("UPLOAD_MAX_FILES", 10)

    # Celery. The embedded default is kombu's SQLAlchemy transport on a local SQLite file.
    CELERY_BROKER_URL = _broker_url()
    CELERY_VISIBILITY_TIMEOUT = _env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    CELERY_ALWAYS_EAGER = _env_bool("CELERY_ALWAYS_EAGER", False)
    OUTBOX_DISPATCH_AFTER_COMMIT = _env_bool("OUTBOX_DISPATCH_AFTER_COMMIT", True)
    # Decision letters are made by the worker (heavy queue) after a release commits. With this set, the same task
    # runs in the committing process instead (the tests, which have no worker unless they start one).
    LETTERS_MADE_AT_COMMIT = _env_bool("LETTERS_MADE_AT_COMMIT", False)
    OUTBOX_SWEEP_SECONDS = _env_int("OUTBOX_SWEEP_SECONDS", 60)
    OUTBOX_STALE_SECONDS = _env_int("OUTBOX_STALE_SECONDS", 120)
    OUTBOX_LEASE_SECONDS = _env_int("OUTBOX_LEASE_SECONDS", 120)
    OUTBOX_MAX_ATTEMPTS = _env_int("OUTBOX_MAX_ATTEMPTS", 6)
    OUTBOX_BACKOFF_SECONDS = _env_int("OUTBOX_BACKOFF_SECONDS", 30)
    OUTBOX_TASK_BATCH = _env_int("OUTBOX_TASK_BATCH", 20)  # notice ids per Celery task (outbox.dispatch)

    # Mail. No MAIL_SERVER means messages are kept in the database and as .eml files in instance/mail/.
    MAIL_SERVER = _env("MAIL_SERVER")
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)  # STARTTLS
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = _env("MAIL_USERNAME")
    MAIL_PASSWORD = _env("MAIL_PASSWORD")
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 30)
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "IMDi tilskudd <tilskudd@imdi.example>")
    MAIL_DIR = _env("MAIL_DIR", str(_INSTANCE / "mail"))
    CONTACT_EMAIL = _env("CONTACT_EMAIL", "tilskudd@imdi.example")
    # IMDi's account that repayment claims are paid to (11 digits, MOD11; grants/followup/letters.py). The default
    # is an example number that passes the check: set IMDi's own.
    REPAYMENT_ACCOUNT = _env("REPAYMENT_ACCOUNT", "76940512057")

    # Where the throttles count (a limits storage URI): Redis in production, memory otherwise.
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", _env("REDIS_URL", "memory://"))
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    # Redis down: count in each process's memory meanwhile, instead of answering every login with a 500.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = _env_bool("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    # Throttles on logging in, registering and password resets (grants/accounts/throttle.py; README "Throttles").
    # Per client address (after PROXY_FIX): high enough for a whole kommune behind one outgoing address.
    LOGIN_LIMIT = _env("LOGIN_LIMIT", "300 per 10 minutes")
    # Per account (the typed e-mail address): this many failures are free, then each attempt waits twice as long as
    # the last (1 s, 2 s, 4 s ... at most LOGIN_MAX_DELAY_SECONDS); at LOGIN_LOCK_AFTER failures logging in with
    # the address is paused for LOGIN_LOCK_MINUTES, and the owner gets a link that lifts the pause
    # (UNLOCK_LINK_MINUTES). Failures are forgotten LOGIN_FAILURE_WINDOW_MINUTES after the first, or at a login.
    LOGIN_FREE_FAILURES = _env_int("LOGIN_FREE_FAILURES", 5)
    LOGIN_MAX_DELAY_SECONDS = _env_int("LOGIN_MAX_DELAY_SECONDS", 60)
    LOGIN_LOCK_AFTER = _env_int("LOGIN_LOCK_AFTER", 20)
    LOGIN_LOCK_MINUTES = _env_int("LOGIN_LOCK_MINUTES", 30)
    LOGIN_FAILURE_WINDOW_MINUTES = _env_int("LOGIN_FAILURE_WINDOW_MINUTES", 60)
    UNLOCK_LINK_MINUTES = _env_int("UNLOCK_LINK_MINUTES", 60)
    # Registration and password reset, each on its own count: per typed e-mail address and per client address.
    ACCOUNT_MAIL_LIMIT_PER_EMAIL = _env("ACCOUNT_MAIL_LIMIT_PER_EMAIL", "5 per hour")
    ACCOUNT_MAIL_LIMIT_PER_CLIENT = _env("ACCOUNT_MAIL_LIMIT_PER_CLIENT", "30 per hour")

    # Signing in with OpenID Connect (grants/accounts/oidc*.py; README "ID-porten and Ansattporten"). A provider
    # with no client id is not offered. ID-porten: a person, linked to a kommune by an invitation from the kommune's
    # administrator. Ansattporten: a person acting for an organisation; the organisation number in the token links
    # them to the kommune whose number it is (Municipality.organisation_number), and the kommune's administrator
    # approves them.
    OIDC_IDPORTEN_METADATA_URL = _env("OIDC_IDPORTEN_METADATA_URL",
                                      "https://idporten.no/.well-known/openid-configuration")
    OIDC_IDPORTEN_CLIENT_ID = _env("OIDC_IDPORTEN_CLIENT_ID")
    OIDC_IDPORTEN_CLIENT_SECRET = _env("OIDC_IDPORTEN_CLIENT_SECRET")
    OIDC_IDPORTEN_SCOPES = _env("OIDC_IDPORTEN_SCOPES", "openid profile")
    OIDC_ANSATTPORTEN_METADATA_URL = _env("OIDC_ANSATTPORTEN_METADATA_URL",
                                          "https://ansattporten.no/.well-known/openid-configuration")
    OIDC_ANSATTPORTEN_CLIENT_ID = _env("OIDC_ANSATTPORTEN_CLIENT_ID")
    OIDC_ANSATTPORTEN_CLIENT_SECRET = _env("OIDC_ANSATTPORTEN_CLIENT_SECRET")
    OIDC_ANSATTPORTEN_SCOPES = _env("OIDC_ANSATTPORTEN_SCOPES", "openid profile")
    # The Altinn resource Ansattporten asks the person to choose an organisation for (sent as authorization_details
    # of type ansattporten:altinn:resource); empty: nothing is asked for.
    OIDC_ANSATTPORTEN_RESOURCE = _env("OIDC_ANSATTPORTEN_RESOURCE")
    # The key of the HMAC-SHA256 that turns a person's identifier from the provider into what is stored: never the
    # national identity number itself. Keep it apart from SECRET_KEY (changing it unlinks every identity).
    # Production refuses to start with a provider configured and no key.
    OIDC_SUBJECT_KEY = _env("OIDC_SUBJECT_KEY")
    OIDC_TIMEOUT_SECONDS = _env_int("OIDC_TIMEOUT_SECONDS", 10)
    OIDC_METADATA_MAX_AGE_SECONDS = _env_int("OIDC_METADATA_MAX_AGE_SECONDS", 3600)
    # How long the signed-in identity waits for the person to finish registering (Ansattporten's first sign-in).
    OIDC_COMPLETE_MINUTES = _env_int("OIDC_COMPLETE_MINUTES", 15)
    # The roles that may log in with a password (comma-separated; default: every role). In production, list only
    # those that must, so the others use ID-porten or Ansattporten.
    PASSWORD_LOGIN_ROLES = _env("PASSWORD_LOGIN_ROLES", "municipal,reviewer,caseworker,approver,admin")
    INVITATION_DAYS = _env_int("INVITATION_DAYS", 14)
    # The second factor of IMDi's staff (grants/accounts/second_factor.py; README "Second factor"). The roles that
    # must use it (comma-separated role names; kommune staff never do); how many minutes a check stays fresh for
    # approving decisions, payments, repayment claims and reports and for publishing; how many minutes the step
    # between the right password and the code may take; the name the phone app shows. The TOTP secrets are
    # encrypted with a key derived from MFA_ENCRYPTION_KEY, or from SECRET_KEY when it is not set: set it on its
    # own to be free to change SECRET_KEY without every enrolment becoming unreadable. Wrong codes are counted per
    # account with the same LOGIN_* figures as wrong passwords, on a count of their own.
    MFA_REQUIRED_ROLES = _env("MFA_REQUIRED_ROLES", "reviewer,caseworker,approver,admin")
    MFA_REAUTH_MINUTES = _env_int("MFA_REAUTH_MINUTES", 15)
    MFA_LOGIN_MINUTES = _env_int("MFA_LOGIN_MINUTES", 5)
    MFA_ISSUER = _env("MFA_ISSUER", "IMDi tilskudd")
    MFA_ENCRYPTION_KEY = _env("MFA_ENCRYPTION_KEY")

    TESTING = False
    DEBUG = False


class DevelopmentConfig(Config):
    DEBUG = _env_bool("FLASK_DEBUG", False)


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = _env("SECRET_KEY", "testing-secret")
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = _env_bool("WTF_CSRF_ENABLED", False)
    CELERY_ALWAYS_EAGER = _env_bool("CELERY_ALWAYS_EAGER", False)
    OUTBOX_DISPATCH_AFTER_COMMIT = _env_bool("OUTBOX_DISPATCH_AFTER_COMMIT", False)
    LETTERS_MADE_AT_COMMIT = _env_bool("LETTERS_MADE_AT_COMMIT", True)
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", False)
    # Fixed, so that the browser tests' live server reads the secrets the test thread's app wrote (each app of the
    # tests has a random SECRET_KEY).
    MFA_ENCRYPTION_KEY = _env("MFA_ENCRYPTION_KEY", "testing-second-factor-key")


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SESSION_COOKIE_NAME = _env("SESSION_COOKIE_NAME", "__Host-grants_session")
    PREFERRED_URL_SCHEME = _env("PREFERRED_URL_SCHEME", "https")

    @classmethod
    def check(cls, config):
        """Refuse to run production on settings that are only safe on a laptop."""
        if not config.get("SECRET_KEY") or config["SECRET_KEY"] in {DEFAULT_SECRET_KEY, "testing-secret"}:
            raise RuntimeError("SECRET_KEY must be set to a long random value in production")
        if len(config["SECRET_KEY"]) < 32:
            raise RuntimeError("SECRET_KEY must be at least 32 characters in production")
        providers = [name for name in ("IDPORTEN", "ANSATTPORTEN") if config.get(f"OIDC_{name}_CLIENT_ID")]
        if providers and len(config.get("OIDC_SUBJECT_KEY") or "") < 32:
            raise RuntimeError("OIDC_SUBJECT_KEY must be set to a random value of at least 32 characters when "
                               "ID-porten or Ansattporten is configured")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
