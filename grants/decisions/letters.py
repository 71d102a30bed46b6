"""Decision letters (vedtaksbrev) in the kommune's written standard: one source of text, two renderings.

``letter_parts(decision)`` builds the letter as a list of blocks; the HTML templates (templates/letters/) and the
PDF (grants.core.pdf.letter_pdf: tagged PDF/UA-1 by Typst) both draw exactly those blocks, so the two can't drift
apart. Amounts and dates are written as the letter's language writes them (grants.core.wording, Babel).

The letter texts are in the catalogues under the message context "letter" (English is the msgid, bokmål and
nynorsk the translations), read in the letter's language by ``texts(lang)``. A catalogue that fell back to another
language would give a letter in the wrong written standard (språklova): tests/unit/test_translations.py fails on any
message untranslated in bokmål or nynorsk, and the document tests read each letter for words of the other written
standard. What a letter contains follows Økonomiregelverket 6.3.4 (grant letters) and
forvaltningsloven §§ 24-25 (reasons), 27 (notice) and 29 (appeal).
"""

import logging

from flask import current_app, render_template
from flask_babel import pgettext
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from grants.core.pdf import Block, letter_pdf
from grants.core.timeutil import now_utc
from grants.core.wording import day_in, kroner_in, organisation_number_shown
from grants.decisions.models import Decision, DecisionState, Outcome
from grants.extensions import db
from grants.i18n import language
from grants.notify.attachments import LOADERS

log = logging.getLogger(__name__)

LANGUAGES = ("nb", "nn", "en")


def letter_language_for(municipality, chosen=None):
    """The language of a letter to ``municipality`` (språklova: the written standard the kommune has chosen).

    A nynorsk kommune gets nynorsk and a bokmål kommune bokmål; for a neutral kommune the caseworker chooses
    (``chosen`` "nb" or "nn", bokmål when nothing is chosen). ``chosen == "en"`` asks explicitly for an English
    letter and is honoured for any kommune.
    """
    if chosen == "en":
        return "en"
    standard = str(getattr(municipality, "written_standard", "") or "")
    if standard == "nynorsk":
        return "nn"
    if standard == "bokmal":
        return "nb"
    return chosen if chosen in ("nb", "nn") else "nb"


# --- the texts ---------------------------------------------------------------------------------------------

