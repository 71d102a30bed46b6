"""Languages: bokmål (default), nynorsk and English through Flask-Babel."""

from flask import has_request_context, session
from flask_babel import get_locale
from flask_login import current_user

from grants.extensions import babel

LANGUAGE_NAMES = {"nb": "Bokmål", "nn": "Nynorsk", "en": "English"}


def select_locale():
    if not has_request_context():
        return "nb"  # CLI commands and workers: messages choose their own language with force_locale
    if current_user and current_user.is_authenticated:
        return current_user.language
    lang = session.get("lang")
    return lang if lang in LANGUAGE_NAMES else "nb"


def current_language():
    """The language of this request: "nb", "nn" or "en"."""
    locale = get_locale()
    lang = str(locale) if locale else "nb"
    return lang if lang in LANGUAGE_NAMES else "nb"


def init_app(app):
    from grants import ROOT

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "grants" / "translations"))
    babel.init_app(app, locale_selector=select_locale, default_timezone="Europe/Oslo")
