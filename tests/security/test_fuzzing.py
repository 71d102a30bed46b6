"""Hypothesis fuzzing of the forms (ASVS 2.2.1, checklist item 36): random text, unicode, huge strings and odd
numbers into the login, the registration, the profile, every application section and the round form. Whatever
is typed, the answer is never a server error."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grants.accounts.models import Role
from grants.extensions import db
from tests.applying import VALID_SECTIONS, section_url
from tests.conftest import examples
from tests.factories import PASSWORD, RoundFactory, municipal_user
from tests.security.support import cheap_hash, log_in, user

FUZZ = settings(deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

ODD_NUMBERS = [
    "0", "-0", "-1", "+5", "1e309", "1e3", "NaN", "nan", "inf", "-inf", "Infinity", "0x10", "0b1", "1_000",
    "9" * 25, "9" * 400, "-" + "9" * 30, "1 000 000 000 000 000 000 000", "2147483648", "9223372036854775808",
    "18446744073709551616", "١٢٣", "１２３", "½", "²", "1,5", "1.5", "1.000.000", " 7 ", "\u00a0150 000", "kr 5",
    "5 kr", "5,-", "--5", "0.0000001", "", " ", "\x00", "٣٠٠٠٠٠",
]
ODD_DATES = ["0000-00-00", "9999-12-31", "2025-02-30", "1-1-1", "2025-13-01", "19.02.2025", "+002025-01-01",
             "2025-01-01T25:61", "2025-01-01T09:00", "9999-12-31T23:59", "0001-01-01T00:00", "\u0660" * 8]
SPECIAL = ["<script>alert(1)</script>", "' OR 1=1 --", "\"; DROP TABLE users; --", "{{7*7}}", "${7*7}",
           "%s%s%s%n", "\r\n\r\nX: y", "\x00", "\ud7ff\ue000\U0010ffff", "\u202e\u2066", "🙂" * 50, "a" * 5000,
           "../../../../etc/passwd", "=cmd|' /C calc'!A0", "null", "[]", "{}", "true"]


def text_values():
    return st.one_of(
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=200),  # any unicode, no lone surrogates
        st.sampled_from(ODD_NUMBERS + ODD_DATES + SPECIAL),
        st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from([20_000, 600_000]).map(lambda n: "x" * n),  # over a field's limit; over the form's
    )


def fuzzed(valid):
    """Each field either keeps its valid value, gets a fuzz value, several values, or is left out."""
    def field(value):
        return st.one_of(st.just(value), text_values(), st.lists(text_values(), min_size=2, max_size=3),
                         st.just(None))

    def build(drawn):
        return {k: v for k, v in drawn.items() if v is not None}

    return st.fixed_dictionaries({k: field(v) for k, v in valid.items()}).map(build)


def assert_no_server_error(response, what):
    assert response.status_code < 500, (what, response.status_code, response.get_data(as_text=True)[:500])








@settings(FUZZ, max_examples=examples(40))
@given(form=fuzzed({"email": "ola@example.no", "password": PASSWORD, "next": "/soknader/"}))
def test_login(client, form):
    assert_no_server_error(client.post("/konto/logg-inn", data=form), form)


@settings(FUZZ, max_examples=examples(40))
@given(form=fuzzed({"name": "Kari Nordmann", "email": "kari@bergen.kommune.no", "municipality": "4601",
                    "language": "nn", "job_title": "Rådgiver", "phone": "+47 22 00 00 00",
                    "password": "en lang og god setning", "confirm": "en lang og god setning"}))
def test_registration(client, form):
    assert_no_server_error(client.post("/konto/registrer", data=form), form)


@pytest.fixture
def staff(client):
    someone = municipal_user("0301", password_hash=cheap_hash())
    db.session.commit()
    log_in(client, someone)
    return someone


@settings(FUZZ, max_examples=examples(30))
@given(profile=fuzzed({"name": "Ola", "job_title": "Leder", "phone": "+47 22 00 00 00", "language": "nb"}),
       password=fuzzed({"current_password": "wrong", "password": "x", "confirm": "y"}))
def test_profile_and_password(client, staff, profile, password):
    assert_no_server_error(client.post("/konto/profil", data=profile), profile)
    assert_no_server_error(client.post("/konto/passord", data=password), password)


@pytest.fixture
def draft(client):
    staff = municipal_user("0301", password_hash=cheap_hash())
    round_ = RoundFactory(year=2025)
    db.session.commit()
    log_in(client, staff)
    response = client.post("/soknader/ny", data={"round_id": round_.id})
    return int(re.search(r"/soknader/(\d+)", response.headers["Location"]).group(1))


SECTION_FORMS = {section: dict(values, version="1") for section, values in VALID_SECTIONS.items()}
SECTION_FORMS["budget"].update({"cost_lines-29-amount": "1", "cost_lines-29-category": "other",
                                "cost_lines-29-description": "x", "add_line": "1"})


@settings(FUZZ, max_examples=examples(60))
@given(section_and_form=st.sampled_from(sorted(SECTION_FORMS)).flatmap(
    lambda s: st.tuples(st.just(s), fuzzed(SECTION_FORMS[s]))))
def test_every_application_section(client, draft, section_and_form):
    section, form = section_and_form
    response = client.post(section_url(draft, section), data=form)
    assert_no_server_error(response, (section, form))
    # what was saved, however odd, must show again, be checked, and go into the PDF
    assert_no_server_error(client.get(section_url(draft, section)), section)


def test_fuzzed_draft_still_renders_everywhere(client, draft):
    """The pages that read every section at once, after one odd value in each."""
    for section, form in SECTION_FORMS.items():
        odd = {k: ("9" * 400 if k.endswith(("amount", "participants", "own_contribution", "other_funding",
                                             "amount_applied")) else "\u202e" + "🙂" * 20 + "\x00")
               for k in form}
        assert_no_server_error(client.post(section_url(draft, section), data=odd), section)
    for url in (f"/soknader/{draft}", f"/soknader/{draft}/kontroll", f"/soknader/{draft}/soknad.pdf", "/soknader/"):
        assert_no_server_error(client.get(url), url)


ROUND_FORM = {
    "slug": "fuzz", "year": "2027", "area_number": "5", "title_nb": "Runde", "title_nn": "Runde",
    "title_en": "Round", "text_nb": "Tekst", "text_nn": "Tekst", "text_en": "Text", "budget": "10 000 000",
    "opens_at": "2027-01-24T09:00", "deadline_date": "2027-02-19", "min_participants": "10",
    "own_contribution_required": "y", "appeals_allowed": "y", "reporting_deadline": "2028-03-01",
    "reminder_days": "14,7,1",
    "criteria-0-code": "purpose", "criteria-0-title_nb": "Formål", "criteria-0-title_nn": "Føremål",
    "criteria-0-title_en": "Purpose", "criteria-0-weight": "3", "criteria-0-scale_min": "1",
    "criteria-0-scale_max": "6", "criteria-19-code": "capacity", "criteria-19-weight": "2",
}


@pytest.fixture
def existing_round(client):
    admin = user(role=Role.admin)
    round_ = RoundFactory()
    db.session.commit()
    log_in(client, admin)
    return round_.id


@settings(FUZZ, max_examples=examples(40))
@given(form=fuzzed(ROUND_FORM), edit=st.booleans())
def test_round_form(client, existing_round, form, edit):
    url = f"/admin/utlysninger/{existing_round}" if edit else "/admin/utlysninger/ny"
    response = client.post(url, data=form)
    assert_no_server_error(response, form)
    if response.status_code == 302:  # a round was made or changed: its public page and the list still show
        assert_no_server_error(client.get(response.headers["Location"]), response.headers["Location"])
        assert_no_server_error(client.get("/"), "/")
