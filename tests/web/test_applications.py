"""The municipality's side, through the web: dashboard, sections, drafts, attachments, submit, withdraw."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from grants.applications.models import Application, ApplicationPartner
from grants.applications.workflow import State
from grants.core.audit import AuditEntry
from grants.core.timeutil import now_utc, oslo_date
from grants.extensions import db
from grants.notify.models import Notice
from tests.applying import (
    VALID_SECTIONS,
    docx_bytes,
    fill_everything,
    odt_bytes,
    pdf_bytes,
    save_section,
    section_url,
    submission_key,
)
from tests.factories import ApplicationFactory, RoundFactory, municipal_user, municipality


@pytest.fixture
def open_round(app):
    round_ = RoundFactory(year=2025)
    db.session.commit()
    return round_


def start(client, round_):
    response = client.post("/soknader/ny", data={"round_id": round_.id})
    assert response.status_code == 302
    return int(re.search(r"/soknader/(\d+)", response.headers["Location"]).group(1))


def test_dashboard_shows_open_rounds_and_the_kommunes_applications(client, login_as, staff, open_round):
    login_as(staff)
    page = client.get("/soknader/").get_data(as_text=True)
    assert open_round.title_nb in page
    application_id = start(client, open_round)
    save_section(client, application_id, "project")
    page = client.get("/soknader/").get_data(as_text=True)
    rows = [row for row in re.findall(r"<tr.*?</tr>", page, re.S) if "Kartlegging av diskriminering" in row]
    assert len(rows) == 1 and "Utkast" in rows[0], rows  # the draft's row, with its state in the user's language


def test_dashboard_runs_the_same_number_of_queries_for_1_and_200_applications(
        client, login_as, staff, open_round, count_queries):
    login_as(staff)
    ApplicationFactory(round=open_round, municipality_id=staff.municipality_id)
    db.session.commit()
    with count_queries() as one:
        assert client.get("/soknader/").status_code == 200
    # 199 more, ten of them joint applications led by other kommuner where this one is a partner.
    leads = ["4601", "5001", "1508", "3907", "4203", "1103", "3301", "1806", "5501", "4204"]
    for i in range(199):
        if i < len(leads):
            application = ApplicationFactory(round=open_round, municipality_id=municipality(leads[i]).id)
            db.session.add(ApplicationPartner(application=application, municipality_id=staff.municipality_id))
        else:
            ApplicationFactory(round=open_round, municipality_id=staff.municipality_id)
    db.session.commit()
    with count_queries() as many:
        page = client.get("/soknader/").get_data(as_text=True)
    assert one.count == many.count, "\n\n".join(one.statements + ["-----"] + many.statements)
    assert page.count('href="/soknader/') >= 25 and "side=8" in page and "1–25" in page
    seen, partner_labels = set(), 0
    for number in range(1, 9):  # every application on exactly one of the eight pages
        page = client.get(f"/soknader/?side={number}").get_data(as_text=True)
        seen.update(re.findall(r'href="/soknader/(\d+)"', page))
        partner_labels += page.count("Samarbeidspartner i søknad fra")
    assert len(seen) == 200
    assert partner_labels == 10 and "Samarbeidspartner i søknad fra Bergen" in client.get(
        "/soknader/?side=8").get_data(as_text=True)
    assert client.get("/soknader/?side=99").status_code == 200  # past the end: the last page
    assert client.get("/soknader/?side=x").status_code == 200


def test_invalid_input_is_saved_and_shown_with_errors_next_to_fields(client, login_as, staff, open_round):
    login_as(staff)
    application_id = start(client, open_round)
    data = dict(VALID_SECTIONS["project"], participants="3", period_end="2020-01-01", title="Mitt prosjekt")
    response = save_section(client, application_id, "project", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#participants"' in page and 'href="#period_end"' in page
    assert 'id="participants-error"' in page
    # nothing typed is lost: reload the section
    page = client.get(section_url(application_id, "project")).get_data(as_text=True)
    assert 'value="3"' in page and "Mitt prosjekt" in page
    assert db.session.get(Application, application_id).title == "Mitt prosjekt"


def test_budget_must_add_up_and_stay_within_the_round(client, login_as, staff, open_round):
    login_as(staff)
    application_id = start(client, open_round)
    data = dict(VALID_SECTIONS["budget"], amount_applied="500 000")
    response = save_section(client, application_id, "budget", data)
    assert response.status_code == 422
    assert 'href="#amount_applied"' in response.get_data(as_text=True)
    data = dict(VALID_SECTIONS["budget"], amount_applied="99 000 000")
    assert save_section(client, application_id, "budget", data).status_code == 422
    data = dict(VALID_SECTIONS["budget"], amount_applied="450 000,50")
    assert save_section(client, application_id, "budget", data).status_code == 422
    assert save_section(client, application_id, "budget").status_code == 302
    application = db.session.get(Application, application_id)
    assert (application.amount_applied, application.own_contribution, application.total_cost) == (
        450_000, 150_000, 600_000)


@pytest.mark.parametrize("field", ["other_funding", "own_contribution", "cost_lines-1-amount"])
def test_an_amount_beyond_any_column_is_refused_beside_its_field_and_kept(client, login_as, staff, open_round,
                                                                          field):
    """2 147 483 648 kr does not fit the database's integer columns: refused as a typing error, never a 500."""
    login_as(staff)
    application_id = start(client, open_round)
    response = save_section(client, application_id, "budget", dict(VALID_SECTIONS["budget"], **{field: "2147483648"}))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'href="#{field}"' in page
    assert "kan ikke være mer enn 50\u00a0000\u00a0000" in page.replace("&nbsp;", "\u00a0")
    assert 'value="2147483648"' in page  # what was typed is kept and shown again
    application = db.session.get(Application, application_id)
    assert application.other_funding != 2147483648 and application.own_contribution != 2147483648


