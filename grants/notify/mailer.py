"""Sending e-mail over SMTP, or keeping it in instance/mail/ when no SMTP server is configured."""

import smtplib
import ssl
from pathlib import Path

from flask import current_app


def send_message(message):
    """Send one message. Raises on any failure, so the caller can count the attempt."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return _keep(message)
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    if config.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
    return None


def _keep(message):
    folder = Path(current_app.config["MAIL_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    safe_id = "".join(ch for ch in message["Message-ID"] if ch.isalnum() or ch in "-.@")
    path = folder / f"{safe_id}.eml"
    path.write_bytes(bytes(message))
    return str(path)
