"""Sending e-mail over SMTP, or keeping it in instance/mail/ when no SMTP server is configured.

A message is sent in two steps so that a worker that dies can never make the server accept a notice twice:
the whole message goes over the wire first, then ``before_end`` runs (delivery.py records the notice as sent,
fenced by its claim), and only then the final "." that makes the server accept it. A worker killed before that
"." leaves the server holding an unfinished message, which it throws away; the notice is still "sending" and is
sent again when its lease runs out. A worker killed after it is "sent" already. Only a death inside the commit
of the sent mark itself can lose a message; that is a database round trip, not a wait for a remote server.

Each worker process keeps one SMTP connection open and reuses it (a new connection costs a TCP handshake,
EHLO, maybe STARTTLS and LOGIN). A connection that went stale is noticed at MAIL FROM, before anything was
handed over, and replaced once.
"""

import os
import re
import smtplib
import socket
import ssl
import time
from pathlib import Path

from flask import current_app

# A connection idle for longer is closed rather than reused: servers drop idle clients (Postfix after 300 s),
# and a half-open connection would only be found by a timeout.
REUSE_SECONDS = 20.0

_CRLF_FIX = re.compile(rb"(?:\r\n|\n|\r(?!\n))")
_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")

_cached = {"pid": None, "key": None, "smtp": None, "used": 0.0}


def send_message(message, before_end=None):
    """Send one notice's Outgoing (grants.notify.messages.build_wire: its bytes and envelope, as they are). Raises
    on any failure, so the caller can count the attempt.

    ``before_end`` is called once the server has everything but the final "."; if it raises, the message is
    abandoned (the connection is closed without the "."), so the server never accepts it.
    """
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        path = _keep(message)
        # The file is named by the stable Message-ID: written again after a crash, it is the same file.
        if before_end is not None:
            before_end()
        return path
    return _send_smtp(config, message, before_end)


def _keep(message):
    folder = Path(current_app.config["MAIL_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    safe_id = "".join(ch for ch in message.message_id if ch.isalnum() or ch in "-.@")
    path = folder / f"{safe_id}.eml"
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(message.data)
    temporary.replace(path)  # a reader never sees half a file
    return str(path)


def _flatten(message):
    """The message as SMTP DATA: CRLF line ends, leading dots doubled, ending in CRLF (without the final ".")."""
    data = _DOT_AT_LINE_START.sub(b"..", _CRLF_FIX.sub(b"\r\n", message.data))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def _envelope(message):
    if not message.recipients:
        raise smtplib.SMTPRecipientsRefused({})
    return message.sender, list(message.recipients)


def _open(config):
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    if config.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        # The final "." goes in a write of its own; without NODELAY, Nagle's algorithm holds it back until the
        # server acknowledges the body, which a delayed ACK postpones by up to 40 ms.
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        smtp.ehlo()
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _connection(config):
    """This process's SMTP connection, opened if needed. Returns (smtp, reused)."""
    key = (config["MAIL_SERVER"], config["MAIL_PORT"], bool(config.get("MAIL_USE_SSL")),
           bool(config.get("MAIL_USE_TLS")), config.get("MAIL_USERNAME"))
    if _cached["pid"] != os.getpid():  # a forked child must not share its parent's socket
        _cached.update(pid=os.getpid(), key=None, smtp=None)
    if _cached["smtp"] is not None and (
        _cached["key"] != key or time.monotonic() - _cached["used"] > REUSE_SECONDS
    ):
        close_connection()
    if _cached["smtp"] is not None:
        return _cached["smtp"], True
    _cached.update(smtp=_open(config), key=key, used=time.monotonic())
    return _cached["smtp"], False


def close_connection(polite=True):
    """Close this process's SMTP connection (QUIT if ``polite``); the next message opens a new one."""
    smtp, _cached["smtp"] = _cached["smtp"], None
    if smtp is None or _cached["pid"] != os.getpid():
        return
    try:
        if polite:
            smtp.quit()
        else:
            smtp.close()
    except Exception:  # noqa: S110 - closing a connection that is already gone
        try:
            smtp.close()
        except Exception:  # noqa: S110
            pass


def _start_data(smtp, sender, recipients, options):
    """MAIL, RCPT and DATA, up to the server's 354. Raises the smtplib exception for a refusal."""
    code, reply = smtp.mail(sender, options)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = {}
    for recipient in recipients:
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
    if len(refused) == len(recipients):
        raise smtplib.SMTPRecipientsRefused(refused)
    code, reply = smtp.docmd("data")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)


def _send_smtp(config, message, before_end):
    sender, recipients = _envelope(message)
    data = _flatten(message)
    smtp, reused = _connection(config)
    try:
        options = [f"size={len(data)}"] if smtp.has_extn("size") else []
        try:
            _start_data(smtp, sender, recipients, options)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            if not reused:
                raise
            # The kept connection had gone stale. Nothing was handed over yet, so a fresh one is safe.
            close_connection(polite=False)
            smtp, _ = _connection(config)
            options = [f"size={len(data)}"] if smtp.has_extn("size") else []
            _start_data(smtp, sender, recipients, options)
        smtp.send(data)
        if before_end is not None:
            before_end()
    except BaseException:
        # Closing in the middle of DATA makes the server drop what it has: nothing is accepted.
        close_connection(polite=False)
        raise
    try:
        smtp.send(b".\r\n")
        code, reply = smtp.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
    except BaseException:
        # Refused, or no answer: not accepted (a lost answer may hide an acceptance, as for any SMTP client).
        close_connection(polite=False)
        raise
    _cached["used"] = time.monotonic()
    return None
