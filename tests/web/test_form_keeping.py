"""Forms that keep what is typed (issue #15, item 7), through the test client: leaving a section or the report by
the language switch or a link keeps the draft, "Save and continue" goes to the next section, each section says
where it stands ("Del 2 av 8"), the draft's overview says when the reference comes, and the idle warning's
endpoint starts the session's idle time again (logged in, with the session's CSRF token only)."""

import re
from datetime import UTC, datetime
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select

from grants.accounts.models import User
from grants.applications.models import Application
from grants.extensions import db
from grants.followup.models import Report
from tests.applying import VALID_SECTIONS, save_section, section_url
from tests.conftest import FreshRequestClient, make_app
from tests.factories import RoundFactory
from tests.web.test_reports import form as report_form
from tests.web.test_reports import grant  # noqa: F401 - a fixture
from tests.web.test_reports import url as report_url

SESSION_COOKIE = "grants_session"

# The script, by its plain or fingerprinted name (grants/static_files.py).
SCRIPT = re.compile(r"/static/js/app(-[0-9a-f]{32})?\.js")


@pytest.fixture
def draft(client, login_as, staff):
    round_ = RoundFactory(year=2025)
    db.session.commit()
    login_as(staff)
    response = client.post("/soknader/ny", data={"round_id": round_.id})
    return int(re.search(r"/soknader/(\d+)", response.headers["Location"]).group(1))


def answers(application_id):
    db.session.expire_all()
    application = db.session.get(Application, application_id)
    return dict(application.answers or {}), application.version


def test_each_section_says_which_part_of_how_many_it_is(client, draft):
    assert "Del 1 av 8" in client.get(section_url(draft, "applicant")).get_data(as_text=True)
    assert "Del 2 av 8" in client.get(section_url(draft, "project")).get_data(as_text=True)
    assert "Del 8 av 8" in client.get(section_url(draft, "history")).get_data(as_text=True)


