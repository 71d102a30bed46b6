"""The letter of a repayment claim: in the kommune's written standard (bokmål, nynorsk, or English when the grant's
decision letter was), with the amount, the reason, the due date, IMDi's account with the payment reference and the
legal basis; the HTML page and the PDF draw the same blocks, and the e-mails read in each language."""

import re

import pytest
from sqlalchemy import select

from grants.core.wording import day_in, kroner_in
from grants.decisions.models import Decision
from grants.extensions import db
from grants.followup import letters
from grants.followup import operations as pay_ops
from grants.followup import repayments as ops
from grants.notify.messages import build_message
from grants.notify.models import Notice
from tests.factories import municipal_user
from tests.pdfcheck import pdf_lang
from tests.pdfcheck import pdf_text as raw_pdf_text
from tests.web.test_grants import VALID, grant_of, released
from tests.web.test_repayment_claims import in_days, today

REASON = "Prosjektet ble avsluttet før tiden.\nLønnsmidler på 45 000 kr er ikke brukt."
WORDS = {
    "nb": ["Krav om tilbakebetaling av tilskudd", "Begrunnelse", "Hjemmel", "økonomiregelverket", "6.3.8",
           "tilskuddsbrevet", "Betalingsfrist", "Merk innbetalingen med", "Oslo kommune", "Med hilsen"],
    "nn": ["Krav om tilbakebetaling av tilskot", "Grunngiving", "Heimel", "økonomiregelverket", "6.3.8",
           "tilskotsbrevet", "Betalingsfrist", "Merk innbetalinga med", "Kinn kommune", "Med helsing"],
    "en": ["Claim for repayment of a grant", "Reasons", "Legal basis", "økonomiregelverket", "6.3.8",
           "grant letter", "Due date", "Mark the payment with", "Oslo municipality", "Kind regards"],
}
NOT_IN = {"nb": ["tilskot", "Grunngiving", "Claim"], "nn": ["tilskudd", "Begrunnelse", "Claim"],
          "en": ["tilskudd", "Begrunnelse", "tilskot"]}


def claim_in(people, round_, lang):
    """An approved claim of 45 000 kr on a paid grant: Oslo (neutral) for nb and en, Kinn (nynorsk) for nn."""
    number = "4602" if lang == "nn" else "0301"
    application, decision = released(round_, people, amount=300_000, number=number)
    decision = db.session.get(Decision, decision.id)
    decision.conditions = "Egenandelen skal være minst 20 prosent."
    if lang == "en":
        decision.letter_language = "en"
    staff = people["staff"] if number == "0301" else municipal_user(number, email="kari@kinn.kommune.no")
    grant = grant_of(application)
    pay_ops.accept_grant(grant, staff, account=VALID, confirms_conditions=True)
    payment = pay_ops.propose_payment(grant, people["caseworker"], 100_000)
    pay_ops.approve_payment(payment, people["approver"])
    pay_ops.mark_paid(payment, people["caseworker"], today())
    claim = ops.propose_claim(grant, people["caseworker"], amount=45_000, reason=REASON, due_on=in_days(30))
    ops.approve_claim(claim, people["approver"])
    db.session.commit()
    return claim


def plain(text):
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u202f", " "))


def pdf_text(pdf):
    return plain(raw_pdf_text(pdf))


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_the_letter_says_what_it_must_in_the_kommunes_written_standard(people, round_, lang):
    claim = claim_in(people, round_, lang)
    assert claim.letter_language == lang
    reference = claim.grant.application.reference
    html = letters.render_letter_html(claim)
    assert f'<article class="letter letter--repayment-claim" lang="{lang}">' in html
    pdf = letters.render_letter_pdf(claim)
    assert pdf.startswith(b"%PDF") and pdf_lang(pdf) == lang
    for text in (plain(re.sub(r"<[^>]+>", " ", html)), pdf_text(pdf)):
        for word in WORDS[lang] + [plain(kroner_in(45_000, lang)), day_in(in_days(30), lang), "7694.05.12057",
                                   f"{reference}-T{claim.id}",
                                   "Prosjektet ble avsluttet før tiden.", "Egenandelen skal være minst 20 prosent",
                                   "Per Godkjenner", "Kari Saksbehandler"]:
            assert word in text, (lang, word)
        for word in NOT_IN[lang]:
            assert word not in text, (lang, word)
    # The reason keeps its lines in the HTML (never |safe on user text).
    assert "Prosjektet ble avsluttet før tiden.<br>Lønnsmidler" in html


