"""Rendering a notice into an e-mail: subject, text and HTML bodies, in the recipient's language."""

import email.policy
import hashlib
import io
import re
import secrets
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from email.charset import QP, Charset
from email.encoders import encode_base64
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import Address, HeaderRegistry
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr

import idna
from flask import current_app, has_request_context, render_template
from flask_babel import gettext as _
from flask_babel import pgettext

from grants.core.timeutil import now_utc
from grants.core.wording import day_in
from grants.i18n import current_language, language


def N_(message):  # noqa: N802 - Babel's marker: extracted for translation, translated where it is used
    return message


# Translated one at a time when a notice is rendered (calling gettext for all of them per notice costs).
SUBJECTS = {
    "confirm_email": N_("Confirm your e-mail address"),
    "password_reset": N_("Reset your password"),
    "account_exists": N_("You already have a user account"),
    "account_locked": N_("Logging in to your user account is paused"),
    "user_pending": N_("A new user waits for approval"),
    "user_approved": N_("Your user account is approved"),
    "user_rejected": N_("Your user account was not approved"),
    "invitation": N_("Invitation to %(municipality_name)s in IMDi's grant portal"),
    "receipt": N_("Receipt for application %(reference)s"),
    "withdrawn": N_("Application %(reference)s is withdrawn"),
    "round_opened": N_("New call for applications: %(round_title)s"),
    "deadline_reminder": N_("%(days)s days to the deadline: %(round_title)s"),
    # Its own sentence, not "1 days": a language may word "tomorrow" quite differently.
    "deadline_reminder:1": N_("The deadline is tomorrow: %(round_title)s"),
    "deadline_reminder:0": N_("The deadline is today: %(round_title)s"),
    "deadline_changed": N_("New application deadline: %(round_title)s"),
    "review_reminder": N_("You have unfinished reviews in %(round_title)s"),
    "decision": N_("Decision on application %(reference)s"),
    "decision_cancelled": N_("Application %(reference)s was withdrawn: its decision is cancelled"),
    "report_reminder": N_("Report due %(due)s for %(reference)s"),
    "report_overdue": N_("Report overdue for %(reference)s"),
    "grant_accepted": N_("Receipt: the grant for %(reference)s is accepted"),
    "grant_declined": N_("The grant for %(reference)s was declined by the municipality"),
    "grant_answer_reminder": N_("Answer the grant for %(reference)s by %(answer_by)s"),
    "grant_answer_overdue": N_("The grant for %(reference)s is not answered"),
    "payment_made": N_("Payment of the grant for %(reference)s"),
    "report_received": N_("Receipt: the report for %(reference)s is sent"),
    "report_submitted": N_("New report to assess: %(reference)s"),
    "report_returned": N_("The report for %(reference)s is returned for changes"),
    "report_approved": N_("The report for %(reference)s is approved"),
    "case_message": N_("New message on application %(reference)s"),
    "repayment_claim": N_("Claim for repayment of the grant for %(reference)s"),
    "repayment_reminder": N_("Repayment due %(due)s for %(reference)s"),
    "repayment_overdue": N_("Repayment overdue for %(reference)s"),
}


