"""Documents on a case's messages: either side attaches up to three to a message (IMDi to its internal notes too),
checked as an application's attachments are; a refused file writes nothing and keeps what was typed; only those who
may read the message may download its documents, and the kommune never those of an internal note."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select
from werkzeug.http import parse_options_header

from grants.applications import attachments
from grants.applications.models import ApplicationPartner
from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.messages.models import CaseMessage, MessageAttachment
from grants.notify.messages import build_message
from grants.notify.models import Notice
from grants.review import operations as review_ops
from tests.applying import docx_bytes, odt_bytes, pdf_bytes
from tests.factories import UserFactory, municipal_user
from tests.web.test_messages import imdi_url, kommune_url, told
from tests.web.test_review import in_review


def posted(body, *files, **extra):
    """The form of a message with ``files`` ((bytes, name), ...) as multipart parts."""
    data = {"body": body, **extra}
    if files:
        data["files"] = [(io.BytesIO(content), name) for content, name in files]
    return {"data": data, "content_type": "multipart/form-data"}


def download_url(application, item):
    return f"/soknader/{application.id}/meldinger/vedlegg/{item.id}"


def stored_files():
    folder = Path(current_app.config["UPLOAD_DIR"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def attachments_of(body):
    message = db.session.scalar(select(CaseMessage).where(CaseMessage.body == body))
    return list(message.attachments)


@pytest.fixture
def case(app, people, round_):
    application = in_review(round_, people, submitted_by_id=people["staff"].id)
    db.session.commit()
    return application


def test_the_kommune_sends_documents_with_a_message_and_imdi_downloads_them(client, login_as, people, case):
    login_as(people["staff"])
    budget = docx_bytes()  # a zip: made once, its bytes carry the time
    sent = client.post(kommune_url(case), **posted("Her er planen og budsjettet.", (pdf_bytes(), "plan.pdf"),
                                                   (budget, "budsjett.docx")))
    assert sent.status_code == 302
    files = attachments_of("Her er planen og budsjettet.")
    assert [(f.original_name, f.content_type) for f in files] == [
        ("plan.pdf", "application/pdf"), ("budsjett.docx", attachments.TYPES["docx"])]
    assert all(Path(current_app.config["UPLOAD_DIR"], f.stored_name).read_bytes() for f in files)
    page = client.get(kommune_url(case)).get_data(as_text=True)
    assert "Meldingen er sendt med 2 dokumenter." in page and download_url(case, files[0]) in page

    # IMDi is told how many documents there are, and gets none of them by e-mail
    notice = db.session.scalar(select(Notice).where(Notice.kind == "case_message"))
    assert notice.context["attachments"] == 2 and not notice.attachments
    mail = build_message(notice)
    assert "2 dokumenter er lagt ved meldingen" in mail.get_body(("plain",)).get_content()
    assert not list(mail.iter_attachments())

    login_as(people["caseworker"])
    assert download_url(case, files[1]) in client.get(imdi_url(case)).get_data(as_text=True)
    response = client.get(download_url(case, files[1]))
    assert response.status_code == 200 and response.data == budget
    assert response.mimetype == attachments.TYPES["docx"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert disposition == "attachment" and (options.get("filename") or options.get("filename*")) == "budsjett.docx"


def test_imdi_attaches_documents_to_a_request_and_to_an_internal_note(client, login_as, people, case):
    login_as(people["caseworker"])
    answer_by = (oslo_date(now_utc()) + timedelta(days=7)).isoformat()
    assert client.post(imdi_url(case), **posted("Send oss vedtaket.", (pdf_bytes(), "mal.pdf"),
                                                answer_by=answer_by)).status_code == 302
    assert client.post(imdi_url(case), **posted("Notat om saken.", (odt_bytes(), "notat.odt"),
                                                internal="y")).status_code == 302
    [template], [note] = attachments_of("Send oss vedtaket."), attachments_of("Notat om saken.")
    assert told() == [people["staff"].email]  # the note tells nobody
    page = client.get(imdi_url(case)).get_data(as_text=True)
    assert download_url(case, template) in page and download_url(case, note) in page

    login_as(people["staff"])
    page = client.get(kommune_url(case)).get_data(as_text=True)
    assert download_url(case, template) in page and "mal.pdf" in page
    assert "notat.odt" not in page and download_url(case, note) not in page
    assert client.get(download_url(case, template)).status_code == 200
    assert client.get(download_url(case, note)).status_code == 404


def test_who_may_download_the_documents_of_a_message_and_of_an_internal_note(client, login_as, people, case):
    partner, stranger = municipal_user("4601"), municipal_user("5001")
    db.session.add(ApplicationPartner(application_id=case.id, municipality_id=partner.municipality_id))
    conflicted_caseworker = UserFactory(role=people["caseworker"].role)
    from grants.decisions.models import Declaration

    db.session.add(Declaration(application_id=case.id, user_id=conflicted_caseworker.id, conflict=True,
                               reason="Søsteren leder prosjektet"))
    review_ops.assign(case, people["r1"], people["caseworker"])
    review_ops.declare(case, people["r1"], conflict=False)
    review_ops.assign(case, people["r2"], people["caseworker"])
    review_ops.declare(case, people["r2"], conflict=True, reason="Nabo")
    db.session.commit()
    login_as(people["caseworker"])
    client.post(imdi_url(case), **posted("Til kommunen.", (pdf_bytes(), "brev.pdf")))
    client.post(imdi_url(case), **posted("Internt.", (pdf_bytes(), "internt.pdf"), internal="y"))
    [shared], [internal] = attachments_of("Til kommunen."), attachments_of("Internt.")

    expected = {  # (the message's document, the internal note's document)
        "lead kommune": (people["staff"], 200, 404),
        "partner kommune": (partner, 200, 404),
        "another kommune": (stranger, 404, 404),
        "caseworker": (people["caseworker"], 200, 200),
        "caseworker with a declared conflict": (conflicted_caseworker, 200, 200),
        "approver": (people["approver"], 200, 200),
        "administrator": (people["admin"], 200, 200),
        "reviewer assigned, free of conflict": (people["r1"], 404, 404),
        "reviewer with a conflict": (people["r2"], 404, 404),
        "reviewer not assigned": (people["r3"], 404, 404),
    }
    found = {}
    for who, (person, *_) in expected.items():
        login_as(person)
        found[who] = (person, client.get(download_url(case, shared)).status_code,
                      client.get(download_url(case, internal)).status_code)
    assert found == expected

    client.post("/konto/logg-ut")
    for item in (shared, internal):
        anonymous = client.get(download_url(case, item))
        assert anonymous.status_code == 302 and "/konto/logg-inn" in anonymous.headers["Location"]
    # a document is reached only through its own case
    other = in_review(case.round, people, number="0301")
    db.session.commit()
    login_as(people["caseworker"])
    assert client.get(f"/soknader/{other.id}/meldinger/vedlegg/{shared.id}").status_code == 404
    assert client.get(f"/soknader/{case.id}/meldinger/vedlegg/{internal.id + 100}").status_code == 404


@pytest.mark.parametrize(("content", "name", "reason"), [
    (b"<html>not a document</html>", "rapport.pdf", "Filen må være et PDF-, DOCX-, ODT- eller XLSX-dokument."),
    (pdf_bytes(), "rapport.docx", "Innholdet i filen stemmer ikke med filnavnet."),
    (b"", "tom.pdf", "Filen er tom."),
])
def test_a_refused_file_writes_nothing_and_keeps_what_was_typed(client, login_as, people, case, content, name,
                                                                reason):
    login_as(people["staff"])
    before = stored_files()
    refused = client.post(kommune_url(case), **posted("Svaret vårt, skrevet med omhu.", (pdf_bytes(), "ok.pdf"),
                                                      (content, name)))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Svaret vårt, skrevet med omhu." in page  # nothing typed is lost
    assert 'id="error-summary"' in page and 'href="#files"' in page and 'id="files-error"' in page
    assert f"Filen {name} ble ikke godtatt, så ingenting ble sendt." in page and reason in page
    assert 'aria-describedby="files-hint files-error"' in page
    # one transaction: no message, no document, no file, no notice
    assert db.session.scalar(select(func.count()).select_from(CaseMessage)) == 0
    assert db.session.scalar(select(func.count()).select_from(MessageAttachment)) == 0
    assert stored_files() == before and told() == []


def test_too_large_too_many_and_archive_bombs_are_refused_in_the_users_language(client, login_as, people, case,
                                                                               monkeypatch):
    people["staff"].language = "en"
    db.session.commit()
    login_as(people["staff"])
    four = [(pdf_bytes(), f"d{i}.pdf") for i in range(4)]
    too_many = client.post(kommune_url(case), **posted("Fire vedlegg", *four))
    assert too_many.status_code == 422
    assert "A message can have at most 3 documents attached." in too_many.get_data(as_text=True)

    current_app.config["UPLOAD_MAX_BYTES"] = 1000
    try:
        large = client.post(kommune_url(case), **posted("Stor fil", (pdf_bytes() + b"0" * 1000, "stor.pdf")))
    finally:
        current_app.config["UPLOAD_MAX_BYTES"] = 10 * 1024 * 1024
    assert large.status_code == 422 and "The file is larger than 10 MB." in large.get_data(as_text=True)

    monkeypatch.setattr(attachments, "MAX_UNPACKED_BYTES", 10)
    bomb = client.post(kommune_url(case), **posted("Bombe", (docx_bytes(), "bombe.docx")))
    text = bomb.get_data(as_text=True)
    assert bomb.status_code == 422 and "The file bombe.docx was not accepted, so nothing was sent." in text
    assert "Bombe" in text
    assert db.session.scalar(select(func.count()).select_from(CaseMessage)) == 0


def test_a_message_without_documents_is_as_before(client, login_as, people, case):
    login_as(people["staff"])
    empty_part = {"body": "Bare tekst", "files": [(io.BytesIO(b""), "")]}  # a file input left empty
    assert client.post(kommune_url(case), data=empty_part, content_type="multipart/form-data").status_code == 302
    assert attachments_of("Bare tekst") == []
    notice = db.session.scalar(select(Notice).where(Notice.kind == "case_message"))
    assert notice.context["attachments"] == 0
    assert "lagt ved" not in build_message(notice).get_body(("plain",)).get_content()


@pytest.mark.parametrize(("language", "one", "two"), [
    ("nb", "1 dokument er lagt ved meldingen", "2 dokumenter er lagt ved meldingen"),
    ("nn", "1 dokument er lagt ved meldinga", "2 dokument er lagde ved meldinga"),
    ("en", "1 document is attached to the message", "2 documents are attached to the message"),
])
def test_the_notice_tells_the_number_of_documents_in_the_readers_language(app, language, one, two):
    from tests.unit.test_notify_messages import FOLLOW_UP, notice

    for count, words in ((1, one), (2, two)):
        mail = build_message(notice(kind="case_message", key=f"case_message:{count}", language=language,
                                    context=dict(FOLLOW_UP, attachments=count)))
        for part in ("plain", "html"):
            assert words in mail.get_body((part,)).get_content()
