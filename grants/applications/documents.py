"""The application as an accessible PDF (grants.core.pdf, PDF/UA-1): what was submitted, section by section, in
the language it is asked for, with the round's title in that language and amounts and dates as it writes them."""


from babel.numbers import format_decimal
from flask_babel import gettext as _

from grants.applications import sections
from grants.applications.forms import ATTACHMENT_PURPOSES, SECTION_TITLES
from grants.core.pdf import Block, document_pdf
from grants.core.wording import LOCALES, moment_in
from grants.i18n import current_language, language


def application_blocks(application, lang):
    """The application as blocks (grants.core.pdf.Block) in ``lang``; call inside ``language(lang)``."""
    data = application.snapshot or {}
    answers = data.get("answers") or {k: v for k, v in (application.answers or {}).items() if not k.startswith("_")}
    municipality = application.municipality
    head = [(_("Municipality"), f"{municipality.name} ({municipality.number})"),
            (_("Round"), application.round.localised("title", lang))]
    if application.received_at:
        head.append((_("Received"), moment_in(application.received_at, lang)))
    blocks = [Block("rows", rows=tuple(head))]
    for section, section_title in SECTION_TITLES.items():
        form = sections.saved_section(application, section, answers.get(section) or {})
        blocks += [Block("heading", str(section_title)), Block("rows", rows=tuple(sections.shown_rows(form, lang)))]
    if application.submitted_attachments:
        blocks.append(Block("heading", _("Attachments")))
        blocks.append(Block("rows", rows=tuple(
            (attachment.original_name,
             _("%(kind)s, %(size)s bytes, SHA-256 %(digest)s…", kind=ATTACHMENT_PURPOSES.get(attachment.purpose, ""),
               size=format_decimal(attachment.size, locale=LOCALES[lang]), digest=attachment.sha256[:16]))
            for attachment in application.submitted_attachments)))
    return blocks


def application_pdf(application, lang=None):
    """PDF bytes of the application as submitted (its snapshot), or of the draft as it reads now, in ``lang``
    ("nb", "nn" or "en"; the page's language when None)."""
    lang = lang or current_language()
    with language(lang):
        title = _("Application %(reference)s", reference=application.reference) if application.reference \
            else _("Draft application")
        return document_pdf(
            title, application_blocks(application, lang), lang=lang, author=_("IMDi grants"),
            footer=f"{application.municipality.name} – {application.reference or ''}".strip(" –"),
            keywords=(application.reference or "",), row_headers=(_("Question"), _("Answer")), label_share=45)