def test_the_html_and_the_pdf_draw_the_same_blocks(people, round_):
    claim = claim_in(people, round_, "nb")
    text = pdf_text(letters.render_letter_pdf(claim))
    for block in letters.letter_parts(claim):
        pieces = [block.text] if block.text else [value for row in block.rows for value in row]
        for piece in pieces:
            for line in piece.splitlines():
                assert plain(line) in text, line


def test_user_text_in_the_letter_is_escaped(people, round_):
    claim = claim_in(people, round_, "nb")
    claim.reason = '<script>alert("x")</script>'
    html = letters.render_letter_html(claim)
    assert "<script>" not in html and "&lt;script&gt;" in html
    db.session.rollback()


def test_the_language_is_fixed_when_approved_and_a_proposal_previews_the_one_it_will_get(people, round_):
    claim = claim_in(people, round_, "nn")
    proposal = ops.propose_claim(claim.grant, people["caseworker"], amount=1_000, reason="Rest", due_on=today())
    assert proposal.letter_language is None and letters.language_of(proposal) == "nn"
    assert "Krav om tilbakebetaling av tilskot" in letters.render_letter_html(proposal)


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_the_notice_and_its_attachment_are_in_the_letters_language(people, round_, lang):
    claim = claim_in(people, round_, lang)
    notice = db.session.scalar(select(Notice).where(Notice.kind == "repayment_claim"))
    assert notice.language == lang
    message = build_message(notice, attachments=[letters.load_claim_letter({"claim_id": claim.id})])
    text = plain(message.get_body(("plain",)).get_content())
    words = {"nb": "krever at kommunen betaler tilbake", "nn": "krev at kommunen betaler tilbake",
             "en": "claims that the municipality repay"}[lang]
    amount = "NOK 45,000" if lang == "en" else "45 000 kr"  # plain() reads no-break spaces as spaces
    assert words in text and amount in text and "8601" not in text and "7694.05.12057" in text
    assert f"/soknader/{claim.grant.application_id}/tilbakebetaling/{claim.id}" in text
    assert claim.grant.application.reference in str(message["Subject"])
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_filename().endswith(".pdf")


REMINDER_CONTEXT = {"reference": "2025-0007", "title": "Prosjekt", "amount": 50_000, "outstanding": 20_000,
                    "due": "2026-12-24", "claim_id": 3, "application_id": 7, "municipality_name": "Bergen",
                    "account_number": "76940512057", "payment_reference": "2025-0007-T3"}


@pytest.mark.parametrize(("kind", "words"), [
    ("repayment_claim", {"nb": "krever at kommunen betaler tilbake", "nn": "krev at kommunen betaler tilbake",
                         "en": "claims that the municipality repay"}),
    ("repayment_reminder", {"nb": "En påminnelse", "nn": "Ei påminning", "en": "A reminder"}),
    # Amounts as the reader's language writes them (Babel): "20 000 kr" in Norwegian, "NOK 20,000" in English.
    ("repayment_overdue", {"nb": "20 000 kr gjenstår", "nn": "20 000 kr står att", "en": "NOK 20,000 is still owed"}),
])
@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_the_claim_notices_read_in_each_language_within_the_common_layout(app, kind, words, language):
    notice = Notice(id=1, key=f"{kind}:x", kind=kind, recipient_email="kari@bergen.kommune.no",
                    recipient_name="Kari Nordmann", language=language, context=dict(REMINDER_CONTEXT))
    message = build_message(notice)
    text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
    for body in (plain(text), plain(html)):
        assert words[language] in body and "2025-0007-T3" in body and "7694.05.12057" in body
        assert "Kari Nordmann" in body
    assert f'lang="{language}"' in html and "<hr>" in html and "tilskudd@imdi.example" in text.splitlines()[-1]
    assert "2025-0007" in str(message["Subject"])
    if kind == "repayment_reminder":
        assert ("24 December 2026" if language == "en" else "24. desember 2026") in str(message["Subject"])