def test_budget_can_grow_by_a_cost_line_without_losing_input(client, login_as, staff, open_round):
    login_as(staff)
    application_id = start(client, open_round)
    data = dict(VALID_SECTIONS["budget"], add_line="1")
    response = save_section(client, application_id, "budget", data)
    page = response.get_data(as_text=True)
    assert 'id="cost_lines-2-amount"' in page and "Prosjektleder 50 %" in page
    # The new, empty line is for writing in: no error summary and no "needs attention" for it.
    assert response.status_code == 200 and 'class="ds-error-summary"' not in page and "Velg en kategori." not in page
    assert db.session.get(Application, application_id).answers["budget"]["cost_lines-0-description"] == [
        "Prosjektleder 50 %"]  # what was typed is kept all the same


def test_the_whole_flow_from_draft_to_receipt(client, login_as, staff, open_round):
    login_as(staff)
    application_id = start(client, open_round)
    check = client.get(f"/soknader/{application_id}/kontroll").get_data(as_text=True)
    assert "not complete" in check or "ikke komplett" in check.lower() or "error-summary" in check
    fill_everything(client, application_id)
    key = submission_key(client, application_id)
    response = client.post(f"/soknader/{application_id}/send", data={"submission_key": key})
    assert response.status_code == 302 and response.headers["Location"].endswith("/kvittering")
    application = db.session.get(Application, application_id)
    assert application.state == State.submitted
    assert application.reference == "2025-0001"
    assert application.snapshot["amount_applied"] == 450_000
    receipt = client.get(f"/soknader/{application_id}/kvittering").get_data(as_text=True)
    assert "2025-0001" in receipt
    assert application.received_at.astimezone().tzinfo is not None
    pdf = client.get(f"/soknader/{application_id}/soknad.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # the receipt notices are in the outbox, to the submitter and to the contact person
    recipients = set(db.session.scalars(select(Notice.recipient_email).where(Notice.kind == "receipt")))
    assert recipients == {"ola@oslo.kommune.no", "kari.kontakt@kommune.example"}
    # read-only now
    assert save_section(client, application_id, "project").status_code in (403, 409)


def test_double_submit_submits_once(client, login_as, staff, open_round):
    login_as(staff)
    application_id = start(client, open_round)
    fill_everything(client, application_id)
    key = submission_key(client, application_id)
    first = client.post(f"/soknader/{application_id}/send", data={"submission_key": key})
    again = client.post(f"/soknader/{application_id}/send", data={"submission_key": key})
    assert first.status_code == again.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Notice).where(Notice.kind == "receipt")) == 2
    submits = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "submit"))
    assert submits == 1
    other = client.post(f"/soknader/{application_id}/send", data={"submission_key": "another"})
    assert other.status_code == 409


