"""The application as a PDF: what was submitted, section by section."""

from flask_babel import gettext as _

from grants.applications.forms import SECTION_FORMS, SECTION_TITLES
from grants.core.money import format_kroner
from grants.core.pdf import Document
from grants.templating import oslo_datetime


def _choice_labels(field_class_choices, values):
    labels = dict((str(k), str(v)) for k, v in field_class_choices)
    return ", ".join(labels.get(v, v) for v in values)


def application_pdf(application):
    """PDF bytes of the application as submitted (its snapshot), or of the draft as it reads now."""
    data = application.snapshot or {}
    answers = data.get("answers") or {k: v for k, v in (application.answers or {}).items() if not k.startswith("_")}
    title = _("Application %(reference)s", reference=application.reference) if application.reference \
        else _("Draft application")
    doc = Document(title, footer_text=f"{application.municipality.name} – {application.reference or ''}")
    doc.row(_("Municipality"), f"{application.municipality.name} ({application.municipality.number})")
    doc.row(_("Round"), application.round.localised("title", "nb"))
    if application.received_at:
        doc.row(_("Received"), oslo_datetime(application.received_at))
    for section, section_title in SECTION_TITLES.items():
        doc.heading(str(section_title))
        values = answers.get(section) or {}
        form = SECTION_FORMS[section](meta={"csrf": False}, formdata=None,
                                      **({"round": application.round} if section in ("project", "budget") else {}))
        for field in form:
            if field.name in ("version", "csrf_token") or field.type == "FieldList":
                continue
            raw = values.get(field.name) or []
            choices = getattr(field, "choices", None)
            shown = _choice_labels(choices, raw) if choices else ", ".join(raw)
            if field.type == "BooleanField":
                shown = _("Yes") if raw and raw[0] in ("y", "on", "true", "1") else _("No")
            doc.row(field.label.text, shown)
        if section == "budget":
            for line in application.cost_lines:
                doc.row(line.description, format_kroner(line.amount))
            doc.row(_("Total cost"), format_kroner(application.total_cost))
    if application.submitted_attachments:
        doc.heading(_("Attachments"))
        for attachment in application.submitted_attachments:
            doc.row(attachment.original_name, f"{attachment.size:,} bytes, SHA-256 {attachment.sha256[:16]}…")
    return doc.render()
