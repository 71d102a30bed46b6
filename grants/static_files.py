"""Static files served as a browser can keep them: fingerprinted URLs, cached for a year, compressed.

Two maintained libraries do the work, and this module only joins them to the app:

- Flask-Static-Digest (``flask digest compile``, run by ``make assets``) writes a copy of every file under
  ``grants/static`` whose name carries the md5 of its content (``css/app-<md5>.css``), gzip and brotli copies
  beside it, and ``cache_manifest.json``. Templates ask for ``static_url_for('static', filename=...)``, which
  gives the fingerprinted URL when the manifest is there and the plain one otherwise.
- WhiteNoise serves ``/static/`` in front of Flask: the brotli or gzip copy when the browser accepts it, and,
  for a fingerprinted file, ``Cache-Control: public, max-age=31536000, immutable``, so a second page makes no
  request for stylesheets or fonts. A static request never reaches Flask: no session, no user loaded.

The fonts are referenced from inside a stylesheet (``vendor/inter/inter.css``), where no URL helper reaches.
``tools/copy-assets.mjs`` therefore puts them in a folder named by the exact version of the npm package they
come from (``vendor/inter/5.3.0/``), pinned in package.json and package-lock.json: a new version is a new URL,
so those URLs are immutable too.
"""

import re

from flask import request, url_for
from whitenoise import WhiteNoise

from grants.security import static_headers

YEAR = 365 * 24 * 3600

# Flask-Static-Digest's fingerprint (a dash and 32 hex digits before the extension), or a folder named by a
# package's exact version.
_IMMUTABLE = re.compile(r"-[0-9a-f]{32}\.[^/]+$|/vendor/[^/]+/\d+\.\d+\.\d+/")


class _StaticFiles(WhiteNoise):
    """WhiteNoise with a year as "for ever" (its own default is ten years): ``max-age=31536000``, the
    longest that RFC 9111 advises for a response that never changes."""

    FOREVER = YEAR


def immutable(path, url):
    """Whether the file at ``url`` (str, e.g. "/static/css/app-<md5>.css") can never change: True for a
    fingerprinted name or a file in a package-version folder. ``path`` (the file on disk) is not needed."""
    return bool(_IMMUTABLE.search(url))


def _kept(static_url_for):
    """``static_url_for`` remembering its answers: the manifest is read once at start, so a file's URL changes
    only with the application's root (SCRIPT_NAME, part of the key). Every page links the same few files."""
    answers = {}

    def kept(endpoint, **values):
        key = (request.script_root, endpoint, *sorted(values.items()))
        try:
            return answers[key]
        except KeyError:
            answer = answers[key] = static_url_for(endpoint, **values)
            return answer
        except TypeError:  # a value that cannot be a key: asked anew
            return static_url_for(endpoint, **values)

    return kept


def init_app(app):
    """Give ``app`` the ``static_url_for`` template global and put WhiteNoise in front of it for ``/static/``.

    Files not fingerprinted (when ``make assets`` has not run the digest) are served with a short max-age of
    ``STATIC_MAX_AGE`` seconds. In debug mode pages link the plain names and WhiteNoise looks for new files on
    each request, so an edited stylesheet shows without a new digest."""
    from flask_static_digest import FlaskStaticDigest

    app.config.setdefault("FLASK_STATIC_DIGEST_COMPRESSION", ["gzip", "brotli"])
    digest = FlaskStaticDigest(app)
    if app.debug:
        # While developing, a stylesheet edited after the last `make assets` must show: plain names, read anew.
        app.add_template_global(url_for, "static_url_for")
    else:
        app.add_template_global(_kept(digest.static_url_for), "static_url_for")
    app.wsgi_app = _StaticFiles(
        app.wsgi_app,
        root=app.static_folder,
        prefix=app.static_url_path.strip("/") + "/",
        max_age=app.config.get("STATIC_MAX_AGE", 60),
        immutable_file_test=immutable,
        add_headers_function=static_headers,
        autorefresh=app.debug,
    )
