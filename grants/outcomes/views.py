"""Tallies for IMDi's roles; the public allocation summaries with their charts and downloads."""

import hashlib

from flask import Blueprint, Response, abort, current_app, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from grants.accounts.mfa_session import fresh_second_factor
from grants.core.timeutil import now_utc
from grants.extensions import db
from grants.followup import figures
from grants.frame import act
from grants.i18n import LANGUAGE_NAMES, current_language, language
from grants.outcomes import cache, charts, exports, publishing, tallies
from grants.outcomes.models import AllocationSummary
from grants.review.permissions import can_work_on_round
from grants.rounds.models import Round, Scheme
from grants.templating import activity_names

bp = Blueprint("outcomes", __name__)


def outcome_labels():
    return {"granted": _("Granted"), "rejected": _("Rejected"), "dismissed": _("Dismissed"),
            "withdrawn": _("Withdrawn"), "received": _("Received")}


def counts_in_words(counts):
    """The counts in words ("19 søknader: 11 innvilget, 6 avslått, 2 avvist"), each in the form its number needs."""
    return _("%(applications)s: %(granted)s, %(rejected)s, %(dismissed)s",
             applications=ngettext("%(num)d application", "%(num)d applications", counts["received"]),
             granted=ngettext("%(num)d granted", "%(num)d granted", counts["granted"]),
             rejected=ngettext("%(num)d rejected", "%(num)d rejected", counts["rejected"]),
             dismissed=ngettext("%(num)d dismissed", "%(num)d dismissed", counts["dismissed"]))


@bp.route("/saksbehandling/runder/<int:round_id>/tall")
@login_required
def round_tallies(round_id):
    if not can_work_on_round(current_user):
        abort(403)
    round_ = db.get_or_404(Round, round_id)
    summaries = db.session.scalars(select(AllocationSummary).where(AllocationSummary.round_id == round_id)
                                   .order_by(AllocationSummary.version)).all()
    return render_template("outcomes/tallies.html", round=round_, tally=tallies.for_round(round_id),
                           summaries=summaries, form=FlaskForm(), labels=outcome_labels())


@bp.route("/saksbehandling/runder/<int:round_id>/publiser", methods=["POST"])
@login_required
@fresh_second_factor
def publish(round_id):
    round_ = db.get_or_404(Round, round_id)
    if not publishing.can_publish(current_user):
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400)
    return act(lambda: publishing.publish(round_, current_user, request.form.get("note")),
               refused=url_for("outcomes.round_tallies", round_id=round_id),
               success=lambda summary: _("Version %(v)s of the summary is published.", v=summary.version),
               done=url_for("outcomes.summary", round_id=round_id))


@bp.route("/saksbehandling/sammendrag/<int:summary_id>/avpubliser", methods=["POST"])
@login_required
@fresh_second_factor
def unpublish(summary_id):
    summary = db.get_or_404(AllocationSummary, summary_id)
    if not publishing.can_publish(current_user):
        abort(403)
    if not FlaskForm().validate_on_submit():
        abort(400)
    back = url_for("outcomes.round_tallies", round_id=summary.round_id)
    return act(lambda: publishing.unpublish(summary, current_user, request.form.get("reason")), refused=back,
               success=_("The summary is unpublished."), done=back)


def _versions(round_id):
    return db.session.scalars(select(AllocationSummary).where(AllocationSummary.round_id == round_id)
                              .order_by(AllocationSummary.version.desc())).all()


def _render_body(round_id, version=None):
    """(title, HTML of the page's main content). The header and footer are per user and not cached."""
    versions = _versions(round_id)
    if version is None:
        summary = next((s for s in versions if s.unpublished_at is None), None)
    else:
        summary = next((s for s in versions if s.version == version), None)
    if summary is None:
        abort(404)
    data = summary.data
    labels = outcome_labels()
    title = data["round"].get(f"title_{current_language()}") or data["round"]["title_nb"]
    body = render_template(
        "outcomes/_summary_body.html", summary=summary, data=data, versions=versions, title=title,
        words=counts_in_words(data["counts"]), labels=labels,
        # What followed the grants changes after publication: shown as it stands now, with the time it was read
        # (the page is cached for at most cache.TTL seconds).
        follow_up={g.reference: g for g in figures.per_grant(round_id)}, follow_up_at=now_utc(),
        county_chart=charts.amounts_by_county(data, _("Amounts granted by county")),
        outcome_chart=charts.outcomes(data, labels, _("Outcomes of the applications")),
    )
    return title, body


def _page(title, body, **context):
    return render_template("outcomes/summary.html", title=title, body=Markup(body), **context)  # noqa: S704


def _csrf_slot():
    """Stands in for the CSRF token in a page cached for every anonymous visitor; each response gets the
    visitor's own token in its place. Derived from the secret key, so no text on the page can contain it."""
    return "csrf-slot-" + hashlib.sha256(b"summary-page:" + current_app.secret_key.encode()).hexdigest()[:32]