def _words():
    """The words of a decision letter in the current locale, from the catalogues (msgctxt "letter")."""
    return {
        "sender": pgettext("letter", "The Directorate of Integration and Diversity (IMDi)"),
        "title": {
            Outcome.granted: pgettext("letter", "Decision on a grant (grant letter)"),
            Outcome.rejected: pgettext("letter", "Decision to reject an application for a grant"),
            Outcome.dismissed: pgettext("letter", "Decision to dismiss an application for a grant"),
        },
        "to": pgettext("letter", "To"),
        "organisation_number": pgettext("letter", "Organisation number"),
        "municipality": pgettext("letter", "{name} municipality"),
        "date": pgettext("letter", "Date"),
        "our_reference": pgettext("letter", "Our reference"),
        "application": pgettext("letter", "Application"),
        "scheme": pgettext("letter", "Grant scheme"),
        "round": pgettext("letter", "Call for applications"),
        "partners": pgettext("letter", "Partner municipalities"),
        "amount": pgettext("letter", "Amount granted"),
        "decision_heading": pgettext("letter", "Decision"),
        "decision": {
            Outcome.granted: pgettext("letter", "IMDi has granted {amount} to the project \"{title}\"."),
            Outcome.rejected: pgettext(
                "letter",
                "IMDi has rejected the application for a grant to the project \"{title}\"."),
            Outcome.dismissed: pgettext(
                "letter",
                "IMDi has dismissed the application for a grant to the project \"{title}\". The application has "
                "therefore not been assessed on its merits."),
        },
        "purpose_heading": pgettext("letter", "Purpose"),
        "purpose_intro": pgettext(
            "letter",
            "The grant shall only be used for this purpose, as described in the application and in this letter:"),
        "purpose_default": pgettext("letter", "The project \"{title}\", as described in the application."),
        "payment_heading": pgettext("letter", "Payment"),
        "payment": pgettext(
            "letter",
            "The grant of {amount} is paid to the municipality after the decision has been sent. The payment is "
            "marked with our reference {reference}."),
        "conditions_heading": pgettext("letter", "Conditions"),
        "conditions_general": pgettext(
            "letter",
            "The grant shall be used in accordance with the purpose and the conditions in this letter. Funds not used"
            " when the project has ended shall be repaid to IMDi. The municipality shall tell IMDi at once of "
            "significant changes to the project or to the premises of the grant."),
        "conditions_more": pgettext("letter", "Conditions of this grant:"),
        "special_heading": pgettext("letter", "Special conditions"),
        "breach_heading": pgettext("letter", "Breach of the conditions"),
        "breach": pgettext(
            "letter",
            "If the grant is not used in accordance with the purpose and the conditions in this letter, or if the "
            "municipality has given incorrect or incomplete information, IMDi may stop further payments and claim all"
            " or part of the grant repaid."),
        "reporting_heading": pgettext("letter", "Reporting"),
        "reporting": pgettext(
            "letter",
            "By {deadline} the municipality shall send IMDi a report on what the grant was used for and what the "
            "project achieved, with the project's accounts. The report is sent in the grant portal."),
        "reporting_no_deadline": pgettext(
            "letter",
            "The municipality shall send IMDi a report on what the grant was used for and what the project achieved, "
            "with the project's accounts. IMDi will tell you the deadline for the report. The report is sent in the "
            "grant portal."),
        "reporting_deadline": pgettext("letter", "Report due"),
        "control_heading": pgettext("letter", "Control"),
        "control": pgettext(
            "letter",
            "IMDi and the Office of the Auditor General of Norway (Riksrevisjonen) have the right to check that the "
            "grant is used as intended, cf. section 10 second paragraph of the Appropriation Regulations "
            "(bevilgningsreglementet). On request, the municipality shall present accounts and other documentation of"
            " how the grant was used."),
        "reasons_heading": pgettext("letter", "Reasons"),
        "reasons": {
            "rules": pgettext("letter", "The rules the decision is based on"),
            "facts": pgettext("letter", "The facts the decision is based on"),
            "considerations": pgettext("letter", "The main considerations that were decisive"),
        },
        "appeal_heading": pgettext("letter", "Right to appeal and to see the documents"),
        "appeal": [
            pgettext(
                "letter",
                "You may appeal against the decision. The time limit for an appeal is three weeks from the day you "
                "received this letter, cf. section 29 of the Public Administration Act (forvaltningsloven)."),
            pgettext(
                "letter",
                "The appeal is sent to IMDi. If IMDi does not reverse the decision, we send the appeal to the "
                "Ministry of Labour and Social Inclusion (Arbeids- og inkluderingsdepartementet), which decides it. "
                "The appeal shall state the decision appealed against and the change you want, and should give the "
                "reasons."),
            pgettext(
                "letter",
                "You have the right to see the documents of the case, cf. sections 18 and 19 of the Public "
                "Administration Act."),
        ],
        "final_heading": pgettext("letter", "About the decision"),
        "final": pgettext("letter", "The decision is final within this grant scheme."),
        "closing": pgettext("letter", "Kind regards"),
        "approved_by": pgettext("letter", "Approved by"),
        "caseworker": pgettext("letter", "Caseworker"),
        "electronic": pgettext(
            "letter",
            "This letter is approved electronically and therefore has no handwritten signature."),
        "footer": pgettext("letter", "IMDi, our reference {reference}"),
        "row_headers": (
            pgettext("letter", "Item"),
            pgettext("letter", "Details"),
        ),
        "dismissal_rules": {
            "late": pgettext("letter", "Applications received after the deadline are dismissed."),
            "ineligible": pgettext("letter", "Only municipalities may apply for this grant."),
            "outside_scheme": pgettext(
                "letter",
                "The grant does not cover ordinary running costs or measures outside the purpose of the scheme."),
            "incomplete": pgettext("letter", "Applications that lack information needed to assess them are dismissed."),
        },
    }