# What each kind of notice is called on the outbox pages: one title per kind (the e-mail templates'
# names, templates/emails/<kind>.html), translated where shown (grants.vocabulary).
KIND_TITLES = {
    "confirm_email": N_("E-mail address confirmation"),
    "password_reset": N_("Password reset"),
    "account_exists": N_("Registration with an address that has an account"),
    "account_locked": N_("Logging in paused after wrong passwords"),
    "user_pending": N_("New user waiting for approval"),
    "user_approved": N_("User account approved"),
    "user_rejected": N_("User account not approved"),
    "invitation": N_("Invitation to a municipality"),
    "receipt": N_("Receipt for an application"),
    "withdrawn": N_("Application withdrawn"),
    "round_opened": N_("New call for applications"),
    "deadline_reminder": N_("Deadline reminder"),
    "deadline_changed": N_("Deadline changed"),
    "review_reminder": N_("Reminder of unfinished reviews"),
    "decision": N_("Decision"),
    "decision_cancelled": N_("Decision cancelled"),
    "report_reminder": N_("Report reminder"),
    "report_overdue": N_("Report overdue"),
    "grant_accepted": N_("Grant accepted"),
    "grant_declined": N_("Grant declined"),
    "grant_answer_reminder": N_("Reminder to answer the grant"),
    "grant_answer_overdue": N_("Grant not answered"),
    "payment_made": N_("Payment made"),
    "report_received": N_("Receipt for a report"),
    "report_submitted": N_("New report to assess"),
    "report_returned": N_("Report returned for changes"),
    "report_approved": N_("Report approved"),
    "case_message": N_("New message on an application"),
    "repayment_claim": N_("Repayment claim"),
    "repayment_reminder": N_("Repayment reminder"),
    "repayment_overdue": N_("Repayment overdue"),
}


class _CachedHeaderRegistry(HeaderRegistry):
    """The standard registry builds a new class for every header it is asked about (a third of the time it
    takes to build a notice's e-mail); the classes are stateless, so one per header name will do."""

    def __init__(self):
        super().__init__()
        self._classes = {}

    def __getitem__(self, name):
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


# email.policy.default (strict: a header value with CR or LF raises), with the cached registry.
POLICY = email.policy.default.clone(header_factory=_CachedHeaderRegistry())


class InvalidAddress(ValueError):
    """The recipient's address can't be written into a header (empty, several addresses, or malformed)."""


def message_id_for(notice):
    """A Message-ID that stays the same however often the notice is sent."""
    domain = current_app.config["MAIL_DEFAULT_SENDER"].rsplit("@", 1)[-1].strip(">").strip() or "grants.local"
    digest = hashlib.sha256(notice.key.encode()).hexdigest()[:16]
    return f"<notice-{notice.id}-{digest}@{domain}>"


def _clean_header(value):
    return " ".join(str(value or "").replace("\r", " ").replace("\n", " ").split())


def _day_in_words(value):
    """An ISO date from a notice context written out in the current language: "19. februar 2025"."""
    try:
        return day_in(date.fromisoformat(str(value)[:10]), current_language())
    except ValueError:
        return value


def subject_for(kind, context):
    """The subject line of a notice, in the current locale."""
    values = {k: v for k, v in context.items() if isinstance(v, str | int) and not isinstance(v, bool)}
    for name in ("due", "answer_by"):  # dates in subjects as people write them
        if name in values:
            values[name] = _day_in_words(values[name])
    return _(SUBJECTS.get(f"{kind}:{values.get('days')}", SUBJECTS[kind])) % values


def render_notice(notice):
    """Subject, text body and HTML body of a notice, rendered in its language."""
    context = dict(notice.context or {})
    for key in ("round_title", "scheme_title"):
        if f"{key}_nb" in context:
            context[key] = context.get(f"{key}_{notice.language}") or context[f"{key}_nb"]
    # Outside a request (a worker), one request context on the public address serves every link in both bodies.
    outside = nullcontext() if has_request_context() else current_app.test_request_context(
        base_url=current_app.config["PUBLIC_BASE_URL"])
    with outside, language(notice.language):
        subject = subject_for(notice.kind, context)
        text = render_template(f"emails/{notice.kind}.txt", notice=notice, **context)
        html = render_template(f"emails/{notice.kind}.html", notice=notice, subject=subject, **context)
    return _clean_header(subject), text, html