def _same_for_every_visitor():
    """An anonymous visitor with no message waiting and no query string sees exactly what every other such
    visitor in the same language sees, but for the CSRF token."""
    return not current_user.is_authenticated and not request.query_string and "_flashes" not in session


@bp.route("/tildelinger/<int:round_id>")
def summary(round_id):
    """The latest published summary. Cached per language; publishing drops the cache. Anonymous visitors get
    the whole page from the cache; a logged-in user gets the cached body inside the header for that user."""
    lang = current_language()
    if _same_for_every_visitor():
        # The page has no form that needs a token (the language switch of an anonymous visitor takes none), so
        # it is served as it is, and the visitor gets no session. Should a form with a token come into it, the
        # slot keeps one visitor's token out of the cached copy, and each response gets its own.
        slot = _csrf_slot()
        page = cache.get(round_id, f"page:{lang}")
        if page is None:
            page = _page(*_render_body(round_id), csrf_token=lambda: slot)
            cache.put(round_id, f"page:{lang}", page)
        return page.replace(slot, generate_csrf()) if slot in page else page
    key = f"body:{lang}"
    cached = cache.get(round_id, key)
    if cached is None:
        title, body = _render_body(round_id)
        cache.put(round_id, key, f"{title}\x00{body}")
    else:
        title, body = cached.split("\x00", 1)
    return _page(title, body)


@bp.route("/tildelinger/<int:round_id>/v/<int:version>")
def summary_version(round_id, version):
    return _page(*_render_body(round_id, version))


FORMATS = {
    "csv": ("text/csv; charset=utf-8", lambda s, f: exports.to_csv(s.data, f)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             lambda s, f: exports.to_xlsx(s.data, follow_up=f)),
    "json": ("application/json", exports.to_json),
    "360giving.json": ("application/json",
                       lambda s, f: exports.to_360giving(s, current_app.config["PUBLIC_BASE_URL"].rstrip("/"), f)),
}


@bp.route("/tildelinger/<int:round_id>/v/<int:version>/tildelinger.<any(csv,xlsx,json,'360giving.json'):fmt>")
def download(round_id, version, fmt):
    """A published version's data as a file. The XLSX's titles are in the language the link carries (``lang``:
    the language of the page it was on), or else the visitor's; the other formats have no words of their own."""
    lang = request.args.get("lang")
    lang = lang if lang in LANGUAGE_NAMES else current_language()
    summary = db.session.scalar(select(AllocationSummary).where(AllocationSummary.round_id == round_id,
                                                                AllocationSummary.version == version))
    if summary is None or summary.unpublished_at is not None:  # an unpublished version's page says why
        abort(404)
    mimetype, render = FORMATS[fmt]
    with language(lang):
        body = render(summary, {g.reference: g for g in figures.per_grant(round_id)})
    name = f"tildelinger-{summary.data['round']['year']}-v{version}.{fmt}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/tildelinger/data")
def data_keys():
    """The open data explained: every key of the JSON and every column of the CSV and XLSX files, from the same
    definition the files are made from (grants.outcomes.exports.KEYS)."""
    return render_template("outcomes/data_keys.html", keys=exports.KEYS, columns=exports.COLUMNS,
                           kinds=exports.kind_names(), units=exports.kind_units())


@bp.route("/tildelinger")
def index():
    """Every published allocation summary, newest year first: the public index of allocations."""
    return render_template("outcomes/index.html", years=publishing.published_by_year())


@bp.route("/ordningen/<slug>")
def scheme(slug):
    """The scheme's rounds side by side: applications, outcomes, amounts (published rounds only)."""
    scheme_ = db.session.scalar(select(Scheme).where(Scheme.slug == slug)) or abort(404)
    latest = {}
    for s in db.session.scalars(select(AllocationSummary).where(AllocationSummary.unpublished_at.is_(None))
                                .order_by(AllocationSummary.version)):
        latest[s.round_id] = s
    rows = [latest[r.id] for r in scheme_.rounds if r.id in latest]
    return render_template("outcomes/scheme.html", scheme=scheme_, rows=rows, labels=outcome_labels())


@bp.route("/ordningen/<slug>/resultater")
def results(slug):
    """What the scheme's grants came to, year by year, as the agency reports it: projects, participants in the
    reports sent, the kinds of activity, and the share of applications that continue an earlier grant. Only the
    rounds whose summary is published."""
    scheme_ = db.session.scalar(select(Scheme).where(Scheme.slug == slug)) or abort(404)
    published = set(db.session.scalars(select(AllocationSummary.round_id).join(
        Round, Round.id == AllocationSummary.round_id).where(
        AllocationSummary.unpublished_at.is_(None), Round.scheme_id == scheme_.id)))
    years = figures.yearly_results(published) if published else []
    return render_template("outcomes/results.html", scheme=scheme_, years=years, activity_names=activity_names())