def texts(lang):
    """The words of a decision letter in ``lang`` ("nb", "nn" or "en"), as a dict of its parts, from the
    catalogues (msgctxt "letter"; English is the msgid). tests/unit/test_translations.py fails on any of them left
    untranslated in bokmål or nynorsk, so no letter falls back to another written standard (språklova)."""
    with language(lang):
        return _words()


REASON_KEYS = ("rules", "facts", "considerations")


def dismissal_rules(code, lang):
    """The paragraph on the rules of a dismissal for ``code`` ("late", "ineligible", "outside_scheme",
    "incomplete") in ``lang``, or "" for an unknown code: the formal check proposes it, the letter states it."""
    return texts(lang)["dismissal_rules"].get(code or "", "")


def reasons_in(reasons, lang):
    """A decision's ``reasons`` (dict) for its letter in ``lang``: where the paragraph on the rules is the
    standard paragraph of the dismissal's code in any language (the formal check wrote it), it is given in
    ``lang``, so a nynorsk letter never carries the bokmål paragraph. A paragraph the caseworker wrote stays."""
    code = reasons.get("code")
    rules = clean_text(str(reasons.get("rules") or ""))
    standard = {dismissal_rules(code, other) for other in LANGUAGES} - {""}
    if code and rules in standard:
        return {**reasons, "rules": dismissal_rules(code, lang)}
    return reasons


# --- one structure ---------------------------------------------------------------------------------------------

# The words every letter from IMDi shares: the sender, the labels of the head, the signature and the footer.
COMMON_KEYS = ("sender", "to", "organisation_number", "municipality", "date", "our_reference", "application",
               "scheme", "round", "closing", "approved_by", "caseworker", "electronic", "footer", "row_headers")


def common_texts(lang):
    """The shared words of a letter from IMDi in ``lang`` ("nb", "nn" or "en"): {key: text} of COMMON_KEYS."""
    words = texts(lang)
    return {key: words[key] for key in COMMON_KEYS}


def clean_text(text):
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _letter_date(decision):
    return day_in(decision.released_at or decision.approved_at or now_utc(), language_of(decision))


def municipality_line(municipality, t):
    if municipality is None:
        return ""
    name = t["municipality"].format(name=municipality.name)
    return f"{name} ({municipality.sami_name})" if municipality.sami_name else name


def _reporting_deadline(decision):
    deadline = decision.reporting_deadline
    if deadline is None and decision.application is not None and decision.application.round is not None:
        deadline = decision.application.round.reporting_deadline
    return deadline


def language_of(decision):
    return decision.letter_language if decision.letter_language in LANGUAGES else "nb"


def letter_title(decision):
    return texts(language_of(decision))["title"][Outcome(decision.outcome)]


