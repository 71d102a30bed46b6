"""The letter of a repayment claim (krav om tilbakebetaling) in the kommune's written standard: one source of text,
two renderings, as the decision letters (grants.decisions.letters).

``letter_parts(claim)`` builds the letter as a list of blocks; the HTML template (templates/letters/
repayment_claim.html, on the decision letters' base) and the PDF (grants.core.pdf.letter_pdf) both draw exactly those
blocks. The texts are in the catalogues under the message context "claim letter" (English the msgid), complete in
bokmål and nynorsk by test, as the decision letters' are.

What the letter says: the amount claimed back (whole kroner), the reason, the due date (an Oslo date), IMDi's
account to pay to with the reference to mark the payment with, and the legal basis: the grant letter's conditions
and økonomiregelverket 6.3.8 (Bestemmelser om økonomistyring i staten) on repayment of grants.
"""

from flask import current_app, render_template
from flask_babel import pgettext
from stdnum.no import kontonr

from grants.core.pdf import letter_pdf
from grants.core.timeutil import now_utc
from grants.core.wording import day_in, kroner_in
from grants.decisions.letters import (
    LANGUAGES,
    Block,
    case_rows,
    clean_text,
    common_texts,
    letter_language_for,
    signature,
)
from grants.extensions import db
from grants.followup.models import RepaymentClaim
from grants.i18n import language
from grants.notify.attachments import LOADERS


def _own_words():
    """The claim letter's own words in the current locale, from the catalogues (msgctxt "claim letter")."""
    return {
        "title": pgettext("claim letter", "Claim for repayment of a grant"),
        "granted": pgettext("claim letter", "Amount granted"),
        "claimed": pgettext("claim letter", "Amount claimed back"),
        "due": pgettext("claim letter", "Due date"),
        "account": pgettext("claim letter", "Account number"),
        "payment_reference": pgettext("claim letter", "Mark the payment with"),
        "claim_heading": pgettext("claim letter", "Claim for repayment"),
        "claim": pgettext(
            "claim letter",
            "IMDi claims that the municipality repay {amount} of the grant to the project \"{title}\"."),
        "payment_heading": pgettext("claim letter", "Payment"),
        "payment": pgettext(
            "claim letter",
            "The amount shall be paid by {due} to IMDi's account {account}. Mark the payment with {payment_reference}"
            " so that we can match it to the case. If the amount is not paid by the due date, IMDi will send a "
            "reminder."),
        "reason_heading": pgettext("claim letter", "Reasons"),
        "basis_heading": pgettext("claim letter", "Legal basis"),
        "basis": pgettext(
            "claim letter",
            "The claim is based on the conditions of the grant letter (decision on a grant of {grant_date}, our "
            "reference {reference}) and on the Regulations on Financial Management in Central Government "
            "(økonomiregelverket), section 6.3.8 on the repayment of grants."),
        "basis_letter": pgettext(
            "claim letter",
            "The grant letter says that funds not used when the project has ended shall be repaid to IMDi, and that "
            "IMDi may claim all or part of the grant repaid if it is not used in accordance with the purpose and the "
            "conditions."),
        "conditions_heading": pgettext("claim letter", "Conditions of the grant letter"),
        "questions_heading": pgettext("claim letter", "Questions"),
        "questions": pgettext(
            "claim letter",
            "If you have questions about the claim, write to IMDi in the case in the grant portal. Give our reference"
            " {reference}."),
    }


def texts(lang):
    """The words of a claim letter in ``lang``: those every letter from IMDi shares (the decision letters' sender,
    head labels and signature: grants.decisions.letters.common_texts) and its own, from the catalogues."""
    with language(lang):
        return {**common_texts(lang), **_own_words()}


def repayment_account():
    """IMDi's account that claims are paid to (setting REPAYMENT_ACCOUNT) as its 11 digits. Raises
    stdnum's ValidationError when the setting is not a valid Norwegian account number (a fault of the set-up)."""
    return kontonr.validate(current_app.config["REPAYMENT_ACCOUNT"])


