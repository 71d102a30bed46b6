"""Documents sent afterwards (ettersending): while IMDi's request for information waits for the kommune's answer,
the lead kommune's staff may add documents to the submitted application. They are the application's attachments
marked as sent afterwards, with when, by whom and in answer to which request; the application as submitted (its
snapshot) is not changed. Outside an open request, and for anyone else, nothing can be added."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from grants.applications.models import SUPPLEMENT, Application, ApplicationPartner, Attachment
from grants.core.audit import AuditEntry
from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.messages import operations as message_ops
from grants.messages.models import MAX_SUPPLEMENTS, CaseMessage, Supplement
from grants.review import operations as review_ops
from tests.applying import docx_bytes, pdf_bytes
from tests.factories import UserFactory, municipal_user
from tests.web.test_messages import imdi_url, kommune_url
from tests.web.test_review import in_review


def supplement_url(application):
    return f"/soknader/{application.id}/meldinger/ettersending"


def upload(content=None, name="vedtak.pdf"):
    return {"data": {"supplement-file": (io.BytesIO(pdf_bytes() if content is None else content), name)},
            "content_type": "multipart/form-data"}


def supplements():
    return db.session.scalars(select(Supplement)).all()


def ask(application, caseworker):
    """IMDi's request for information on ``application``, answered by a week from today."""
    return message_ops.write(application, caseworker, "Send oss det politiske vedtaket.",
                             answer_by=oslo_date(now_utc()) + timedelta(days=7))


@pytest.fixture
def case(app, people, round_):
    application = in_review(round_, people, submitted_by_id=people["staff"].id)
    db.session.commit()
    return application


def test_the_kommune_adds_a_document_while_imdi_asks_and_everyone_sees_it_marked(client, login_as, people, case):
    snapshot, document = dict(case.snapshot), docx_bytes()  # a zip: made once, its bytes carry the time
    request = ask(case, people["caseworker"])
    db.session.commit()
    login_as(people["staff"])
    page = client.get(kommune_url(case)).get_data(as_text=True)
    assert 'id="supplement-file"' in page and "Legg til i søknaden" in page
    added = client.post(supplement_url(case), **upload(document, "vedtak.docx"))
    assert added.status_code == 302 and added.headers["Location"].endswith("/meldinger#supplements")

    [supplement] = supplements()
    attachment = supplement.attachment
    assert supplement.request_id == request.id and attachment.application_id == case.id
    assert attachment.purpose == SUPPLEMENT and attachment.uploaded_by_id == people["staff"].id
    assert attachment.original_name == "vedtak.docx" and attachment.is_supplement
    application = db.session.get(Application, case.id)
    assert application.snapshot == snapshot and application.submitted_attachments == []  # as submitted
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "add_supplement"))
    assert entry.actor_id == people["staff"].id and entry.object_id == case.id
    assert entry.detail["request_id"] == request.id and entry.detail["name"] == "vedtak.docx"

    day = f"{oslo_date(now_utc()):%d.%m.%Y}"
    download = f"/soknader/{case.id}/vedlegg/{attachment.id}"
    for url in (kommune_url(case), f"/soknader/{case.id}", f"/soknader/{case.id}/vedlegg"):
        page = client.get(url).get_data(as_text=True)
        assert "Ettersendte dokumenter" in page and f"Ettersendt {day}" in page and download in page, url
        assert "som svar på IMDis forespørsel fra" in page and people["staff"].name in page
    assert "0 filer" in client.get(f"/soknader/{case.id}").get_data(as_text=True)  # the application's own files
    assert client.get(download).data == document

    login_as(people["caseworker"])
    assert "Dokument ettersendt" in client.get(f"/saksbehandling/soknader/{case.id}").get_data(as_text=True)
    for url in (f"/saksbehandling/soknader/{case.id}", imdi_url(case)):
        page = client.get(url).get_data(as_text=True)
        assert f"Ettersendt {day}" in page and download in page, url
        assert "som svar på IMDis forespørsel fra" in page and people["staff"].name in page
    assert client.get(download).data == document
    imdi_download = f"/saksbehandling/soknader/{case.id}/vedlegg/{attachment.id}"
    # the reviewer reads the case as it was submitted, and what was added since
    review_ops.assign(case, people["r1"], people["caseworker"])
    review_ops.declare(case, people["r1"], conflict=False)
    db.session.commit()
    login_as(people["r1"])
    page = client.get(f"/saksbehandling/soknader/{case.id}").get_data(as_text=True)
    assert f"Ettersendt {day}" in page and imdi_download in page


