"""grants.frame.act, the one request frame: validate -> one operation -> commit once -> flash -> redirect; a
refusal rolls back and is shown on the form (what was typed) or on the error page (the case's state, rights)."""

import pytest
from flask import get_flashed_messages
from flask_babel import force_locale
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField

from grants.core import audit
from grants.core.audit import AuditEntry
from grants.core.forms import required
from grants.errors import BudgetExceeded, InvalidTransition, NotPermitted, ValidationFailed
from grants.extensions import db
from grants.frame import act
from tests.factories import RoundFactory


class NoteForm(FlaskForm):
    class Meta:
        csrf = False

    note = StringField("Note", validators=[required()])


def entries():
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "framed"))


@pytest.fixture
def round_(app):
    round_ = RoundFactory()
    db.session.commit()
    return round_


def _record(round_):
    audit.record(None, round_, "framed")
    db.session.flush()
    return round_.id


def test_a_change_is_committed_once_then_flashed_and_redirected(app, round_):
    with app.test_request_context(method="POST", data={"note": "ok"}):
        form = NoteForm()
        response = act(lambda: _record(round_), form=form, again=lambda f: "page",
                       success=lambda rid: f"saved {rid}", done=lambda rid: f"/round/{rid}")
        assert response.status_code == 302 and response.headers["Location"] == f"/round/{round_.id}"
        assert get_flashed_messages(with_categories=True) == [("success", f"saved {round_.id}")]
    db.session.rollback()  # what was committed stays
    assert entries() == 1


def test_an_invalid_form_never_reaches_the_operation(app, round_):
    called = []
    with app.test_request_context(method="POST", data={"note": ""}):
        form = NoteForm()
        _body, status = act(lambda: called.append(1), form=form, again=lambda f: "page", done="/")
    assert status == 422 and form.note.errors and called == []


def test_a_refusal_about_what_was_typed_is_rolled_back_and_shown_beside_its_field(app, round_):
    def refuse():
        _record(round_)
        raise BudgetExceeded("over_budget", remaining=5_000)

    with app.test_request_context(method="POST", data={"note": "x"}), force_locale("nb"):
        form = NoteForm()
        body, status = act(refuse, form=form, field="note", again=lambda f: f.note.errors, done="/")
        assert status == 422 and "5 000" in body[0].replace("\xa0", " ") and "budsjett" in body[0]
        assert get_flashed_messages() == []
    assert entries() == 0


def test_a_field_named_by_the_error_and_a_summary_error_without_one(app, round_):
    with app.test_request_context(method="POST", data={"note": "x"}), force_locale("en"):
        form = NoteForm()
        act(lambda: (_ for _ in ()).throw(ValidationFailed("reason_required", field="note")), form=form,
            again=lambda f: "", done="/")
        assert form.note.errors == ["Give a reason."]
        other = NoteForm()
        act(lambda: (_ for _ in ()).throw(ValidationFailed("channel", field="channel")), form=other,
            again=lambda f: "", done="/")
        assert other.form_errors == ["Choose e-mail or post."] and other.note.errors == []


@pytest.mark.parametrize("error", [InvalidTransition("not_allowed"), NotPermitted("not_permitted")])
def test_a_refusal_about_the_case_or_the_user_goes_to_the_error_page(app, round_, error):
    def refuse():
        _record(round_)
        raise error

    with app.test_request_context(method="POST", data={"note": "x"}):
        with pytest.raises(type(error)):
            act(refuse, form=NoteForm(), again=lambda f: "page", done="/")
    assert entries() == 0


def test_a_view_may_show_a_refusal_of_its_rights_on_the_form_when_it_says_so(app, round_):
    with app.test_request_context(method="POST", data={"note": "x"}), force_locale("en"):
        form = NoteForm()
        _body, status = act(lambda: (_ for _ in ()).throw(NotPermitted("conflict_declared")), form=form,
                            field="note", on_form=(NotPermitted,), again=lambda f: "", done="/")
        assert status == 422 and "conflict of interest" in form.note.errors[0]