def letter_parts(decision):
    """The letter as blocks, in the decision's letter language. Both renderings draw these and nothing else."""
    lang = language_of(decision)
    t = texts(lang)
    outcome = Outcome(decision.outcome)
    application = decision.application
    round_ = application.round
    reference = application.reference or ""
    title = clean_text(application.title)
    amount = kroner_in(decision.amount, lang)

    head = case_rows(application, t, lang, _letter_date(decision))
    partners = [municipality_line(p.municipality, t) for p in application.partners if p.municipality]
    if partners:
        head.append((t["partners"], ", ".join(partners)))
    if outcome == Outcome.granted:
        head.append((t["amount"], amount))

    parts = [Block("title", t["title"][outcome]),
             Block("sender", t["sender"]),
             Block("rows", rows=tuple((label, value) for label, value in head if value)),
             Block("heading", t["decision_heading"]),
             Block("paragraph", t["decision"][outcome].format(title=title, amount=amount))]

    if outcome == Outcome.granted:
        deadline = _reporting_deadline(decision)
        purpose = clean_text(decision.purpose) or t["purpose_default"].format(title=title)
        parts += [
            Block("heading", t["purpose_heading"]),
            Block("paragraph", t["purpose_intro"]),
            Block("paragraph", purpose),
            Block("heading", t["payment_heading"]),
            Block("paragraph", t["payment"].format(amount=amount, reference=reference)),
            Block("heading", t["conditions_heading"]),
            Block("paragraph", t["conditions_general"]),
        ]
        if clean_text(decision.conditions):
            parts += [Block("paragraph", t["conditions_more"]), Block("paragraph", clean_text(decision.conditions))]
        if clean_text(decision.special_conditions):
            parts += [Block("subheading", t["special_heading"]),
                      Block("paragraph", clean_text(decision.special_conditions))]
        parts += [
            Block("heading", t["breach_heading"]),
            Block("paragraph", t["breach"]),
            Block("heading", t["reporting_heading"]),
        ]
        if deadline is not None:
            parts += [Block("paragraph", t["reporting"].format(deadline=day_in(deadline, lang))),
                      Block("rows", rows=((t["reporting_deadline"], day_in(deadline, lang)),))]
        else:
            parts.append(Block("paragraph", t["reporting_no_deadline"]))
        parts += [Block("heading", t["control_heading"]), Block("paragraph", t["control"])]
    else:
        reasons = reasons_in(decision.reasons or {}, lang)
        given = [(key, clean_text(str(reasons.get(key) or ""))) for key in REASON_KEYS]
        given = [(key, text) for key, text in given if text]
        if given:
            parts.append(Block("heading", t["reasons_heading"]))
            for key, text in given:
                parts += [Block("subheading", t["reasons"][key]), Block("paragraph", text)]

    if round_ is not None and round_.appeals_allowed:
        parts.append(Block("heading", t["appeal_heading"]))
        parts += [Block("paragraph", text) for text in t["appeal"]]
    else:
        parts += [Block("heading", t["final_heading"]), Block("paragraph", t["final"])]

    return parts + signature(t, approved_by=decision.approved_by, proposed_by=decision.proposed_by)


def case_rows(application, t, lang, date):
    """The head of a letter about ``application``: (label, value) of the kommune it goes to, ``date`` (str), our
    reference, the application's title, the scheme and the round, in the words of ``t`` (a letter's texts in
    ``lang``)."""
    rows = [(t["to"], municipality_line(application.municipality, t))]
    number = getattr(application.municipality, "organisation_number", None)
    if number:  # the kommune as the Enhetsregisteret knows it (grants/data/organisation_numbers.csv)
        rows.append((t["organisation_number"], organisation_number_shown(number)))
    rows += [(t["date"], date), (t["our_reference"], application.reference or ""),
             (t["application"], clean_text(application.title))]
    round_ = application.round
    if round_ is not None:
        if round_.scheme is not None:
            rows.append((t["scheme"], round_.scheme.localised("title", lang)))
        rows.append((t["round"], round_.localised("title", lang)))
    return rows


def signature(t, *, approved_by, proposed_by):
    """The end of a letter: the greeting, the sender, who approved it and the caseworker (Users, or None), and the
    note that it is approved electronically."""
    signers = []
    if approved_by is not None:
        signers.append((t["approved_by"], approved_by.name))
    if proposed_by is not None:
        signers.append((t["caseworker"], proposed_by.name))
    return [Block("paragraph", t["closing"]), Block("sender", t["sender"]), Block("closing", rows=tuple(signers)),
            Block("paragraph", t["electronic"])]


# --- two renderings --------------------------------------------------------------------------------------------

def render_letter_html(decision):
    """The letter as an HTML fragment (an <article lang="…">), everything from data escaped by the template."""
    lang = language_of(decision)
    outcome = Outcome(decision.outcome)
    with language(lang):
        return render_template(
            f"letters/{outcome.value}.html",
            lang=lang,
            title=letter_title(decision),
            sender=texts(lang)["sender"],
            parts=letter_parts(decision),
            decision=decision,
        )


