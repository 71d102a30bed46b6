"""Accessible PDF documents (letters, application snapshots): tagged PDF/UA-1 drawn by Typst (PyPI ``typst``).

``document_pdf(title, blocks, ...)`` turns a document's blocks (the same blocks the HTML letter draws) into a PDF
with the document's language, title and author, real headings (H1 the title, H2 headings, H3 subheadings), tables
with a header row, and page numbers in the footer (an artifact, not content). The layout is one Typst file,
grants/core/document.typ; the blocks go to it as JSON through ``sys.inputs`` and are read there as data, so text
typed by a kommune is never evaluated as Typst markup.

Fonts come from packages installed by pip, never from the system and never from the network: Noto Sans, the Noto
Sans faces of other scripts, Noto Sans Symbols and Noto Emoji (``manimgx-fonts``), and Amiri for Arabic
(``fontpkg-amiri``: its glyphs map back to the letters typed, so the text reads back exactly). Typst shapes
right-to-left and complex scripts itself.

A character that none of these fonts has is never dropped: it is shown as a visible mark, the character's code
point in square brackets ("[U+4E2D]" for 中), which a reader (and a screen reader) sees and can look up. Control
characters other than line breaks and tabs are marked the same way.

One Typst compiler with the font set is made per process and reused for every document (seed-demo renders
dozens of letters); compiling is serialised with a lock. Typst's PDF export keeps a thread pool for the whole
process, which a forked child inherits without its threads: a child forked after its parent made a PDF would hang
in its first one. Such a child hands its documents to a helper process started afresh ("spawn") instead; a process
forked before any PDF was made (Celery's and gunicorn's workers) compiles them itself.
"""

import json
import multiprocessing
import os
import threading
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import typst
from fontTools.ttLib import TTFont

TEMPLATE = Path(__file__).with_name("document.typ")
PDF_STANDARD = "ua-1"

# Typst picks the first of these with the character, then any other loaded font.
FONT_FAMILIES = ("Noto Sans", "Amiri", "Noto Sans Hebrew", "Noto Sans Symbols", "Noto Emoji")

# What each language calls the two columns of a table of label/value rows when the caller gives nothing.

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Block:
    """One piece of a document (a letter's blocks are drawn both as HTML and as PDF).

    kind: "title", "sender", "rows" (label/value pairs in ``rows``), "heading", "subheading", "paragraph"
    (``text``, which may hold several lines: user text keeps its line breaks) or "closing" (the people who sign,
    as (role, name) in ``rows``).
    """

    kind: str
    text: str = ""
    rows: tuple = field(default_factory=tuple)

    @property
    def lines(self):
        return self.text.splitlines() or [""]


def font_folders():
    """The folders of the shipped fonts (Paths inside installed packages)."""
    return [Path(str(resources.files("manimgx_fonts"))), Path(str(resources.files("fontpkg_amiri") / "files"))]


def _font_files():
    return sorted(path for folder in font_folders() for path in folder.iterdir()
                  if path.suffix.lower() in (".ttf", ".otf"))


@cache
def covered_characters():
    """Every code point (int) that at least one shipped font has a glyph for: the union of their cmaps, read once
    per process with fontTools."""
    covered = set()
    for path in _font_files():
        font = TTFont(path, lazy=True)
        covered.update(font.getBestCmap() or {})
        font.close()
    return frozenset(covered)


def visible_mark(char):
    """How a character that no shipped font can draw is shown: its code point, "[U+1F642]"."""
    return f"[U+{ord(char):04X}]"


def _shown_as_is(char, covered):
    if char in "\n\t":
        return True
    category = unicodedata.category(char)
    if category in ("Cc", "Cs", "Cn"):  # control characters, lone surrogates, unassigned code points
        return False
    if category in ("Zs", "Zl", "Zp", "Cf") or ord(char) in _VARIATION_SELECTORS:
        return True  # spaces, and invisible characters that steer shaping (ZWJ, bidi marks, variation selectors)
    return ord(char) in covered


_VARIATION_SELECTORS = frozenset(range(0xFE00, 0xFE10)) | frozenset(range(0xE0100, 0xE01F0))


def printable(text):
    """``text`` (str) as the PDF shows it: every character kept, except one that no shipped font has, or a control
    character, which becomes its visible mark (``visible_mark``). Returns a str."""
    covered = covered_characters()
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return "".join(char if _shown_as_is(char, covered) else visible_mark(char) for char in text)


@cache
def _fonts():
    return typst.Fonts(include_system_fonts=False, include_embedded_fonts=False,
                       font_paths=[str(folder) for folder in font_folders()])


@cache
def _compiler():
    return typst.Compiler(font_paths=_fonts(), ignore_system_fonts=True)


@cache
def _template():
    return TEMPLATE.read_bytes()


def _block_data(block):
    rows = [[printable(label), printable(value if value not in (None, "") else "–")]
            for label, value in (block.rows or ())]
    return {"kind": block.kind, "text": printable(block.text or ""), "rows": rows}


def document_pdf(title, blocks, *, lang, author, row_headers, footer="", keywords=(), label_share=None):
    """A document as PDF/UA-1 bytes.

    ``blocks`` are objects with ``kind``, ``text`` and ``rows`` (grants.decisions.letters.Block): "title" (left
    out: ``title`` is the heading of the document), "heading", "subheading", "rows" (label/value pairs, a table
    with ``row_headers`` as its header row), "closing" (the signers as (role, name)), and anything else a paragraph
    (``text`` may hold several lines). ``lang`` is "nb", "nn" or "en" (the text's language, /Lang); ``author`` the
    sender; ``footer`` the line at the foot of every page, beside the page number; ``keywords`` strings for the
    document's metadata; ``row_headers`` the two column headers of the row tables, in ``lang`` (from the
    catalogues); ``label_share`` the labels' column as a per cent of the width (as wide as the labels when None: a
    letter's short labels). Every string is data: nothing in it is read as Typst markup."""
    data = {
        "title": printable(title), "author": printable(author), "lang": lang, "footer": printable(footer),
        "keywords": [printable(word) for word in keywords if word],
        "fonts": list(FONT_FAMILIES),
        "row_headers": [printable(header) for header in row_headers],
        "label_share": label_share,
        "blocks": [_block_data(block) for block in blocks if block.kind != "title"],
    }
    return _compile(json.dumps(data, ensure_ascii=False))


_STATE = {"exported_in": None, "helpers": {}}  # the pid whose Typst has made a PDF; a helper process per pid


def _compile_here(doc_json):
    with _LOCK:
        return _compiler().compile(input=_template(), format="pdf", pdf_standards=[PDF_STANDARD],
                                   sys_inputs={"doc": doc_json})


def _compile(doc_json):
    pid = os.getpid()
    if _STATE["exported_in"] not in (None, pid):  # forked after the parent made a PDF: see the module's note
        helper = _STATE["helpers"].get(pid)
        if helper is None:
            helper = _STATE["helpers"][pid] = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return helper.submit(_compile_here, doc_json).result()
    _STATE["exported_in"] = pid
    return _compile_here(doc_json)


def letter_pdf(title, blocks, *, lang, sender, footer, reference, row_headers):
    """A letter as PDF bytes, drawn from the same blocks as its HTML (grants.decisions.letters and
    grants.followup.letters): ``document_pdf`` with ``sender`` as author and the case's ``reference`` as keyword."""
    return document_pdf(title, blocks, lang=lang, author=sender, footer=footer, keywords=(reference,),
                        row_headers=row_headers)
