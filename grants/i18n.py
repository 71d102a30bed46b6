"""Languages: bokmål (default), nynorsk and English through Flask-Babel."""

from contextlib import contextmanager
from pathlib import Path

from flask import g, has_app_context, has_request_context, session
from flask_babel import force_locale, get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup

from grants.extensions import babel

LANGUAGE_NAMES = {"nb": "Bokmål", "nn": "Nynorsk", "en": "English"}


def select_locale():
    if not has_request_context():
        return "nb"  # CLI commands and workers: messages choose their own language with force_locale
    if current_user and current_user.is_authenticated:
        return current_user.language
    lang = session.get("lang")
    return lang if lang in LANGUAGE_NAMES else "nb"


def choose_language(lang):
    """Keep ``lang`` ("nb", "nn" or "en") as this visitor's language: in the session, and as the logged-in user's
    language (the caller commits). ValueError for any other code. The page in progress keeps the language it
    started in; the next request speaks ``lang``."""
    if lang not in LANGUAGE_NAMES:
        raise ValueError(lang)
    session["lang"] = lang
    if current_user and current_user.is_authenticated:
        current_user.language = lang


def current_language():
    """The language of this request: "nb", "nn" or "en".

    Kept in ``g`` after the first call: a page asks hundreds of times (every date it shows), and Flask-Babel's
    own lookup walks several context locals each time. Flask-Babel keeps the locale of a request once chosen
    too, so this changes nothing but the cost; code that renders in another language uses ``language()``."""
    if has_app_context():
        lang = g.get("_grants_language")
        if lang is not None:
            return lang
    locale = get_locale()
    lang = str(locale) if locale else "nb"
    lang = lang if lang in LANGUAGE_NAMES else "nb"
    if has_app_context():
        g._grants_language = lang
    return lang


@contextmanager
def language(lang):
    """Render in ``lang`` for a while (an e-mail, a letter), then go back to the page's language."""
    context = has_app_context()
    before = (g.pop("_grants_language", None), g.pop("_grants_translations", None)) if context else (None, None)
    with force_locale(lang):
        if context:
            g._grants_language = lang
        try:
            yield
        finally:
            if context:
                g.pop("_grants_language", None)
                g.pop("_grants_translations", None)
                if before[0] is not None:
                    g._grants_language = before[0]
                if before[1] is not None:
                    g._grants_translations = before[1]


def title_in(titles, key):
    """The title of ``key`` in ``titles`` (a vocabulary's {key: English msgid}, kept beside its definition),
    translated into the current language; "" for None, and the key itself only for a key without a title (an old
    audit action, say: tests/unit/test_vocabulary.py keeps every current key titled)."""
    from flask_babel import gettext

    if key is None or key == "":
        return ""
    msgid = titles.get(key) or titles.get(str(key))
    return gettext(msgid) if msgid else str(key)


def translations():
    """The gettext catalogue of this request's language, kept in ``g`` like ``current_language``: templates ask
    for it at every translated string (some pages hold hundreds)."""
    if not has_app_context():
        return get_translations()
    found = g.get("_grants_translations")
    if found is None:
        found = g._grants_translations = get_translations()
    return found


def init_app(app):
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).resolve().parent / "translations"))
    babel.init_app(app, locale_selector=select_locale, default_timezone="Europe/Oslo")
    # The templates' gettext through the catalogue kept in g (Flask-Babel's own looks it up every time).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals["_"] = template_gettext


@pass_eval_context
def template_gettext(eval_ctx, string, /, **variables):
    """The templates' ``_()``: ``string`` (a msgid) translated into this request's language through the catalogue
    kept in ``g``, then formatted with ``variables`` (str, or Markup where the template autoescapes, so that
    the variables are escaped and the translation is not). Jinja's own ``_`` does the same through its
    ``gettext`` (newstyle), three calls deep for every string; pages say ``_()`` dozens of times each. As there,
    the result is always a format string: "%%" in a msgid gives "%" whether or not it has variables."""
    text = translations().ugettext(string)
    if eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - the catalogue's own text is trusted, as Jinja's gettext trusts it
    if not variables and "%" not in text:
        return text  # what the format would give: a text without "%" formats to itself
    return text % variables


def kroner(amount):
    """Whole kroner (int) as the page's language writes them: "1 234 567 kr", "NOK 1,234,567" in English; "" for
    None (grants.core.wording.kroner_in in ``current_language()``). For text shown to the person asking; a letter
    or an e-mail in a language of its own calls kroner_in with that language."""
    from grants.core.wording import kroner_in

    return kroner_in(amount, current_language())