def recipient_address(notice):
    """The To header: the cleaned name and exactly one well-formed address, or InvalidAddress."""
    addr_spec = _clean_header(notice.recipient_email)
    try:
        # Without the address specials: Python's header folding drops the quotes around a long display name, and
        # a name like 'Kari Bcc: x@evil.example ...' would then be read as that address by the receiving side.
        name = _clean_header(re.sub(r'["\\()<>@,;:\[\]]', " ", notice.recipient_name or ""))
        address = Address(display_name=name, addr_spec=addr_spec)
    except (ValueError, IndexError) as exc:
        raise InvalidAddress(f"not a single e-mail address: {addr_spec!r}") from exc
    if not address.username or not address.domain or " " in addr_spec:
        raise InvalidAddress(f"not a single e-mail address: {addr_spec!r}")
    if not address.domain.isascii():  # an internationalised domain goes out as its ASCII form (IDNA 2008, UTS 46)
        try:
            domain = idna.encode(address.domain, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise InvalidAddress(f"not a domain that can be written in ASCII: {addr_spec!r}") from exc
        address = Address(display_name=name, username=address.username, domain=domain)
    if not address.username.isascii():
        # Would need SMTPUTF8 (RFC 6531) all the way to the mailbox, which the service does not ask for.
        raise InvalidAddress(f"an address with letters outside ASCII before the @: {addr_spec!r}")
    return address


def sender_address(lang):
    """The From header for a recipient reading ``lang``: the address of MAIL_DEFAULT_SENDER with the service's
    name in that language ("IMDi tilskudd", "IMDi tilskot", "IMDi grants"), so that a nynorsk kommune never gets
    a bokmål sender."""
    address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1]
    key = (lang, address)
    sender = _SENDERS.get(key)
    if sender is None:
        with language(lang):
            name = pgettext("e-mail sender", "IMDi grants")
        sender = _SENDERS[key] = Address(display_name=_clean_header(name), addr_spec=address)
    return sender


_SENDERS = {}  # (language, address) -> Address: the same for every notice (an Address is immutable)


@dataclass(frozen=True)
class Outgoing:
    """A notice's e-mail as it goes over SMTP: ``data`` the whole message (bytes, CRLF line ends, not yet
    dot-stuffed), ``sender`` and ``recipients`` the envelope addresses, ``message_id`` and ``subject`` (str) as in
    its headers, and ``text`` its plain-text body as it is in the message (each line ending in a line feed)."""

    data: bytes
    sender: str
    recipients: tuple
    message_id: str
    subject: str
    text: str


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = None  # 7bit or 8bit as the text is; quoted-printable only for a line too long for SMTP
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


class _WirePolicy(email.policy.Compat32):
    """compat32 with CRLF line ends and lines of at most 76 (so an encoded word is at most 75, RFC 2047 2), which
    writes a header that already fits on its line (ASCII, no line break) as it is: compat32 runs every header,
    however short, through email.header.Header to fold it, a sixth of the time it takes to make a message."""

    def _fold(self, name, value, sanitize):
        if (isinstance(value, str) and value.isascii() and len(name) + 2 + len(value) <= self.max_line_length
                and "\r" not in value and "\n" not in value):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


_WIRE_POLICY = _WirePolicy(linesep="\r\n", max_line_length=76)
_LONGEST_LINE = 998  # RFC 5322 2.1.1: no line longer, CRLF apart


def _lines(content):
    """``content`` as a body carries it: each line ending in one line feed."""
    return "".join(line + "\n" for line in content.splitlines())


def _text_part(content, subtype):
    """A text/``subtype`` part of ``content`` (already in _lines form): 8bit, quoted-printable if a line is too long
    for SMTP."""
    long_line = any(len(line.encode()) > _LONGEST_LINE for line in content.splitlines())
    part = MIMEText(content, subtype, _UTF8_QP if long_line else _UTF8)
    del part["MIME-Version"]  # once, at the top
    return part


def _header_text(name, value):
    """The text of header ``name``: as it is when ASCII, else RFC 2047 encoded words (UTF-8)."""
    return value if value.isascii() else Header(value, "utf-8", header_name=name)