def render_letter_pdf(decision):
    """The same letter as PDF bytes."""
    lang = language_of(decision)
    t = texts(lang)
    reference = decision.application.reference or ""
    return letter_pdf(letter_title(decision), letter_parts(decision), lang=lang, sender=t["sender"],
                      footer=t["footer"].format(reference=reference), reference=reference,
                      row_headers=t["row_headers"])


def store_letter(decision):
    """Keep both renderings with the decision (HTML for the kommune's page, the PDF for the e-mail)."""
    decision.letter_html = render_letter_html(decision)
    decision.letter_pdf = render_letter_pdf(decision)
    return decision


# --- letters are made after the release, off the request ----------------------------------------------------------

_TO_MAKE = "letters_to_make"


_WITH_LETTERS = (DecisionState.released, DecisionState.superseded)


def make_letters(decision_ids):
    """Make and store the letters of the released decisions ``decision_ids`` (ints) that have none yet, and let
    their held decision notices go (outbox.release_held). Commits after each decision, so a letter that cannot be
    made (logged, tried again by the beat job) holds back only its own notices, and a SQLite database is locked
    for one letter at a time. Returns how many letters were made. A decision's row is locked while its letter is
    made, so two workers never make it twice."""
    from grants.notify.outbox import release_held

    made = 0
    for decision_id in sorted(set(decision_ids)):
        try:
            decision = db.session.scalar(select(Decision).where(Decision.id == decision_id)
                                         .with_for_update(of=Decision))
            if decision is None or decision.state not in _WITH_LETTERS:
                db.session.rollback()
                continue
            if decision.letter_pdf is None:
                store_letter(decision)
                made += 1
            db.session.flush()
            release_held(f"decision:{decision.id}:")
            db.session.commit()
        except Exception:  # one letter's fault must not hold back the others
            db.session.rollback()
            log.exception("could not make the letter of decision %s; the beat job tries again", decision_id)
    return made


def decisions_without_letters(limit=200):
    """Ids of released decisions whose letters are not made yet (the hand-over to the worker was lost)."""
    return db.session.scalars(select(Decision.id).where(Decision.state.in_(_WITH_LETTERS),
                                                        Decision.letter_pdf.is_(None))
                              .order_by(Decision.id).limit(limit)).all()


def make_after_commit(decision_ids):
    """Have the letters of ``decision_ids`` made once the current transaction commits: by the Celery worker on the
    heavy queue, or at once in this process where LETTERS_MADE_AT_COMMIT is set (the tests). If the broker is
    down, the beat job make_missing_letters finds them."""
    db.session.info.setdefault(_TO_MAKE, []).extend(decision_ids)


@event.listens_for(Session, "after_commit")
def _hand_over_after_commit(session):
    ids = session.info.pop(_TO_MAKE, None)
    if not ids:
        return
    try:
        app = current_app._get_current_object()
    except RuntimeError:
        return
    from grants.decisions import tasks as _registers_the_tasks  # noqa: F401

    task = app.extensions["celery"].tasks["grants.decisions.tasks.make_letters"]
    try:
        if app.config.get("LETTERS_MADE_AT_COMMIT"):
            task.apply(args=(ids,))  # the same task, run here; it has an app context and a session of its own
        else:
            task.apply_async((ids,), retry=False)
    except Exception as exc:  # the broker is away: the beat job makes them within a minute of its return
        log.warning("could not hand %s letters to the broker: %s", len(ids), exc)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session):
    session.info.pop(_TO_MAKE, None)


# --- the outbox attaches the PDF to the decision e-mail --------------------------------------------------------

def attachment_filename(decision):
    reference = decision.application.reference or str(decision.id)
    return f"vedtak-{reference}.pdf"


def load_decision_letter(ref):
    """(filename, mimetype, bytes) of the decision letter named by ``ref["decision_id"]``."""
    decision = db.session.get(Decision, int(ref["decision_id"]))
    if decision is None:
        raise LookupError(f"no decision {ref.get('decision_id')!r}")
    pdf = decision.letter_pdf or render_letter_pdf(decision)
    return attachment_filename(decision), "application/pdf", bytes(pdf)


LOADERS["decision_letter"] = load_decision_letter
