"""The application as an accessible PDF (grants.core.pdf, PDF/UA-1): what was submitted, section by section, in
the language it is asked for, with the round's title in that language and amounts and dates as it writes them."""

from datetime import date

from babel.numbers import format_decimal
from flask_babel import gettext as _

from grants.applications.forms import SECTION_FORMS, SECTION_TITLES
from grants.core.money import parse_kroner
from grants.core.pdf import Block, document_pdf
from grants.core.wording import LOCALES, day_in, kroner_in, moment_in
from grants.i18n import current_language, language


def _choice_labels(field_class_choices, values):
    labels = dict((str(k), str(v)) for k, v in field_class_choices)
    return ", ".join(labels.get(v, v) for v in values)


def _written_out(kind, value, lang):
    """A date or an amount as typed, written as ``lang`` writes it ("1. mai 2024", "500 000 kr"); a value that
    does not read as one is shown as typed."""
    try:
        return day_in(date.fromisoformat(value), lang) if kind == "DateField" else kroner_in(parse_kroner(value), lang)
    except ValueError:
        return value


_WRITTEN_OUT = ("DateField", "KronerField")


def _section_rows(application, section, values, lang):
    form = SECTION_FORMS[section](meta={"csrf": False}, formdata=None,
                                  **({"round": application.round} if section in ("project", "budget") else {}))
    rows = []
    for field in form:
        if field.name in ("version", "csrf_token") or field.type == "FieldList":
            continue
        raw = values.get(field.name) or []
        choices = getattr(field, "choices", None)
        shown = _choice_labels(choices, raw) if choices else ", ".join(raw)
        if field.type == "BooleanField":
            shown = _("Yes") if raw and raw[0] in ("y", "on", "true", "1") else _("No")
        elif raw and field.type in _WRITTEN_OUT:
            shown = _written_out(field.type, raw[0], lang)
        rows.append((str(field.label.text), shown))
    if section == "budget":
        rows += [(line.description, kroner_in(line.amount, lang)) for line in application.cost_lines]
        rows.append((_("Total cost"), kroner_in(application.total_cost, lang)))
    return rows


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
        blocks += [Block("heading", str(section_title)),
                   Block("rows", rows=tuple(_section_rows(application, section, answers.get(section) or {}, lang)))]
    if application.submitted_attachments:
        blocks.append(Block("heading", _("Attachments")))
        blocks.append(Block("rows", rows=tuple(
            (attachment.original_name,
             _("%(size)s bytes, SHA-256 %(digest)s…",
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
