"""Public pages: the rounds, a round's call text, the accessibility statement, the language switch."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from grants.core.urls import safe_next
from grants.extensions import csrf, db
from grants.i18n import choose_language
from grants.outcomes.publishing import latest, published_round_ids
from grants.rounds.queries import public_rounds, round_with_criteria
from grants.templating import landing_endpoint

bp = Blueprint("public", __name__)


@bp.route("/")
def index():
    """The rounds open, coming and past; a past round with a published allocation summary links to it."""
    open_, upcoming, past = public_rounds()
    return render_template("public/index.html", open_rounds=open_, upcoming=upcoming, past=past,
                           summaries=published_round_ids())


@bp.route("/start")
def home():
    """Where a user lands after logging in."""
    return redirect(url_for(landing_endpoint(current_user)))


@bp.route("/utlysninger/<int:round_id>")
def round_detail(round_id):
    """A round's call text and facts, with its allocation summary when one is published."""
    round_ = round_with_criteria(round_id) or abort(404)
    return render_template("public/round.html", round=round_, summary=latest(round_id))


@bp.route("/tilgjengelighet")
def accessibility():
    return render_template("public/accessibility.html")


def _from_this_site():
    """Whether a POST came from a page of this service, by the headers a browser sets itself and no page can
    forge (OWASP's "verifying origin with standard headers"). ``Sec-Fetch-Site`` first, as it does not depend on
    how a proxy passes the host on: "same-origin", or "none" (typed or bookmarked). Without it, ``Origin`` must be
    this host's origin as the request sees it or that of PUBLIC_BASE_URL (behind a proxy that does not say the
    scheme or host). A request with neither header is not from a current browser's cross-site form, which sends
    both, and passes."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    public = urlsplit(current_app.config.get("PUBLIC_BASE_URL") or "")
    return origin in (request.host_url.rstrip("/"), f"{public.scheme}://{public.netloc}")


@csrf.exempt
@bp.route("/sprak", methods=["POST"])
def set_language():
    """The language switch in every page's header. A logged-in user's choice is kept in the profile too (the
    language of the e-mails), so it needs the session's CSRF token like every other form. An anonymous visitor's
    choice lives only in that visitor's session: the form carries no token, so that a public page need not give
    every visitor a session (and can be served from the cache as it is, bench/pages.py "summary"), and a form
    posted from another site is refused by its Origin instead (CSRFError, the same answer as a missing token)."""
    if not current_app.config["WTF_CSRF_ENABLED"]:
        pass  # the tests that switch CSRF off for the whole app
    elif current_user.is_authenticated:
        csrf.protect()
    elif not _from_this_site():
        raise CSRFError("The request did not come from this site.")
    try:
        choose_language(request.form.get("lang"))
    except ValueError:
        abort(400)
    db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("public.index")))


@bp.route("/helse")
def health():
    """For load balancers: the app answers and the database answers."""
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}
