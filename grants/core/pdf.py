"""PDF documents (submitted applications, decision letters) with fpdf2 and a Unicode font when one is there."""

import unicodedata
from functools import cache
from pathlib import Path

from fpdf import FPDF

_FONT_PLACES = (
    Path(__file__).resolve().parents[2] / "node_modules" / "dejavu-fonts-ttf" / "ttf",
    Path("/usr/share/fonts/truetype/dejavu"),
)


@cache
def unicode_font():
    """(regular, bold) paths of DejaVu Sans if installed (npm or Debian), else None."""
    for folder in _FONT_PLACES:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return str(regular), str(bold)
    return None


def _latin1(text):
    """Text the core fonts can draw: letters outside Latin-1 (Sami á, š, ŋ...) lose their accents."""
    out = []
    for ch in text:
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
            out.append(base or "?")
    return "".join(out)


class Document(FPDF):
    """A4 document with a title, headings, paragraphs and label/value rows."""

    def __init__(self, title, footer_text=""):
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.set_title(title)
        self.set_creator("grants")
        self.set_auto_page_break(auto=True, margin=18)
        fonts = unicode_font()
        if fonts:
            self.add_font("Body", "", fonts[0])
            self.add_font("Body", "B", fonts[1])
            self.family = "Body"
            self.clean = str
        else:
            self.family = "Helvetica"
            self.clean = _latin1
        self.add_page()
        self.heading(title, size=16)

    def footer(self):
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        self.cell(0, 8, self.clean(f"{self.footer_text}  {self.page_no()}/{{nb}}"), align="C")

    def heading(self, text, size=13):
        self.set_font(self.family, "B", size)
        self.multi_cell(0, size * 0.55, self.clean(str(text)), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def paragraph(self, text):
        self.set_font(self.family, "", 10)
        self.multi_cell(0, 5, self.clean(str(text or "")), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def row(self, label, value):
        self.set_font(self.family, "B", 10)
        self.multi_cell(0, 5, self.clean(str(label)), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family, "", 10)
        self.multi_cell(0, 5, self.clean(str(value if value not in (None, "") else "–")),
                        new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def render(self):
        self.alias_nb_pages()
        return bytes(self.output())


def letter_pdf(title, blocks, *, lang, sender, footer, reference):
    """A letter as PDF bytes, drawn from the same blocks as its HTML (grants.decisions.letters and
    grants.followup.letters): ``blocks`` are objects with ``kind`` ("title", "rows", "closing", "heading",
    "subheading" or a paragraph kind), ``text`` and ``rows`` ([(label, value)]). ``lang`` is the document's
    language, ``sender`` its author, ``footer`` the line at the foot of each page, ``reference`` the case's
    reference (subject and keywords)."""
    doc = Document(title, footer_text=footer)
    doc.set_lang(lang)
    doc.set_author(sender)
    doc.set_subject(f"{title} {reference}".strip())
    doc.set_keywords(reference)
    for block in blocks:
        if block.kind == "title":
            continue  # the Document draws its title itself
        if block.kind in ("rows", "closing"):
            for label, value in block.rows:
                doc.row(label, value)
            if block.kind == "rows":
                doc.ln(2)
        elif block.kind == "heading":
            doc.heading(block.text, size=12)
        elif block.kind == "subheading":
            doc.heading(block.text, size=10.5)
        else:
            doc.paragraph(block.text)
    return doc.render()
