"""Public JSON API v1: the published rounds and their summaries, described by an OpenAPI document."""

from flask import Blueprint, abort, jsonify, url_for
from sqlalchemy import select

from grants.extensions import csrf, db
from grants.followup import figures
from grants.followup.figures import ReportStatus
from grants.outcomes import exports
from grants.outcomes.models import AllocationSummary

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _latest_by_round():
    latest = {}
    for summary in db.session.scalars(select(AllocationSummary).where(AllocationSummary.unpublished_at.is_(None))
                                      .order_by(AllocationSummary.version)):
        latest[summary.round_id] = summary
    return latest


def _round_entry(summary):
    r = summary.data["round"]
    return {
        "id": r["id"], "year": r["year"], "area_number": r["area_number"], "budget": r["budget"],
        "title": {"nb": r["title_nb"], "nn": r["title_nn"], "en": r["title_en"]},
        "deadline_date": r["deadline_date"], "summary_version": summary.version,
        "published_at": summary.published_at.isoformat(),
        "summary_url": url_for("api.round_summary", round_id=r["id"], _external=True),
    }


@bp.route("/rounds")
def rounds():
    latest = _latest_by_round()
    return jsonify({"rounds": [_round_entry(latest[k]) for k in sorted(latest, key=lambda k: latest[k].data["round"]
                                                                        ["deadline_date"])]})


@bp.route("/rounds/<int:round_id>/summary")
def round_summary(round_id):
    summary = _latest_by_round().get(round_id)
    if summary is None:
        abort(404)
    data = summary.data
    follow_up = {g.reference: g for g in figures.per_grant(round_id)}
    downloads = {fmt: url_for("outcomes.download", round_id=round_id, version=summary.version, fmt=fmt,
                              _external=True) for fmt in ("csv", "xlsx", "json", "360giving.json")}
    return jsonify({
        "round": _round_entry(summary),
        "version": summary.version,
        "note": summary.note,
        "counts": data["counts"],
        "amounts": {"currency": "NOK", "budget": data["round"]["budget"], "applied": data["amount_applied"],
                    "granted": data["amount_granted"]},
        "grants": [{**{k: g[k] for k in ("reference", "municipality_number", "municipality", "county", "partners",
                                         "title", "summary", "amount", "continuation")},
                    **exports.follow_up_of(g, follow_up)} for g in data["grants"]],
        "downloads": downloads,
    })


@bp.route("/openapi.json")
def openapi():
    return jsonify(OPENAPI)


_COUNTS = {"type": "object", "required": ["received", "granted", "rejected", "dismissed", "withdrawn"],
           "properties": {k: {"type": "integer", "minimum": 0}
                          for k in ("received", "granted", "rejected", "dismissed", "withdrawn")}}
_ROUND = {"type": "object", "required": ["id", "year", "title", "budget"], "properties": {
    "id": {"type": "integer"}, "year": {"type": "integer"}, "area_number": {"type": ["integer", "null"]},
    "budget": {"type": "integer", "description": "Whole kroner"},
    "title": {"type": "object", "properties": {k: {"type": "string"} for k in ("nb", "nn", "en")}},
    "deadline_date": {"type": "string", "format": "date"}, "summary_version": {"type": "integer"},
    "published_at": {"type": "string", "format": "date-time"}, "summary_url": {"type": "string"}}}
_GRANT = {"type": "object", "properties": {
    "reference": {"type": "string"}, "municipality_number": {"type": "string", "pattern": "^[0-9]{4}$"},
    "municipality": {"type": "string"}, "county": {"type": "string"},
    "partners": {"type": "array", "items": {"type": "string"}}, "title": {"type": "string"},
    "summary": {"type": "string"}, "amount": {"type": "integer", "description": "Whole kroner"},
    "continuation": {"type": "boolean"},
    "amount_paid": {"type": "integer", "description": "Whole kroner paid out of the grant so far"},
    "amount_repaid": {"type": "integer", "description": "Whole kroner repaid on repayment claims so far"},
    "report_status": {"type": ["string", "null"], "enum": [*[str(s) for s in ReportStatus], None],
                      "description": "Where the grant's report stands now"}}}
_ERROR = {"description": "Not published", "content": {"application/json": {"schema": {"type": "object"}}}}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "grants public API", "version": "1.0.0",
             "description": "Published allocation summaries of IMDi's grant against racism and discrimination. "
                            "Amounts are whole Norwegian kroner."},
    "paths": {
        "/api/v1/rounds": {"get": {
            "summary": "Rounds with a published allocation summary", "operationId": "listRounds",
            "responses": {"200": {"description": "The rounds", "content": {"application/json": {"schema": {
                "type": "object", "required": ["rounds"],
                "properties": {"rounds": {"type": "array", "items": _ROUND}}}}}}}}},
        "/api/v1/rounds/{round_id}/summary": {"get": {
            "summary": "A round's latest published summary", "operationId": "getRoundSummary",
            "parameters": [{"name": "round_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1}}],
            "responses": {
                "200": {"description": "The summary", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["round", "counts", "amounts", "grants"],
                    "properties": {"round": _ROUND, "version": {"type": "integer"},
                                   "note": {"type": ["string", "null"]}, "counts": _COUNTS,
                                   "amounts": {"type": "object", "properties": {
                                       "currency": {"type": "string"}, "budget": {"type": "integer"},
                                       "applied": {"type": "integer"}, "granted": {"type": "integer"}}},
                                   "grants": {"type": "array", "items": _GRANT},
                                   "downloads": {"type": "object"}}}}}},
                "404": _ERROR}}},
    },
}
