"""No answer tells whether an address has an account (issue #17, item 4): registering with a taken address gives
the same page and status as a new registration, and its owner is told by e-mail instead; asking for a new password
answers the same for any address. The pages are compared byte for byte, the CSRF token and any nonce blanked."""

import re

import pytest
from sqlalchemy import func, select

from grants.accounts.models import User, UserStatus
from grants.extensions import db
from grants.i18n import language as force_locale
from grants.notify.messages import build_message, subject_for
from grants.notify.models import Notice
from tests.factories import UserFactory

PASSWORD = "en lang og god setning"


def without_tokens(text):
    text = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*', r"\1", text)
    return re.sub(r'nonce="[^"]*"', 'nonce=""', text)


def registration(email):
    return {"name": "Kari Nordmann", "email": email, "municipality": "4601", "language": "nb",
            "password": PASSWORD, "confirm": PASSWORD}


def answer(app, path, data):
    """The status and page of a POST from a fresh visitor (a new session each time)."""
    response = app.test_client().post(path, data=data)
    return response.status_code, without_tokens(response.get_data(as_text=True))


def test_registering_a_taken_address_answers_exactly_as_a_new_one_and_tells_the_owner_by_e_mail(app):
    owner = UserFactory(email="kari@bergen.kommune.no", language="en", status=UserStatus.active)
    db.session.commit()
    users_before = db.session.scalar(select(func.count(User.id)))
    taken = answer(app, "/konto/registrer", registration("kari@bergen.kommune.no"))
    new = answer(app, "/konto/registrer", registration("ola@bergen.kommune.no"))
    assert taken[0] == new[0] == 200
    assert taken[1] == new[1]  # byte for byte
    assert "Sjekk e-posten din" in new[1]
    assert db.session.scalar(select(func.count(User.id))) == users_before + 1  # only Ola was made
    [told] = db.session.scalars(select(Notice).where(Notice.kind == "account_exists")).all()
    assert (told.recipient_email, told.language, told.user_id) == (owner.email, "en", owner.id)
    # the owner gets no confirmation link and the kommune's administrators no "new user" notice for the attempt
    kinds = [n.kind for n in db.session.scalars(select(Notice).where(Notice.recipient_email == owner.email))]
    assert kinds == ["account_exists"]


def test_a_weak_password_is_refused_the_same_for_a_taken_address(app):
    UserFactory(email="kari@bergen.kommune.no")
    db.session.commit()
    weak = {"password": "passord123", "confirm": "passord123"}
    taken = answer(app, "/konto/registrer", registration("kari@bergen.kommune.no") | weak)
    new = answer(app, "/konto/registrer", registration("ola@bergen.kommune.no") | weak)
    assert taken[0] == new[0] == 422
    assert taken[1].replace("kari@", "@") == new[1].replace("ola@", "@")
    assert db.session.scalar(select(func.count(Notice.id))) == 0


def test_asking_for_a_new_password_answers_the_same_for_any_address(app):
    UserFactory(email="kari@bergen.kommune.no")
    db.session.commit()
    known = answer(app, "/konto/glemt-passord", {"email": "kari@bergen.kommune.no"})
    unknown = answer(app, "/konto/glemt-passord", {"email": "nobody@bergen.kommune.no"})
    assert known[0] == unknown[0] == 200
    assert known[1] == unknown[1]
    assert [n.kind for n in db.session.scalars(select(Notice))] == ["password_reset"]


@pytest.mark.parametrize("language, words", [
    ("nb", ("Du har allerede en brukerkonto", "Glemt passordet?")),
    ("nn", ("Du har alt ein brukarkonto", "Gløymt passordet?")),
    ("en", ("You already have a user account", "Forgot your password?")),
])
def test_the_account_exists_mail_is_wholly_in_the_owners_language(app, language, words):
    notice = Notice(id=3, key="account_exists:3", kind="account_exists", language=language,
                    recipient_email="kari@bergen.kommune.no", recipient_name="Kari Nordmann",
                    context={"reset_minutes": 60}, attachments=None)
    message = build_message(notice)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    with force_locale(language):
        assert str(message["Subject"]) == subject_for("account_exists", {}) == words[0]
    assert words[1] in html and "/konto/glemt-passord" in html
    assert "/konto/logg-inn" in text and "/konto/glemt-passord" in text
    other = {"nb": "allerede", "nn": "alt ein", "en": "already"}
    for lang, word in other.items():
        if lang != language:
            assert word not in text and word not in html


@pytest.mark.parametrize("language, words", [
    ("nb", ("Innlogging på brukerkontoen din er satt på pause", "i 30 minutter")),
    ("nn", ("Innlogging på brukarkontoen din er sett på pause", "i 30 minutt")),
    ("en", ("Logging in to your user account is paused", "for 30 minutes")),
])
def test_the_unlock_mail_carries_the_link_in_the_owners_language(app, language, words):
    notice = Notice(id=4, key="account_locked:4", kind="account_locked", language=language,
                    recipient_email="kari@bergen.kommune.no", recipient_name="Kari Nordmann",
                    context={"token": "abc.def", "lock_minutes": 30, "valid_minutes": 60}, attachments=None)
    message = build_message(notice)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert str(message["Subject"]) == words[0]
    assert words[1] in text
    assert "/konto/las-opp/abc.def" in text and 'href="http' in html and "/konto/las-opp/abc.def" in html
