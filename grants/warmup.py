"""Work done once when a web process starts instead of in its first requests.

Without it the first request of a fresh process compiles every template it touches (the layout, the macros, the
page), parses a gettext catalogue and sets up the ORM's mappers: a few hundred milliseconds for the first person
to arrive after each deploy or restart. ``warm`` does that work before the process takes requests (gunicorn
imports ``wsgi.py`` before its workers accept connections). It opens no database connection, so a process that
forks afterwards shares none.
"""

from flask_babel import force_locale, get_translations
from sqlalchemy.orm import configure_mappers

from grants.i18n import LANGUAGE_NAMES


def warm(app):
    """Compile every template of ``app`` into its Jinja cache, load the catalogue of each language and configure
    the ORM mappers. Returns the number of templates compiled (int). Raises whatever a template that does not
    compile raises, so a broken template stops the start instead of a page."""
    configure_mappers()
    names = [name for name in app.jinja_env.list_templates() if name.endswith((".html", ".txt"))]
    for name in names:
        app.jinja_env.get_template(name)
    with app.test_request_context("/"):
        for lang in LANGUAGE_NAMES:
            with force_locale(lang):
                get_translations()
    return len(names)
