"""Decision letters: language by written standard, the content the law asks for, escaping, the PDF, the outbox."""

import re
from datetime import date
from types import SimpleNamespace

import pytest

from grants.applications.workflow import State
from grants.core.timeutil import now_utc
from grants.decisions import letters
from grants.decisions.models import Decision, DecisionState, Outcome
from grants.extensions import db
from grants.notify.attachments import LOADERS, load_attachments
from tests.factories import ApplicationFactory, RoundFactory, UserFactory, municipality
from tests.pdfcheck import pdf_lang, pdf_text

NBSP = "\u00a0"
REFERENCE = "2025-0042"
REASONS = {
    "rules": "Utlysningen punkt 3: tiltaket skal rette seg mot kommunen som arbeidsgiver.",
    "facts": "Søknaden gjelder et tiltak for frivillige organisasjoner.",
    "considerations": "Tiltaket har liten overføringsverdi for andre kommuner.",
}


def make_decision(outcome=Outcome.granted, lang="nb", appeals=True, number="0301", purpose=None,
                  reasons=None, title="Kartlegging av rasisme i kommunen", **fields):
    round_ = RoundFactory(appeals_allowed=appeals, reporting_deadline=date(2026, 3, 1))
    application = ApplicationFactory(
        round=round_, municipality_id=municipality(number).id, state=State.in_review, reference=REFERENCE,
        received_at=now_utc(), title=title, amount_applied=500_000,
    )
    caseworker = UserFactory(name="Kari Saksbehandler")
    approver = UserFactory(name="Per Godkjenner", role="approver")
    granted = Outcome(outcome) == Outcome.granted
    decision = Decision(
        application_id=application.id, round_id=round_.id, outcome=outcome,
        amount=450_000 if granted else None,
        purpose=(purpose or "Kartlegge omfanget av rasisme og diskriminering i kommunen.") if granted else None,
        reasons=None if granted else (reasons or REASONS), letter_language=lang,
        proposed_by_id=caseworker.id, approved_by_id=approver.id, state=DecisionState.approved,
        approved_at=now_utc(), **fields,
    )
    db.session.add(decision)
    db.session.flush()
    return decision


def words(html):
    return set(re.findall(r"\w+", re.sub(r"<[^>]+>", " ", html).lower()))


# --- language ------------------------------------------------------------------------------------------------

def test_letter_language_follows_the_kommunes_written_standard(app):
    kinn = municipality("4602")
    assert str(kinn.written_standard) == "nynorsk"
    assert letters.letter_language_for(kinn) == "nn"
    assert letters.letter_language_for(kinn, chosen="nb") == "nn"
    bokmal = SimpleNamespace(written_standard="bokmal")
    assert letters.letter_language_for(bokmal) == "nb"
    assert letters.letter_language_for(bokmal, chosen="nn") == "nb"


def test_a_neutral_kommune_gets_what_the_caseworker_chose(app):
    oslo = municipality("0301")
    assert str(oslo.written_standard) == "neutral"
    assert letters.letter_language_for(oslo) == "nb"
    assert letters.letter_language_for(oslo, chosen="nn") == "nn"
    assert letters.letter_language_for(oslo, chosen="nb") == "nb"
    assert letters.letter_language_for(oslo, chosen="xx") == "nb"
    assert letters.letter_language_for(oslo, chosen="en") == "en"


# --- grants ------------------------------------------------------------------------------------------------------

def test_bokmal_grant_letter_has_what_the_grant_letter_must_contain(app):
    decision = make_decision(conditions="Egenandelen skal være minst 20 prosent.",
                             special_conditions="Prosjektet skal ha minst ti deltakere.")
    html = letters.render_letter_html(decision)
    assert 'lang="nb"' in html
    assert "innvilget" in html
    assert f"450{NBSP}000{NBSP}kr" in html
    assert "Kartlegge omfanget av rasisme og diskriminering i kommunen." in html
    assert "Egenandelen skal være minst 20 prosent." in html
    assert "Prosjektet skal ha minst ti deltakere." in html
    assert "betalt tilbake" in html and "stanse videre utbetalinger" in html
    assert "Riksrevisjonen" in html and "bevilgningsreglementet § 10 andre ledd" in html
    assert "1. mars 2026" in html  # the round's reporting deadline
    assert REFERENCE in html and "Oslo kommune" in html
    assert "Per Godkjenner" in html and "Kari Saksbehandler" in html
    assert "Begrunnelse" not in html


@pytest.mark.parametrize(("lang", "label"), [("nb", "Organisasjonsnummer"), ("nn", "Organisasjonsnummer"),
                                           ("en", "Organisation number")])
def test_the_letter_names_the_kommune_by_its_organisation_number_where_the_register_has_one(app, lang, label):
    decision = make_decision(lang=lang)
    html = letters.render_letter_html(decision)
    assert label in html and "958 935 420" in html
    assert "958935420" not in html  # written in groups of three
    # Haram, a kommune again from 2024, is not in the source's table: no row rather than an empty one.
    decision.application.municipality = municipality("1580")
    db.session.flush()
    assert label not in letters.render_letter_html(decision)


def test_the_decisions_own_reporting_deadline_wins_over_the_rounds(app):
    decision = make_decision(reporting_deadline=date(2026, 6, 15))
    html = letters.render_letter_html(decision)
    assert "15. juni 2026" in html and "1. mars 2026" not in html