def test_save_and_continue_goes_to_the_next_section_and_after_the_last_to_the_check_page(client, draft):
    data = dict(VALID_SECTIONS["project"], then="next")
    response = client.post(section_url(draft, "project"), data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith(section_url(draft, "anchoring"))
    response = client.post(section_url(draft, "history"), data=dict(VALID_SECTIONS["history"], then="next"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/soknader/{draft}/kontroll")
    # Not valid: the draft is kept, and the section comes back with its errors instead of moving on.
    response = client.post(section_url(draft, "applicant"), data={"contact_name": "Kari", "then": "next"})
    assert response.status_code == 422 and "Lagre og fortsett" in response.get_data(as_text=True)
    assert answers(draft)[0]["applicant"]["contact_name"] == ["Kari"]
    # The plain Save still goes back to the overview.
    response = save_section(client, draft, "transfer")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/soknader/{draft}")


def test_switching_language_on_a_section_keeps_what_was_typed_even_when_not_valid(client, draft, staff):
    response = client.post(section_url(draft, "project"), data={"title": "Halvskrevet tittel", "participants": "3",
                                                                 "lang": "nn"})
    assert response.status_code == 302 and response.headers["Location"].endswith(section_url(draft, "project"))
    saved, _version = answers(draft)
    assert saved["project"]["title"] == ["Halvskrevet tittel"] and saved["project"]["participants"] == ["3"]
    assert db.session.get(User, staff.id).language == "nn"
    page = client.get(section_url(draft, "project")).get_data(as_text=True)
    assert 'lang="nn"' in page and 'value="Halvskrevet tittel"' in page
    assert "Prosjekt er lagra som utkast." in page  # the notice comes in the new language


def test_following_a_link_from_a_section_keeps_the_draft_and_goes_there(client, draft):
    response = client.post(section_url(draft, "transfer"), data={"transfer_value": "Vi deler", "go": "/soknader/"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/soknader/")
    assert answers(draft)[0]["transfer"]["transfer_value"] == ["Vi deler"]
    # Only paths of this site: anything else comes back to the section.
    response = client.post(section_url(draft, "transfer"), data={"transfer_value": "Vi deler mer",
                                                                  "go": "https://example.com/"})
    assert response.status_code == 302 and response.headers["Location"].endswith(section_url(draft, "transfer"))


def test_leaving_a_section_as_it_came_saves_nothing(client, draft):
    blank = {"transfer_value": "", "version": "1", "go": f"/soknader/{draft}"}
    client.post(section_url(draft, "transfer"), data=blank)
    saved, version = answers(draft)
    assert "transfer" not in saved  # still "Not started", not "Needs attention"
    save_section(client, draft, "transfer")
    saved, version = answers(draft)
    client.post(section_url(draft, "transfer"), data=dict(VALID_SECTIONS["transfer"], lang="en"))
    assert answers(draft) == (saved, version)  # the saved answers untouched: no new version for a colleague


def test_the_draft_overview_says_the_reference_comes_at_submission(client, draft):
    page = client.get(f"/soknader/{draft}").get_data(as_text=True)
    rows = dict(re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", page, re.S))
    assert rows["Referansenummer"] == "Du får referansenummeret når du sender inn søknaden."
    assert rows["Mottatt"] == "Ikke sendt inn ennå"


def test_switching_language_on_the_report_keeps_the_draft(client, login_as, people, grant):  # noqa: F811
    login_as(people["staff"])
    typed = report_form(done="Halvveis skrevet", lang="en")
    del typed["action"]
    response = client.post(report_url(grant), data=typed)
    assert response.status_code == 302 and response.headers["Location"].endswith(report_url(grant))
    assert db.session.scalar(select(Report)).answers["done"] == "Halvveis skrevet"
    page = client.get(report_url(grant)).get_data(as_text=True)
    assert 'lang="en"' in page and "Halvveis skrevet" in page
    response = client.post(report_url(grant), data=dict(typed, lang="", go="/soknader/", done="Mer"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/soknader/")
    assert db.session.scalar(select(Report)).answers["done"] == "Mer"


def test_leaving_the_report_page_as_it_came_makes_no_draft(client, login_as, people, grant):  # noqa: F811
    login_as(people["staff"])
    blank = {name: "" for name in report_form()}
    del blank["action"]
    response = client.post(report_url(grant), data=dict(blank, lang="nn"))
    assert response.status_code == 302 and response.headers["Location"].endswith(report_url(grant))
    assert db.session.scalar(select(Report)) is None  # no draft made, and no "saved" notice
    assert db.session.get(User, people["staff"].id).language == "nn"
    assert "lagra" not in client.get(report_url(grant)).get_data(as_text=True).lower()
    # The same once a draft exists: left as saved, it keeps its version.
    client.post(report_url(grant), data=dict(blank, done="Skrive meir", lang=""))
    version = db.session.scalar(select(Report)).version
    client.post(report_url(grant), data=dict(blank, done="Skrive meir", go="/soknader/"))
    assert db.session.scalar(select(Report)).version == version


# --- the idle warning -------------------------------------------------------------------------------------------

def session_expiry(response):
    cookie = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        cookie.load(header)
    morsel = cookie.get(SESSION_COOKIE)
    assert morsel is not None, "the answer sets no session cookie"
    return datetime.strptime(morsel["expires"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)


def test_pages_of_a_logged_in_user_carry_the_warning_with_the_configured_times(client, login_as, staff, app):
    anonymous = client.get("/").get_data(as_text=True)
    assert 'id="session-warning"' not in anonymous and SCRIPT.search(anonymous)  # the script, no warning
    login_as(staff)
    page = client.get("/soknader/").get_data(as_text=True)
    assert 'role="alertdialog"' in page and SCRIPT.search(page)
    assert 'data-idle-seconds="1800"' in page and 'data-warning-seconds="120"' in page
    assert "Fortsett innlogget" in page and "etter 30 minutter uten aktivitet" in page


def test_continuing_starts_the_idle_time_again(client, login_as, staff):
    login_as(staff)
    before = datetime.now(UTC).replace(microsecond=0)
    response = client.post("/konto/okt")
    assert response.status_code == 204
    expires = session_expiry(response)
    assert (expires - before).total_seconds() >= 30 * 60 - 5  # the full idle time from now
    assert client.get("/soknader/").status_code == 200  # still logged in


def test_continuing_needs_a_logged_in_user(client):
    response = client.post("/konto/okt")
    assert response.status_code == 302 and "/konto/logg-inn" in response.headers["Location"]


@pytest.fixture
def csrf_client(app, database_url, instance_dir):
    guarded = make_app(database_url, instance_dir, WTF_CSRF_ENABLED=True)
    guarded.test_client_class = FreshRequestClient
    return guarded.test_client()


def test_continuing_needs_the_sessions_csrf_token(csrf_client, staff):
    page = csrf_client.get("/konto/logg-inn").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = csrf_client.post("/konto/logg-inn", data={"email": staff.email, "password": "correct horse battery",
                                                          "csrf_token": token})
    assert response.status_code == 302
    page = csrf_client.get("/soknader/").get_data(as_text=True)
    token = re.search(r'id="session-keep".*?name="csrf_token" value="([^"]+)"', page, re.S).group(1)
    assert csrf_client.post("/konto/okt").status_code == 400
    assert csrf_client.post("/konto/okt", data={"csrf_token": "not-the-token"}).status_code == 400
    assert csrf_client.post("/konto/okt", data={"csrf_token": token}).status_code == 204


def test_logging_out_at_the_idle_end_says_why_and_that_the_draft_is_kept(client, login_as, staff):
    login_as(staff)
    response = client.post("/konto/logg-ut", data={"idle": "1", "kept": "1"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Du ble logget ut fordi du ikke hadde gjort noe på en stund." in page
    assert "Det du hadde skrevet, er lagret som utkast." in page
    assert client.get("/soknader/").status_code == 302


# --- the reviewer's scoring page -------------------------------------------------------------------------------

@pytest.fixture
def scoring(client, login_as, people, round_):
    """A reviewer (r1) who has declared no conflict on an application in review, on its scoring page."""
    from grants.review import operations as review_ops
    from tests.web.test_review import in_review

    application = in_review(round_, people)
    review_ops.assign(application, people["r1"], people["caseworker"])
    db.session.commit()
    login_as(people["r1"])
    assert client.post(f"/saksbehandling/soknader/{application.id}/habilitet",
                       data={"conflict": "no"}).status_code == 302
    return application


def test_leaving_the_scoring_page_by_language_or_link_keeps_the_draft_review(client, people, round_, scoring):
    from grants.review.models import Review
    from tests.web.test_review import score_form

    url = f"/saksbehandling/soknader/{scoring.id}/vurdering"
    page = client.get(url).get_data(as_text=True)
    assert 'id="score-form"' in page and 'form="score-form"' in page  # the language buttons submit the form
    typed = score_form(round_, [4, 5], {"purpose": "Halvveis vurdert"}, action="", lang="en")
    response = client.post(url, data=typed)
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    review = db.session.scalar(select(Review))
    assert review.submitted_at is None and {s.comment for s in review.scores} >= {"Halvveis vurdert"}
    assert db.session.get(User, people["r1"].id).language == "en"
    page = client.get(url).get_data(as_text=True)
    assert 'lang="en"' in page and "Halvveis vurdert" in page and "Your draft is saved." in page
    # A link: kept, then on to where it leads (only paths of this site).
    typed = score_form(round_, [4, 5], {"purpose": "Ferdig vurdert"}, action="", go="/saksbehandling/mine")
    response = client.post(url, data=typed)
    assert response.status_code == 302 and response.headers["Location"].endswith("/saksbehandling/mine")
    assert "Ferdig vurdert" in {s.comment for s in db.session.scalar(select(Review)).scores}
    # What cannot be kept as typed (an amount beyond the application) stays on the page with its error.
    response = client.post(url, data=score_form(round_, [4, 5], action="", go="/saksbehandling/mine",
                                                suggested_amount="abc"))
    assert response.status_code == 422 and 'id="suggested_amount-error"' in response.get_data(as_text=True)


def test_a_submitted_review_has_no_draft_form_to_keep(client, round_, scoring):
    from tests.web.test_review import score_form

    url = f"/saksbehandling/soknader/{scoring.id}/vurdering"
    assert client.post(url, data=score_form(round_, [4, 5])).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'id="score-form"' not in page and 'form="score-form"' not in page


def test_a_saved_section_opens_without_a_csrf_error(csrf_client, staff):
    """The page checks what was saved (to show what needs attention); the saved answers carry no CSRF token,
    and that must not show as an error on a page whose own form has one."""
    def token(page):
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    page = csrf_client.get("/konto/logg-inn").get_data(as_text=True)
    csrf_client.post("/konto/logg-inn", data={"email": staff.email, "password": "correct horse battery",
                                               "csrf_token": token(page)})
    round_ = RoundFactory(year=2025)
    db.session.commit()
    page = csrf_client.get("/soknader/").get_data(as_text=True)
    response = csrf_client.post("/soknader/ny", data={"round_id": round_.id, "csrf_token": token(page)})
    draft = int(re.search(r"/soknader/(\d+)", response.headers["Location"]).group(1))
    url = section_url(draft, "transfer")
    page = csrf_client.get(url).get_data(as_text=True)
    response = csrf_client.post(url, data=dict(VALID_SECTIONS["transfer"], csrf_token=token(page)))
    assert response.status_code == 302
    page = csrf_client.get(url).get_data(as_text=True)
    assert "CSRF" not in page and 'class="ds-error-summary' not in page
    assert token(page)  # the form still carries its own
