"""Rendering a notice into an e-mail: subject, text and HTML bodies, in the recipient's language."""

import hashlib
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid  # noqa: F401

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from grants.core.timeutil import now_utc


def _subjects():
    return {
        "confirm_email": _("Confirm your e-mail address"),
        "password_reset": _("Reset your password"),
        "user_pending": _("A new user waits for approval"),
        "user_approved": _("Your user account is approved"),
        "user_rejected": _("Your user account was not approved"),
        "receipt": _("Receipt for application %(reference)s"),
        "withdrawn": _("Application %(reference)s is withdrawn"),
        "round_opened": _("New call for applications: %(round_title)s"),
        "deadline_reminder": _("%(days)s days to the deadline: %(round_title)s"),
        "review_reminder": _("You have unfinished reviews in %(round_title)s"),
        "decision": _("Decision on application %(reference)s"),
        "report_reminder": _("Report due %(due)s for %(reference)s"),
        "report_overdue": _("Report overdue for %(reference)s"),
    }


def message_id_for(notice):
    """A Message-ID that stays the same however often the notice is sent."""
    domain = current_app.config["MAIL_DEFAULT_SENDER"].rsplit("@", 1)[-1].strip(">").strip() or "grants.local"
    digest = hashlib.sha256(notice.key.encode()).hexdigest()[:16]
    return f"<notice-{notice.id}-{digest}@{domain}>"


def _clean_header(value):
    return " ".join(str(value or "").replace("\r", " ").replace("\n", " ").split())


def render_notice(notice):
    """Subject, text body and HTML body of a notice, rendered in its language."""
    context = dict(notice.context or {})
    for key in ("round_title", "scheme_title"):
        if f"{key}_nb" in context:
            context[key] = context.get(f"{key}_{notice.language}") or context[f"{key}_nb"]
    with force_locale(notice.language):
        subject = _subjects()[notice.kind] % {k: v for k, v in context.items() if isinstance(v, str | int)}
        text = render_template(f"emails/{notice.kind}.txt", notice=notice, **context)
        html = render_template(f"emails/{notice.kind}.html", notice=notice, subject=subject, **context)
    return _clean_header(subject), text, html


def build_message(notice, attachments=()):
    """The complete e-mail for a notice. ``attachments`` are (filename, mimetype, bytes)."""
    subject, text, html = render_notice(notice)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = formataddr((_clean_header(notice.recipient_name), _clean_header(notice.recipient_email)))
    message["Message-ID"] = message_id_for(notice)
    message["Date"] = format_datetime(now_utc())
    message["Content-Language"] = {"nb": "nb", "nn": "nn", "en": "en"}[notice.language]
    message["X-Grants-Notice"] = _clean_header(notice.key)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for filename, mimetype, content in attachments:
        maintype, subtype = mimetype.split("/", 1)
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message
