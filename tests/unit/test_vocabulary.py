"""Every key a person may see (application, decision, grant and notice states, notice kinds, roles, user statuses,
audit actions...) has a title in bokmål, nynorsk and English, and the title is never the key itself."""

import re

import pytest
from babel.messages.pofile import read_po

from grants import ROOT, create_app
from grants.applications.workflow import Action
from grants.core.audit import ACTION_TITLES
from grants.i18n import language
from grants.notify.messages import KIND_TITLES, SUBJECTS
from grants.vocabulary import VOCABULARIES, title, titles

CASES = [(name, key) for name, (keys, _titles) in VOCABULARIES.items() for key in keys]


@pytest.fixture(scope="module")
def app():
    app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.test_request_context():
        yield app


def catalogue(lang):
    with open(ROOT / "grants" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=lang)


@pytest.mark.parametrize("lang", ["nb", "nn"])
def test_every_title_is_translated_in_the_catalogue(lang):
    entries = catalogue(lang)
    missing = []
    for name, (keys, titles_) in VOCABULARIES.items():
        for key in keys:
            entry = entries.get(titles_.get(key, ""))
            if entry is None or not entry.string or entry.fuzzy:
                missing.append(f"{name}: {key}")
    assert missing == []


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
@pytest.mark.parametrize(("vocabulary", "key"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_every_key_has_a_title_that_is_not_the_key(app, vocabulary, key, lang):
    with language(lang):
        shown = title(vocabulary, key)
    assert shown and shown.strip() and shown != str(key) and "_" not in shown


def test_titles_follow_the_pages_language(app):
    words = {}
    for lang in ("nb", "nn", "en"):
        with language(lang):
            words[lang] = (title("application_state", "in_review"), title("notice_kind", "user_approved"),
                           title("role", "reviewer"), titles("notice_state")["failed"])
    assert words["en"] == ("Under consideration", "User account approved", "Reviewer", "Failed")
    assert words["nb"][0] != words["en"][0] and words["nn"][1] != words["nb"][1]


def test_a_key_without_a_title_is_shown_as_it_is_and_none_as_nothing(app):
    assert title("audit_action", "an_action_of_an_older_release") == "an_action_of_an_older_release"
    assert title("role", None) == ""


def test_every_kind_of_notice_has_a_title():
    """A kind is named by its e-mail template (templates/emails/<kind>.html) and its subject."""
    templates = {path.stem for path in (ROOT / "templates" / "emails").glob("*.html") if not path.stem.startswith("_")}
    subjects = {key.split(":")[0] for key in SUBJECTS}
    assert set(KIND_TITLES) == templates == subjects


def test_every_audit_action_the_code_records_has_a_title():
    """The workflow's actions (and "release", as an approved decision is recorded), and every action named where
    the code calls audit.record."""
    recorded = set()
    for path in (ROOT / "grants").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        recorded |= set(re.findall(r"audit\.record\([^)]*?\"([a-z_]+)\"", text, flags=re.S))
        recorded |= set(re.findall(r"record_as=\"([a-z_]+)\"", text))
    recorded |= {str(action) for action in Action}
    assert {"submit_review", "release", "formal_check_failed"} <= recorded  # the search finds what it should
    assert sorted(recorded - set(ACTION_TITLES)) == []