def test_nynorsk_grant_letter_is_in_nynorsk(app):
    decision = make_decision(lang="nn", number="4602")
    html = letters.render_letter_html(decision)
    assert 'lang="nn"' in html
    assert "innvilga" in html and "tilskot" in html and "Kinn kommune" in html
    assert f"450{NBSP}000{NBSP}kr" in html and "Riksrevisjonen" in html and "1. mars 2026" in html
    bokmal_only = {"ikke", "innvilget", "tilskudd", "tilskuddet", "formål", "uker", "derfor", "mottok",
                   "dere", "hvis", "begrunnelse", "hilsen"}
    assert not words(html) & bokmal_only


def test_english_letter_exists_for_completeness(app):
    html = letters.render_letter_html(make_decision(lang="en"))
    assert 'lang="en"' in html and "has granted" in html and "three weeks" in html


# --- refusals ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang, verb, headings", [
    ("nb", "avslått", ("Begrunnelse", "Reglene vedtaket bygger på", "De faktiske forholdene vedtaket bygger på",
                       "Hovedhensynene som har vært avgjørende")),
    ("nn", "avslått", ("Grunngiving", "Reglane vedtaket byggjer på", "Dei faktiske forholda vedtaket byggjer på",
                       "Hovudomsyna som har vore avgjerande")),
])
def test_rejection_letter_gives_the_reasons_in_three_parts(app, lang, verb, headings):
    html = letters.render_letter_html(make_decision(Outcome.rejected, lang=lang))
    assert verb in html
    for heading in headings:
        assert heading in html
    for text in REASONS.values():
        assert text in html
    assert "450" not in html and "Riksrevisjonen" not in html


def test_dismissal_letter_shows_only_the_parts_given(app):
    decision = make_decision(Outcome.dismissed, lang="nn", reasons={"rules": "Søknadsfristen i utlysinga.",
                                                                     "facts": "Søknaden kom etter fristen.",
                                                                     "considerations": "  "})
    html = letters.render_letter_html(decision)
    assert "avvist" in html and "Søknadsfristen i utlysinga." in html and "Søknaden kom etter fristen." in html
    assert "Hovudomsyna" not in html
    assert "ikkje vurdert på innhaldet" in html


# --- appeals -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang, weeks", [("nb", "tre uker"), ("nn", "tre veker")])
@pytest.mark.parametrize("outcome", [Outcome.granted, Outcome.rejected, Outcome.dismissed])
def test_appeal_paragraph_only_when_the_round_allows_appeals(app, lang, weeks, outcome):
    allowed = letters.render_letter_html(make_decision(outcome, lang=lang, appeals=True))
    assert weeks in allowed and "klage" in allowed.lower()
    assert "§ 29" in allowed and "Arbeids- og inkluderingsdepartementet" in allowed and "§§ 18 og 19" in allowed

    db.session.rollback()
    closed = letters.render_letter_html(make_decision(outcome, lang=lang, appeals=False))
    assert weeks not in closed and "klage" not in closed.lower() and "§ 29" not in closed
    assert ("endelig" if lang == "nb" else "endeleg") in closed


# --- escaping ----------------------------------------------------------------------------------------------------

def test_user_text_is_escaped_and_keeps_its_lines(app):
    payload = "<script>alert('x')</script>"
    granted = make_decision(purpose=f"{payload}\nAndre linje", title="<b>Fet</b> tittel",
                            special_conditions="<img src=x onerror=alert(1)>")
    html = letters.render_letter_html(granted)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b&gt;Fet" in html
    assert "&lt;/script&gt;<br>Andre linje" in html

    db.session.rollback()
    rejected = make_decision(Outcome.rejected, reasons={"rules": payload, "facts": "a\nb", "considerations": ""})
    html = letters.render_letter_html(rejected)
    assert "<script" not in html and "&lt;script&gt;" in html and "a<br>b" in html


# --- one source, two renderings ---------------------------------------------------------------------------------

def test_html_shows_every_part(app):
    decision = make_decision(Outcome.rejected)
    html = letters.render_letter_html(decision)
    from markupsafe import escape

    for block in letters.letter_parts(decision):
        for line in block.lines:
            assert str(escape(line)) in html
        for label, value in block.rows:
            assert str(escape(label)) in html and str(escape(value)) in html


def _pdf_text(pdf):
    return pdf_text(pdf)


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_pdf_is_a_pdf_with_the_reference(app, lang):
    pdf = letters.render_letter_pdf(make_decision(lang=lang))
    assert pdf.startswith(b"%PDF")
    assert pdf_lang(pdf) == lang
    text = _pdf_text(pdf)
    assert REFERENCE in text and "Riksrevisjonen" in text


def test_store_letter_and_the_outbox_attachment(app):
    decision = make_decision(Outcome.rejected, lang="nn")
    letters.store_letter(decision)
    db.session.flush()
    assert "avslått" in decision.letter_html and decision.letter_pdf.startswith(b"%PDF")

    ref = {"type": "decision_letter", "decision_id": decision.id}
    assert LOADERS["decision_letter"] is letters.load_decision_letter
    name, mime, data = load_attachments(SimpleNamespace(attachments=[ref]))[0]
    assert (name, mime, data) == (f"vedtak-{REFERENCE}.pdf", "application/pdf", decision.letter_pdf)

    decision.letter_pdf = None
    db.session.flush()
    name, mime, data = LOADERS["decision_letter"](ref)
    assert data.startswith(b"%PDF") and name == f"vedtak-{REFERENCE}.pdf"

    with pytest.raises(LookupError):
        LOADERS["decision_letter"]({"type": "decision_letter", "decision_id": decision.id + 1000})