def test_the_answer_closes_the_door(client, login_as, people, case):
    login_as(people["staff"])
    never_asked = client.post(supplement_url(case), **upload())
    assert never_asked.status_code == 302
    assert "IMDi ber ikke om flere opplysninger nå" in client.get(kommune_url(case)).get_data(as_text=True)
    assert 'id="supplement-file"' not in client.get(kommune_url(case)).get_data(as_text=True)

    ask(case, people["caseworker"])
    db.session.commit()
    assert client.post(supplement_url(case), **upload()).status_code == 302
    assert client.post(kommune_url(case), data={"body": "Vedtaket er lagt ved søknaden."}).status_code == 302
    after = client.post(supplement_url(case), **upload(name="for-sent.pdf"))
    assert after.status_code == 302
    assert "IMDi ber ikke om flere opplysninger nå" in client.get(kommune_url(case)).get_data(as_text=True)
    assert [s.attachment.original_name for s in supplements()] == ["vedtak.pdf"]


def test_who_may_add_documents_to_the_application(client, login_as, people, case):
    partner, stranger = municipal_user("4601"), municipal_user("5001")
    db.session.add(ApplicationPartner(application_id=case.id, municipality_id=partner.municipality_id))
    colleague = municipal_user("0301")  # another of the lead kommune's staff: the kommune answers, not a person
    review_ops.assign(case, people["r2"], people["caseworker"])
    review_ops.declare(case, people["r2"], conflict=True, reason="Nabo")
    ask(case, people["caseworker"])
    db.session.commit()

    expected = {
        "lead kommune": (people["staff"], 302),
        "colleague in the lead kommune": (colleague, 302),
        "partner kommune": (partner, 403),
        "another kommune": (stranger, 404),
        "caseworker": (people["caseworker"], 403),
        "approver": (people["approver"], 403),
        "administrator": (people["admin"], 403),
        "reviewer with a conflict": (people["r2"], 403),
        "reviewer not assigned": (people["r1"], 403),
    }
    found = {}
    for who, (person, _status) in expected.items():
        login_as(person)
        found[who] = (person, client.post(supplement_url(case), **upload(name=f"{person.id}.pdf")).status_code)
    assert found == expected
    client.post("/konto/logg-ut")
    anonymous = client.post(supplement_url(case), **upload())
    assert anonymous.status_code == 302 and "/konto/logg-inn" in anonymous.headers["Location"]
    assert sorted(s.attachment.uploaded_by_id for s in supplements()) == sorted([people["staff"].id, colleague.id])


def test_a_refused_document_is_shown_beside_its_field_and_nothing_is_added(client, login_as, people, case):
    ask(case, people["caseworker"])
    db.session.commit()
    login_as(people["staff"])
    refused = client.post(supplement_url(case), **upload(pdf_bytes(), "vedtak.xlsx"))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'href="#supplement-file"' in page and 'id="supplement-file-error"' in page
    assert "Filen vedtak.xlsx ble ikke godtatt, så ingenting ble sendt." in page
    nothing = client.post(supplement_url(case), data={}, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "Velg en fil du vil laste opp." in nothing.get_data(as_text=True)
    assert supplements() == [] and db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_at_most_so_many_documents_are_sent_afterwards(app, people, case):
    request = ask(case, people["caseworker"])
    for i in range(MAX_SUPPLEMENTS):
        message_ops.add_supplement(case, people["staff"], f"d{i}.pdf", pdf_bytes())
    with pytest.raises(Exception) as refused:
        message_ops.add_supplement(case, people["staff"], "en-til.pdf", pdf_bytes())
    assert refused.value.message == "too_many_supplements"
    assert {s.request_id for s in supplements()} == {request.id}
    # an internal note is no request: it opens no door
    db.session.rollback()
    note = message_ops.write(case, people["caseworker"], "Internt", internal=True)
    assert note.answer_by is None and message_ops.open_request(case) is None
    assert db.session.scalar(select(func.count()).select_from(CaseMessage)) == 1


def test_an_inactive_colleague_adds_nothing(app, people, case):
    from grants.accounts.models import UserStatus
    from grants.errors import NotPermitted

    ask(case, people["caseworker"])
    gone = UserFactory(role=people["staff"].role, municipality_id=people["staff"].municipality_id,
                       status=UserStatus.disabled)
    with pytest.raises(NotPermitted):
        message_ops.add_supplement(case, gone, "vedtak.pdf", pdf_bytes())
