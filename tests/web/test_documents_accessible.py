"""Every kind of document (grant, rejection and dismissal letters, the repayment claim's letter, the application PDF)
in bokmål, nynorsk and English is an accessible PDF (the PDF/UA checker ``pdfua`` and the structure read with
pikepdf: tests/pdfcheck.py), in its own language throughout, and holds what was typed exactly: markup characters,
an emoji, Arabic and Northern Sami; a character no shipped font has shows as its visible mark (issue #15, item 3)."""

import re
from datetime import date

import pytest
import typst

from grants.applications.documents import application_pdf
from grants.core import pdf as documents
from grants.core.wording import day_in, kroner_in
from grants.decisions import letters
from grants.decisions.models import Outcome
from grants.extensions import db
from grants.followup import letters as claim_letters
from grants.notify.messages import sender_address
from grants.review.operations import dismissal_reasons
from tests.factories import RoundFactory, submitted_application
from tests.pdfcheck import accessibility_problems, pdf_lang, pdf_text, plain, structure
from tests.web.test_letters import make_decision
from tests.web.test_repayment_letters import claim_in

LANGS = ("nb", "nn", "en")
# Typed by a kommune: Typst's markup characters, an emoji, Northern Sami (á č đ ŋ š ŧ ž) and Arabic.
MARKUP = "Dialog #set *fet* $x$ [a] \\ _u_ `k` @ref <l> // ingen kommentar"
EMOJI = "Dialog 🙂"
SAMI = "Ovttas: áčđŋšŧž Guovdageainnu gielda"
ARABIC = "مرحبا بالعالم"
TYPED = f"{MARKUP} {EMOJI}"

# Words only bokmål writes; the nynorsk letters must have none of them (and the English none of either).
BOKMAL_ONLY = ("ikke", "tilskudd", "tilskuddet", "søknaden din er", "Begrunnelse", "skal brukes", "bare ")
NYNORSK_ONLY = ("ikkje", "tilskot", "tilskotet", "Grunngiving", "berre ")
NOT_IN = {"nb": NYNORSK_ONLY, "nn": BOKMAL_ONLY, "en": BOKMAL_ONLY + NYNORSK_ONLY}
# Keys ("decision.granted", "Outcome.rejected"), unfilled placeholders, Python's None, a character marked as lost.
RAW = re.compile(r"\b(?:decision|outcome|reasons|letter)\.\w|\{|\}|\bNone\b|\[U\+", re.I)


def has_word(text, word):
    return re.search(rf"(?<!\w){re.escape(word.strip())}(?!\w)", text, re.I) is not None


def assert_whole(pdf, lang, typed=()):
    """An accessible PDF in ``lang`` with every text in ``typed`` read back as typed and nothing of another
    language or any raw key in it. Returns its text (whitespace made plain)."""
    assert accessibility_problems(pdf) == []
    assert pdf_lang(pdf) == lang
    text = plain(pdf_text(pdf))
    for value in typed:
        assert plain(value) in text, value
    for word in NOT_IN[lang]:
        assert not has_word(text, word), (lang, word)
    assert not RAW.search(text), (lang, RAW.search(text))
    return text


def decision_letter(outcome, lang):
    number = "4602" if lang == "nn" else "0301"
    if outcome == Outcome.dismissed:
        reasons = {**dismissal_reasons("late", f"Kom inn to dager etter fristen. {SAMI}", "nb"),
                   "considerations": ""}
        decision = make_decision(outcome, lang=lang, number=number, title=TYPED, reasons=reasons)
    elif outcome == Outcome.rejected:
        decision = make_decision(outcome, lang=lang, number=number, title=TYPED,
                                 reasons={"rules": "Utlysninga punkt 3.", "facts": ARABIC, "considerations": SAMI})
    else:
        decision = make_decision(outcome, lang=lang, number=number, title=TYPED, purpose=f"{SAMI}\n{ARABIC}")
    return decision


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("outcome", [Outcome.granted, Outcome.rejected, Outcome.dismissed])
def test_decision_letters_are_accessible_and_whole_in_their_language(app, outcome, lang):
    decision = decision_letter(outcome, lang)
    pdf = letters.render_letter_pdf(decision)
    text = assert_whole(pdf, lang, typed=[TYPED, SAMI, letters.letter_title(decision)])
    assert_arabic_kept(text, outcome != Outcome.dismissed)
    assert structure(pdf)[:2] == ["/Document", "/H1"]
    if outcome == Outcome.granted:
        assert plain(kroner_in(450_000, lang)) in text
    if outcome == Outcome.dismissed:  # the paragraph on the rules in the letter's language, whatever was stored
        assert plain(letters.dismissal_rules("late", lang)) in text
    # Every block the HTML letter draws is in the PDF, word for word.
    for block in letters.letter_parts(decision):
        for line in block.lines if block.text else []:
            if not set(line) & set(ARABIC):  # Arabic: word for word, in assert_arabic_kept
                assert plain(line) in text, line


