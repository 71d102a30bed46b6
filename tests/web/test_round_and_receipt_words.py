"""Past, open and coming rounds are worded as such on every page listing rounds, with days written out in the
page's language; the receipt page, the receipt e-mail and the deadline reminders write days and amounts as the
reader's language does (Babel)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from grants.core.timeutil import OSLO, deadline_utc, now_utc, oslo_date
from grants.extensions import db
from grants.notify.messages import build_message
from grants.notify.models import Notice
from tests.factories import RoundFactory, municipal_user, submitted_application

PHASES = {"nb": ("Åpnet", "Åpner", "Stengt"), "nn": ("Opna", "Opnar", "Stengd"), "en": ("Opened", "Opens", "Closed")}
MONTHS = {"nb": "januar", "nn": "januar", "en": "January"}


@pytest.fixture
def three_rounds(app):
    """A round that closed 19 February 2025, one open since 24 January this year, and one opening 24 January next
    year."""
    year = oslo_date(now_utc()).year
    if oslo_date(now_utc()) < date(year, 1, 25):  # keep "open since 24 January" true early in a year
        year -= 1
    rounds = {
        "past": RoundFactory(title_nb="Runde 2025", opens_at=datetime(2025, 1, 24, 9, tzinfo=OSLO).astimezone(UTC),
                             deadline_date=date(2025, 2, 19), deadline_at=deadline_utc(date(2025, 2, 19))),
        "open": RoundFactory(title_nb="Åpen runde", opens_at=datetime(year, 1, 24, 9, tzinfo=OSLO).astimezone(UTC),
                             deadline_date=oslo_date(now_utc()) + timedelta(days=30)),
        "coming": RoundFactory(title_nb="Kommende runde",
                               opens_at=datetime(year + 1, 1, 24, 9, tzinfo=OSLO).astimezone(UTC),
                               deadline_date=date(year + 1, 2, 19)),
    }
    db.session.commit()
    return rounds, year


def words(lang, year):
    opened, opens, closed = PHASES[lang]
    month = MONTHS[lang]
    if lang == "en":
        return (f"{opened} 24 {month} {year}", f"{opens} 24 {month} {year + 1}", f"{closed} 19 February 2025")
    return (f"{opened} 24. {month} {year}", f"{opens} 24. {month} {year + 1}", f"{closed} 19. februar 2025")


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_the_public_list_words_past_open_and_coming_rounds(client, three_rounds, lang):
    _rounds, year = three_rounds
    client.post("/sprak", data={"lang": lang})
    page = client.get("/").get_data(as_text=True)
    assert all(phrase in page for phrase in words(lang, year)), page


@pytest.mark.parametrize(("lang", "deadline"), [("nb", "19. februar 2025"), ("en", "19 February 2025")])
def test_a_rounds_own_page_gives_its_deadline_as_the_whole_day(client, three_rounds, lang, deadline):
    rounds, _year = three_rounds
    client.post("/sprak", data={"lang": lang})
    page = client.get(f"/utlysninger/{rounds['past'].id}").get_data(as_text=True)
    assert deadline in page and "23:59" not in page and "19.02.2025" not in page


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_imdis_lists_of_rounds_word_them_too(client, login_as, people, three_rounds, lang):
    _rounds, year = three_rounds
    for user, url in ((people["admin"], "/admin/utlysninger/"), (people["caseworker"], "/saksbehandling/")):
        login_as(user)
        client.post("/sprak", data={"lang": lang})
        page = client.get(url).get_data(as_text=True)
        assert all(phrase in page for phrase in words(lang, year)), url
        assert "kl. 23:59" not in page and "at 23:59" not in page, url  # a deadline is the whole day


@pytest.mark.parametrize(("lang", "received", "amount"), [
    ("nb", "kl.", "1\u00a0234\u00a0567\u00a0kr"), ("nn", "kl.", "1\u00a0234\u00a0567\u00a0kr"),
    ("en", "at", "NOK\u00a01,234,567")])
def test_the_receipt_page_writes_the_day_and_amount_in_the_pages_language(client, app, lang, received, amount):
    round_ = RoundFactory()
    staff = municipal_user("0301")
    application = submitted_application(round_, amount_applied=1_234_567)
    db.session.commit()
    client.post("/konto/logg-inn", data={"email": staff.email, "password": "correct horse battery"})
    client.post("/sprak", data={"lang": lang})
    page = client.get(f"/soknader/{application.id}/kvittering").get_data(as_text=True)
    local = application.received_at.astimezone(OSLO)
    day = f"{local.day} {local:%B} {local.year}" if lang == "en" else None
    assert amount in page
    assert f" {received} {local:%H:%M}" in page
    if day:
        assert day in page
    else:
        assert f"{local.day}. " in page and f"{local:%d.%m.%Y}" not in page


def mail(kind, lang, context):
    notice = Notice(id=1, key=f"{kind}:1", kind=kind, language=lang, recipient_email="kari@bergen.kommune.no",
                    recipient_name="Kari", context=context)
    message = build_message(notice)
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


@pytest.mark.parametrize(("lang", "expected"), [
    ("nb", "19. februar 2025 kl. 13:00"), ("nn", "19. februar 2025 kl. 13:00"), ("en", "19 February 2025 at 13:00")])
def test_the_receipt_email_writes_the_time_received_in_the_recipients_language(app, lang, expected):
    context = {"reference": "2025-0007", "title": "Prosjekt", "municipality_name": "Bergen", "application_id": 7,
               "round_title_nb": "Runde", "round_title_nn": "Runde", "round_title_en": "Round",
               "received_at": "2025-02-19T12:00:00+00:00"}
    with app.test_request_context():
        text, html = mail("receipt", lang, context)
    assert expected in text and expected in html and "19.02.2025" not in text
    assert "rganisation" not in text and "rganisasjon" not in text  # a receipt from before numbers were kept


@pytest.mark.parametrize(("lang", "expected"), [
    ("nb", "Organisasjonsnummeret til Bergen: 964 338 531"), ("nn", "Organisasjonsnummeret til Bergen: 964 338 531"),
    ("en", "Organisation number of Bergen: 964 338 531")])
def test_the_receipt_names_the_kommune_by_its_organisation_number(client, app, lang, expected):
    context = {"reference": "2025-0007", "title": "Prosjekt", "municipality_name": "Bergen", "application_id": 7,
               "round_title_nb": "Runde", "round_title_nn": "Runde", "round_title_en": "Round",
               "received_at": "2025-02-19T12:00:00+00:00", "organisation_number": "964338531"}
    with app.test_request_context():
        text, html = mail("receipt", lang, context)
    assert expected in text and expected in html

    staff = municipal_user("4601")
    application = submitted_application(RoundFactory(), "4601")
    db.session.commit()
    client.post("/konto/logg-inn", data={"email": staff.email, "password": "correct horse battery"})
    client.post("/sprak", data={"lang": lang})
    page = client.get(f"/soknader/{application.id}/kvittering").get_data(as_text=True)
    assert "964 338 531" in page and ("Organisation number" if lang == "en" else "Organisasjonsnummer") in page


@pytest.mark.parametrize(("lang", "expected"), [
    ("nb", "19. februar 2025"), ("nn", "19. februar 2025"), ("en", "19 February 2025")])
def test_the_deadline_reminder_gives_the_deadline_as_its_whole_day(app, lang, expected):
    context = {"round_title_nb": "Runde", "round_title_nn": "Runde", "round_title_en": "Round", "days": 7,
               "municipality_name": "Bergen", "application_id": 7,
               "deadline_at": deadline_utc(date(2025, 2, 19)).isoformat()}
    with app.test_request_context():
        text, html = mail("deadline_reminder", lang, context)
    assert expected in text and expected in html
    assert "23:59" not in text and "19.02.2025" not in text
