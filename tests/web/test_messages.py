"""Messages on a case: the kommune and IMDi write to each other, IMDi keeps internal notes the kommune never sees
and asks for information by a date, and every new message is told by e-mail to the other side."""

from datetime import timedelta

from sqlalchemy import select

from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.messages.models import CaseMessage
from grants.notify.models import Notice
from tests.factories import ApplicationFactory, municipal_user
from tests.web.test_review import in_review


def kommune_url(application):
    return f"/soknader/{application.id}/meldinger"


def imdi_url(application):
    return f"/saksbehandling/soknader/{application.id}/meldinger"


def told(kind="case_message"):
    return sorted(n.recipient_email for n in db.session.scalars(select(Notice).where(Notice.kind == kind)))


def test_imdi_asks_the_kommune_answers_and_each_side_is_told(client, login_as, people, round_):
    application = in_review(round_, people, submitted_by_id=people["staff"].id)
    db.session.commit()
    login_as(people["caseworker"])
    answer_by = (oslo_date(now_utc()) + timedelta(days=7)).isoformat()
    sent = client.post(imdi_url(application), data={"body": "Hvem i kommunen leder prosjektet?",
                                                    "answer_by": answer_by})
    assert sent.status_code == 302
    assert told() == [people["staff"].email]
    client.post(imdi_url(application), data={"body": "Ringte kommunen, venter svar.", "internal": "y"})
    assert told() == [people["staff"].email]  # an internal note tells nobody

    login_as(people["staff"])
    page = client.get(kommune_url(application)).get_data(as_text=True)
    assert "Hvem i kommunen leder prosjektet?" in page and "IMDi ber om flere opplysninger" in page
    assert "Ringte kommunen" not in page  # never shown to the kommune
    assert client.post(kommune_url(application), data={"body": "Kari Nordmann leder prosjektet."}).status_code == 302
    assert told() == sorted([people["staff"].email, people["caseworker"].email])  # the caseworker who asked
    assert "IMDi ber om flere opplysninger" not in client.get(kommune_url(application)).get_data(as_text=True)

    login_as(people["caseworker"])
    page = client.get(imdi_url(application)).get_data(as_text=True)
    assert "Kari Nordmann leder prosjektet." in page and "Ringte kommunen" in page and "Internt notat" in page


def test_bad_messages_are_refused_beside_their_field_and_keep_what_was_typed(client, login_as, people, round_):
    application = in_review(round_, people, submitted_by_id=people["staff"].id)
    db.session.commit()
    login_as(people["caseworker"])
    empty = client.post(imdi_url(application), data={"body": "   "})
    assert empty.status_code == 422 and 'id="error-summary"' in empty.get_data(as_text=True)
    yesterday = (oslo_date(now_utc()) - timedelta(days=1)).isoformat()
    past = client.post(imdi_url(application), data={"body": "Svar i går", "answer_by": yesterday})
    assert past.status_code == 422 and "Svar i går" in past.get_data(as_text=True)
    internal_request = client.post(imdi_url(application), data={"body": "Intern", "internal": "y",
                                                                 "answer_by": oslo_date(now_utc()).isoformat()})
    assert internal_request.status_code == 422
    too_long = client.post(imdi_url(application), data={"body": "x" * 5001})
    assert too_long.status_code == 422
    assert db.session.scalar(select(CaseMessage.id)) is None and told() == []


def test_who_reads_and_writes_the_messages(client, login_as, people, round_):
    application = in_review(round_, people, submitted_by_id=people["staff"].id)
    partner, stranger = municipal_user("4601"), municipal_user("5001")
    from grants.applications.models import ApplicationPartner

    db.session.add(ApplicationPartner(application_id=application.id, municipality_id=partner.municipality_id))
    draft = ApplicationFactory(round=round_, municipality_id=people["staff"].municipality_id)
    db.session.commit()
    login_as(partner)
    assert client.get(kommune_url(application)).status_code == 200
    assert client.post(kommune_url(application), data={"body": "Hei"}).status_code == 403
    login_as(stranger)
    assert client.get(kommune_url(application)).status_code == 404
    login_as(people["staff"])
    assert client.get(imdi_url(application)).status_code == 403
    assert client.get(kommune_url(draft)).status_code == 404  # a draft has no messages: IMDi cannot see it
    login_as(people["r1"])
    assert client.get(imdi_url(application)).status_code == 403
    login_as(people["approver"])
    assert client.get(kommune_url(application)).status_code == 302  # sent to IMDi's page of the messages
    assert client.post(imdi_url(application), data={"body": "Fra godkjenner"}).status_code == 302
    assert db.session.scalar(select(CaseMessage.body)) == "Fra godkjenner"


def test_the_pages_lead_to_the_messages(client, login_as, people, round_):
    application = in_review(round_, people, submitted_by_id=people["staff"].id)
    db.session.commit()
    login_as(people["staff"])
    assert kommune_url(application) in client.get(f"/soknader/{application.id}").get_data(as_text=True)
    login_as(people["caseworker"])
    assert imdi_url(application) in client.get(f"/saksbehandling/soknader/{application.id}").get_data(as_text=True)


def test_a_caseworker_who_declared_a_conflict_cannot_write_on_the_case(client, login_as, people, round_):
    from grants.decisions.models import Declaration
    from tests.factories import UserFactory

    application = in_review(round_, people, submitted_by_id=people["staff"].id)
    conflicted = UserFactory(role=people["caseworker"].role)
    db.session.add(Declaration(application_id=application.id, user_id=conflicted.id, conflict=True,
                               reason="Søsteren leder prosjektet"))
    db.session.commit()
    login_as(conflicted)
    page = client.get(imdi_url(application)).get_data(as_text=True)
    assert 'name="body"' not in page  # reads the case, as everywhere; writes nothing
    for data in ({"body": "Notat", "internal": "y"}, {"body": "Svar innen fredag",
                                                      "answer_by": oslo_date(now_utc()).isoformat()}):
        assert client.post(imdi_url(application), data=data).status_code == 403
    assert db.session.scalar(select(CaseMessage.id)) is None