def assert_arabic_kept(text, expected):
    """Arabic reads back word for word (a PDF reader may put right-to-left words in visual order)."""
    if expected:
        assert all(word in text for word in ARABIC.split()), text


@pytest.mark.parametrize("lang", LANGS)
def test_the_repayment_claims_letter_is_accessible_and_whole(people, round_, lang):
    claim = claim_in(people, round_, lang)
    claim.grant.application.title = TYPED
    claim.reason = f"{SAMI}\n{ARABIC}"
    db.session.flush()
    pdf = claim_letters.render_letter_pdf(claim)
    text = assert_whole(pdf, lang, typed=[TYPED, SAMI, claim_letters.letter_title(claim)])
    assert_arabic_kept(text, True)
    assert plain(kroner_in(45_000, lang)) in text and day_in(claim.due_on, lang) in text


@pytest.mark.parametrize("lang", LANGS)
def test_the_application_pdf_is_accessible_and_in_the_language_asked_for(app, lang):
    round_ = RoundFactory()
    application = submitted_application(round_, title=TYPED, snapshot={"answers": {"project": {
        "title": [TYPED], "summary": [f"{SAMI}\n{ARABIC}"], "description": [MARKUP], "period_start": ["2025-05-01"]},
        "budget": {"amount_applied": ["450000"]}}})
    db.session.flush()
    pdf = application_pdf(application, lang)
    text = assert_whole(pdf, lang, typed=[TYPED, SAMI, MARKUP, round_.localised("title", lang)])
    assert_arabic_kept(text, True)
    assert day_in(application.received_at, lang) in text
    assert day_in(date(2025, 5, 1), lang) in text and plain(kroner_in(450_000, lang)) in text  # as typed: ISO, digits
    if lang == "nn":
        assert "Mangfald og mot rasisme 2025" in text and "Mangfold" not in text


def test_a_round_without_a_nynorsk_title_falls_back_to_bokmal(app):
    round_ = RoundFactory(title_nn="")
    application = submitted_application(round_)
    assert round_.title_nb in plain(pdf_text(application_pdf(application, "nn")))


def test_the_emoji_is_kept_and_a_character_no_font_has_is_marked_not_dropped(app):
    blocks = [documents.Block("paragraph", f"{EMOJI} 中文 \x07 end")]
    text = pdf_text(documents.document_pdf("Prøve", blocks, lang="nb", author="IMDi", row_headers=("Spørsmål", "Svar")))
    assert "🙂" in text  # Noto Emoji has it
    assert "[U+4E2D][U+6587]" in text and "[U+0007]" in text and "end" in text
    assert documents.printable("a\u4e2db") == "a[U+4E2D]b"
    assert documents.printable(SAMI + ARABIC + EMOJI + "\u200d\ufe0f") == SAMI + ARABIC + EMOJI + "\u200d\ufe0f"


def test_typed_text_is_data_never_typst_markup(app):
    hostile = ['#panic("x")', '#set page(fill: red)', '#import "/etc/passwd"', '#read("/etc/passwd")',
               "]#eval(\"1\")[", "\\u{41}", "$ a^2 $", "= Not a heading"]
    blocks = [documents.Block("heading", hostile[0]), documents.Block("rows", rows=((hostile[1], hostile[2]),)),
              documents.Block("paragraph", "\n".join(hostile[3:]))]
    pdf = documents.document_pdf(hostile[4], blocks, lang="en", author=hostile[5], footer=hostile[6],
                                 row_headers=hostile[:2])
    text = plain(pdf_text(pdf))
    for value in hostile:
        assert plain(value) in text, value
    assert structure(pdf).count("/H2") == 1  # "= Not a heading" stayed a paragraph


def test_the_checks_can_fail_on_an_untagged_pdf():
    untagged = typst.compile(b'#set text(lang: "nb")\nHei', pdf_tags=False)
    problems = accessibility_problems(untagged)
    assert any("tagged" in p or "structure" in p for p in problems) and any("PDF/UA-1" in p for p in problems)


@pytest.mark.parametrize(("lang", "name"), [("nb", "IMDi tilskudd"), ("nn", "IMDi tilskot"), ("en", "IMDi grants")])
def test_the_e_mail_sender_is_named_in_the_recipients_language(app, lang, name):
    sender = sender_address(lang)
    assert sender.display_name == name and sender.addr_spec == "tilskudd@imdi.example"


def test_what_the_demo_writes_into_nynorsk_decisions_is_nynorsk():
    from grants.demo_history import DEMO_TEXTS

    for text in DEMO_TEXTS["nn"].values():
        assert not any(has_word(text, word) for word in BOKMAL_ONLY + ("brukes", "ble", "beskrevet")), text
    assert DEMO_TEXTS["nn"].keys() == DEMO_TEXTS["nb"].keys()