def _formatted(header_name, address):
    """A headerregistry Address as the value of header ``header_name``: a non-ASCII display name in RFC 2047
    encoded words (UTF-8), each at most 75 characters, as the generator folds them."""
    name, addr_spec = address.display_name, address.addr_spec
    if not name or name.isascii():
        return formataddr((name, addr_spec))
    value = Header(name, "utf-8", header_name=header_name)
    value.append(f"<{addr_spec}>", "us-ascii")
    return value


def _attachment_name(filename, longest=60):
    """The file name an attachment is sent under: cleaned, and shortened to ``longest`` characters (its extension
    kept), so that its RFC 2231 encoding, which compat32 does not split, stays well inside a line of 998."""
    name = _clean_header(filename)
    if len(name) <= longest:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > 10:
        return name[:longest]
    return f"{stem[:longest - len(extension) - 1].rstrip()}.{extension}"


def build_wire(notice, attachments=()):
    """The complete e-mail for a notice, as the Outgoing that is sent. ``attachments`` are (filename, mimetype,
    bytes). Raises InvalidAddress for a recipient address that is not exactly one well-formed address.

    Made with the email package's compat32 classes (email.mime) rather than EmailMessage: the same message for
    a quarter of the time, as EmailMessage parses and folds every header through its header registry (measured
    in bench/notify.py's worker by cProfile). What makes it safe stays where it was: the addresses are checked by
    recipient_address and sender_address (headerregistry), and every header value is cleaned of CR and LF.
    The text and HTML bodies are an alternative pair; attachments make it multipart/mixed around that pair."""
    subject, text, html = render_notice(notice)
    text = _lines(text)
    sender, recipient = sender_address(notice.language), recipient_address(notice)
    # Random boundaries: the generator would otherwise search every part for its own, a regular expression made
    # anew for each message. 128 random bits cannot be guessed by whoever writes a part's text.
    body = MIMEMultipart("alternative", boundary=f"=_alt_{secrets.token_hex(16)}",
                         _subparts=[_text_part(text, "plain"), _text_part(_lines(html), "html")])
    if attachments:
        message = MIMEMultipart("mixed", boundary=f"=_mix_{secrets.token_hex(16)}", _subparts=[body])
        for filename, mimetype, content in attachments:
            maintype, subtype = mimetype.split("/", 1)
            part = MIMEBase(maintype, subtype)
            del part["MIME-Version"]
            part.set_payload(content)
            encode_base64(part)
            name = _attachment_name(filename)
            part.add_header("Content-Disposition", "attachment",
                            filename=name if name.isascii() else ("utf-8", "", name))
            message.attach(part)
        del body["MIME-Version"]
    else:
        message = body
    # The headers first, in the order a reader expects them (the MIME headers follow).
    headers = [
        ("Subject", _header_text("Subject", subject)),
        ("From", _formatted("From", sender)),
        ("To", _formatted("To", recipient)),
        ("Message-ID", message_id_for(notice)),
        ("Date", format_datetime(now_utc())),
        ("X-Grants-Notice", _clean_header(notice.key)),
    ]
    mime = list(message.items())
    for name in list(message.keys()):
        del message[name]
    for name, value in [*headers, *mime]:
        message[name] = value
    message["Content-Language"] = {"nb": "nb", "nn": "nn", "en": "en"}.get(notice.language, "nb")
    buffer = io.BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=_WIRE_POLICY).flatten(message)
    return Outgoing(data=buffer.getvalue(), sender=sender.addr_spec, recipients=(recipient.addr_spec,),
                    message_id=headers[3][1], subject=subject, text=text)


def build_message(notice, attachments=()):
    """The complete e-mail for a notice as an EmailMessage: build_wire's bytes, read back as a receiver reads
    them (for pages and tests that look inside; delivery sends build_wire's bytes as they are)."""
    return email.message_from_bytes(build_wire(notice, attachments).data, policy=POLICY)
