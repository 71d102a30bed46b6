"""Public pages: the rounds, a round's call text, the accessibility statement, the language switch."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from grants.core.urls import safe_next
from grants.extensions import db
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


@bp.route("/sprak", methods=["POST"])
def set_language():
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