def test_incomplete_application_cannot_be_submitted(client, login_as, staff, open_round):
    login_as(staff)
    application_id = start(client, open_round)
    save_section(client, application_id, "project")
    response = client.post(f"/soknader/{application_id}/send", data={"submission_key": "k"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/kontroll")
    assert db.session.get(Application, application_id).state == State.draft


def test_references_count_up_per_round(client, login_as, staff, open_round):
    login_as(staff)
    references = []
    for _ in range(2):
        application_id = start(client, open_round)
        fill_everything(client, application_id)
        client.post(f"/soknader/{application_id}/send", data={"submission_key": submission_key(client, application_id)})
        references.append(db.session.get(Application, application_id).reference)
    assert references == ["2025-0001", "2025-0002"]


def test_after_the_deadline_the_form_is_closed_and_the_draft_readable(client, login_as, staff, open_round):
    login_as(staff)
    application_id = start(client, open_round)
    save_section(client, application_id, "project")
    open_round.deadline_date = oslo_date(now_utc()) - timedelta(days=1)
    open_round.deadline_at = now_utc() - timedelta(hours=1)
    db.session.commit()
    response = client.get(section_url(application_id, "project"))
    assert response.status_code == 409
    assert "deadline" in response.get_data(as_text=True).lower() or "frist" in response.get_data(as_text=True)
    overview = client.get(f"/soknader/{application_id}")
    assert overview.status_code == 200 and "Kartlegging av diskriminering" in overview.get_data(as_text=True)
    assert client.post(f"/soknader/{application_id}/send", data={"submission_key": "k"}).status_code == 409


def test_two_colleagues_saving_the_same_section_the_second_is_told(app, client, login_as, staff, open_round):
    colleague = municipal_user("0301", email="kollega@oslo.kommune.no")
    db.session.commit()
    login_as(staff)
    application_id = start(client, open_round)
    version = db.session.get(Application, application_id).version
    other = app.test_client()
    other.post("/konto/logg-inn", data={"email": colleague.email, "password": "correct horse battery"})
    first = save_section(client, application_id, "project", dict(VALID_SECTIONS["project"], title="Ola sin"),
                         version=version)
    assert first.status_code == 302
    second = save_section(other, application_id, "project", dict(VALID_SECTIONS["project"], title="Kollega sin"),
                          version=version)
    page = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Kollega sin" in page and "Ola sin" in page  # both versions on the page, nothing silently lost
    assert db.session.get(Application, application_id).title == "Ola sin"
    # saving again after seeing the conflict keeps the colleague's text
    new_version = db.session.get(Application, application_id).version
    third = save_section(other, application_id, "project", dict(VALID_SECTIONS["project"], title="Kollega sin"),
                         version=new_version)
    assert third.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application_id).title == "Kollega sin"


def test_two_colleagues_saving_different_sections_both_keep_their_work(app, client, login_as, staff, open_round):
    colleague = municipal_user("0301", email="kollega@oslo.kommune.no")
    db.session.commit()
    login_as(staff)
    application_id = start(client, open_round)
    version = db.session.get(Application, application_id).version
    other = app.test_client()
    other.post("/konto/logg-inn", data={"email": colleague.email, "password": "correct horse battery"})
    assert save_section(client, application_id, "project", version=version).status_code == 302
    assert save_section(other, application_id, "transfer", version=version).status_code == 302
    db.session.expire_all()
    answers = db.session.get(Application, application_id).answers
    assert "project" in answers and "transfer" in answers


def test_withdrawal_with_reason_is_audited(client, login_as, staff, open_round):
    login_as(staff)
    application_id = start(client, open_round)
    fill_everything(client, application_id)
    client.post(f"/soknader/{application_id}/send", data={"submission_key": submission_key(client, application_id)})
    assert client.post(f"/soknader/{application_id}/trekk", data={"reason": ""}).status_code == 422
    assert client.post(f"/soknader/{application_id}/trekk", data={"reason": "Vi rakk det ikke"}).status_code == 302
    application = db.session.get(Application, application_id)
    assert application.state == State.withdrawn and application.withdraw_reason == "Vi rakk det ikke"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "withdraw"))
    assert entry.actor_id == staff.id and entry.reason == "Vi rakk det ikke"
    assert db.session.scalar(select(Notice).where(Notice.kind == "withdrawn")) is not None