def payment_reference(claim):
    """What the kommune marks its payment with: the application's reference and the claim's number."""
    return f"{claim.grant.application.reference or claim.grant.application_id}-T{claim.id}"


def language_of(claim):
    """The letter's language: fixed on the claim when it was approved; for a proposal (IMDi's preview), the one it
    will get (the kommune's written standard, the grant decision's choice for a neutral kommune)."""
    if claim.letter_language in LANGUAGES:
        return claim.letter_language
    grant = claim.grant
    return letter_language_for(grant.application.municipality, chosen=grant.decision.letter_language)


def letter_title(claim):
    return texts(language_of(claim))["title"]


def letter_parts(claim):
    """The letter of ``claim`` as blocks (grants.decisions.letters.Block), in its language. Both renderings draw
    these and nothing else."""
    lang = language_of(claim)
    t = texts(lang)
    grant = claim.grant
    application, decision = grant.application, grant.decision
    reference = application.reference or ""
    title = clean_text(application.title)
    amount, due = kroner_in(claim.amount, lang), day_in(claim.due_on, lang)
    account = kontonr.format(claim.account_number or repayment_account())
    pay_with = payment_reference(claim)
    granted_on = decision.released_at or decision.approved_at

    head = case_rows(application, t, lang, day_in(claim.approved_at or now_utc(), lang))
    head += [(t["granted"], kroner_in(grant.amount, lang)), (t["claimed"], amount), (t["due"], due),
             (t["account"], account), (t["payment_reference"], pay_with)]

    parts = [Block("title", t["title"]),
             Block("sender", t["sender"]),
             Block("rows", rows=tuple((label, value) for label, value in head if value)),
             Block("heading", t["claim_heading"]),
             Block("paragraph", t["claim"].format(amount=amount, title=title)),
             Block("heading", t["reason_heading"]),
             Block("paragraph", clean_text(claim.reason)),
             Block("heading", t["payment_heading"]),
             Block("paragraph", t["payment"].format(due=due, account=account, payment_reference=pay_with)),
             Block("heading", t["basis_heading"]),
             Block("paragraph", t["basis"].format(grant_date=day_in(granted_on, lang),
                                                  reference=reference)),
             Block("paragraph", t["basis_letter"])]
    conditions = [text for text in (clean_text(decision.conditions), clean_text(decision.special_conditions)) if text]
    if conditions:
        parts.append(Block("subheading", t["conditions_heading"]))
        parts += [Block("paragraph", text) for text in conditions]
    parts += [Block("heading", t["questions_heading"]),
              Block("paragraph", t["questions"].format(reference=reference))]

    return parts + signature(t, approved_by=claim.approved_by, proposed_by=claim.proposed_by)


def render_letter_html(claim):
    """The letter as an HTML fragment (an <article lang="…">); everything from data is escaped by the template."""
    lang = language_of(claim)
    with language(lang):
        return render_template("letters/repayment_claim.html", lang=lang, title=letter_title(claim),
                               parts=letter_parts(claim), claim=claim)


def render_letter_pdf(claim):
    """The same letter as PDF bytes."""
    lang = language_of(claim)
    t = texts(lang)
    reference = claim.grant.application.reference or ""
    return letter_pdf(letter_title(claim), letter_parts(claim), lang=lang, sender=t["sender"],
                      footer=t["footer"].format(reference=reference), reference=reference,
                      row_headers=t["row_headers"])


def attachment_filename(claim):
    return f"tilbakebetaling-{payment_reference(claim)}.pdf"


def load_claim_letter(ref):
    """(filename, mimetype, bytes) of the letter of the claim named by ``ref["claim_id"]``, for the outbox."""
    claim = db.session.get(RepaymentClaim, int(ref["claim_id"]))
    if claim is None or not claim.has_letter:
        raise LookupError(f"no approved repayment claim {ref.get('claim_id')!r}")
    return attachment_filename(claim), "application/pdf", render_letter_pdf(claim)


LOADERS["repayment_claim_letter"] = load_claim_letter
