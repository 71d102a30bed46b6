"""The pages show states, kinds of notice, roles and audit actions by their titles in the page's language, never by
their keys: the outbox and a notice, a case's history, the list of IMDi's users, the reviewer's list."""

import re

import pytest

from grants.extensions import db
from grants.notify.outbox import queue_notice
from grants.review import operations as ops
from tests.web.test_review import in_review

WORDS = {
    "nb": {"kind": "Brukerkonto godkjent", "state": "Venter", "action": "Tatt inn til vurdering",
           "assigned": "Fagvurderer tildelt", "role": "Saksbehandler"},
    "nn": {"kind": "Brukarkonto godkjend", "state": "Ventar", "action": "Teken inn til vurdering",
           "assigned": "Fagvurderar tildelt", "role": "Sakshandsamar"},
    "en": {"kind": "User account approved", "state": "Waiting", "action": "Accepted for review",
           "assigned": "Reviewer assigned", "role": "Caseworker"},
}


def cells(page):
    """The text of every table cell and summary value on a page."""
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<(?:td|dd)[^>]*>(.*?)</(?:td|dd)>", page,
                                                                      flags=re.S)]


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_the_outbox_and_a_notice_show_kind_and_state_by_their_titles(client, login_as, people, lang):
    notice_id = queue_notice("user_approved", to="ola@oslo.kommune.no", context={"name": "Ola"}, held=True)
    db.session.commit()
    login_as(people["admin"])
    client.post("/sprak", data={"lang": lang})
    for url in ("/admin/utsendinger/", f"/admin/utsendinger/{notice_id}"):
        page = client.get(url).get_data(as_text=True)
        shown = cells(page)
        assert WORDS[lang]["kind"] in shown and WORDS[lang]["state"] in shown, url
        assert "user_approved" not in shown and "pending" not in shown, url


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_a_cases_history_shows_its_actions_by_their_titles(client, login_as, people, round_, lang):
    application = in_review(round_, people)
    ops.assign(application, people["r1"], people["caseworker"])
    db.session.commit()
    login_as(people["caseworker"])
    client.post("/sprak", data={"lang": lang})
    shown = cells(client.get(f"/saksbehandling/soknader/{application.id}").get_data(as_text=True))
    assert WORDS[lang]["action"] in shown
    assert any(cell.startswith(WORDS[lang]["assigned"]) for cell in shown)
    assert not {"accept_for_review", "assign", "submitted", "in_review"} & set(shown)
    assert not any("_" in cell and cell.islower() for cell in shown)


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_imdis_users_are_listed_with_their_roles_by_title(client, login_as, people, lang):
    login_as(people["admin"])
    client.post("/sprak", data={"lang": lang})
    shown = cells(client.get("/konto/brukere").get_data(as_text=True))
    assert WORDS[lang]["role"] in shown
    assert not {"caseworker", "reviewer", "admin", "approver", "active"} & set(shown)