def test_attachments_are_checked_by_content(client, login_as, staff, open_round, app):
    login_as(staff)
    application_id = start(client, open_round)
    url = f"/soknader/{application_id}/vedlegg"

    def upload(content, name):
        return client.post(url, data={"purpose": "general", "file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data")

    assert upload(pdf_bytes(), "plan.pdf").status_code == 302
    assert upload(docx_bytes(), "budsjett.docx").status_code == 302
    assert upload(odt_bytes(), "vedtak.odt").status_code == 302
    assert upload(docx_bytes(), "lure.pdf").status_code == 422          # wrong type behind a right name
    assert upload(b"<script>alert(1)</script>", "x.pdf").status_code == 422
    assert upload(b"MZ\x90\x00", "virus.exe").status_code == 422
    assert upload(b"", "tom.pdf").status_code == 422
    big = b"%PDF-" + b"0" * (app.config["UPLOAD_MAX_BYTES"])
    assert upload(big, "stor.pdf").status_code in (413, 422)
    assert upload(pdf_bytes(), "../../etc/passwd.pdf").status_code == 302
    application = db.session.get(Application, application_id)
    names = sorted(a.original_name for a in application.attachments)
    assert names == ["budsjett.docx", "passwd.pdf", "plan.pdf", "vedtak.odt"]

    attachment = application.attachments[0]
    assert "/" not in attachment.stored_name and attachment.stored_name != attachment.original_name
    download = client.get(f"{url}/{attachment.id}")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.data == pdf_bytes()

    # A file is removed again: gone from the application and from the disk.
    plan = next(a for a in application.attachments if a.original_name == "plan.pdf")
    stored = Path(app.config["UPLOAD_DIR"]) / plan.stored_name
    assert stored.exists()
    assert client.post(f"{url}/{plan.id}/slett").status_code == 302
    db.session.expire_all()
    remaining = sorted(a.original_name for a in db.session.get(Application, application_id).attachments)
    assert remaining == ["budsjett.docx", "passwd.pdf", "vedtak.odt"] and not stored.exists()


def test_at_most_ten_attachments(client, login_as, staff, open_round):
    login_as(staff)
    application_id = start(client, open_round)
    url = f"/soknader/{application_id}/vedlegg"
    for i in range(10):
        response = client.post(url, data={"purpose": "general", "file": (io.BytesIO(pdf_bytes()), f"{i}.pdf")},
                               content_type="multipart/form-data")
        assert response.status_code == 302
    response = client.post(url, data={"purpose": "general", "file": (io.BytesIO(pdf_bytes()), "11.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 422


def test_the_check_page_reads_saved_answers_in_the_users_language(client, login_as, staff, open_round):
    login_as(staff)
    application_id = start(client, open_round)
    budget = {k: v for k, v in VALID_SECTIONS["budget"].items() if k != "no_running_costs"}
    budget["other_funding"] = "-5"
    save_section(client, application_id, "budget", budget)
    check = client.get(f"/soknader/{application_id}/kontroll").get_data(as_text=True).replace("\xa0", " ")
    assert "False" not in check and "True" not in check
    assert "<dd>Nei</dd>" in check  # the unconfirmed "no ordinary running costs"
    assert "<dd>150 000 kr</dd>" in check  # a valid amount as an amount
    assert "-5 (Beløpet er for lite.)" in check  # an invalid one as typed, with its reason
    # Every cost line by its category, and the total; dates written out; partners by name.
    assert "<dt>Lønn til prosjektarbeid: Prosjektleder 50 %</dt>" in check and "<dd>400 000 kr</dd>" in check
    assert "<dt>Eksterne tjenester: Kartlegging</dt>" in check and "<dt>Samlet kostnad</dt>" in check
    save_section(client, application_id, "project", VALID_SECTIONS["project"])
    save_section(client, application_id, "applicant", dict(VALID_SECTIONS["applicant"], partners="Bergen, 3201"))
    check = client.get(f"/soknader/{application_id}/kontroll").get_data(as_text=True).replace("\xa0", " ")
    assert "1. mai 2025" in check and "2025-05-01" not in check
    assert "<dd>Bergen, Bærum</dd>" in check


@pytest.mark.parametrize(("lang", "unreadable", "too_big"), [
    ("nb", "Skriv et helt tall, for eksempel 12.", "Skriv et helt tall på høyst 1\u00a0000\u00a0000."),
    ("nn", "Skriv eit heilt tal, til dømes 12.", "Skriv eit heilt tal på høgst 1\u00a0000\u00a0000."),
    ("en", "Enter a whole number, such as 12.", "Enter a whole number of at most 1,000,000."),
])
def test_a_whole_number_takes_spaces_and_says_once_in_the_users_language_what_is_wrong(
        client, login_as, staff, open_round, lang, unreadable, too_big):
    login_as(staff)
    client.post("/sprak", data={"lang": lang})
    application_id = start(client, open_round)
    response = save_section(client, application_id, "project", dict(VALID_SECTIONS["project"], participants="1 200"))
    assert response.status_code == 302
    assert db.session.get(Application, application_id).answers["project"]["participants"] == ["1 200"]
    page = save_section(client, application_id, "project", dict(VALID_SECTIONS["project"], participants="ti"))
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and unreadable in text
    assert "Not a valid integer" not in text and "Number must be" not in text and too_big not in text
    page = save_section(client, application_id, "project", dict(VALID_SECTIONS["project"], participants="2000000"))
    assert too_big in page.get_data(as_text=True)
