"""Sending email through the operator's SMTP server (``MINA_SMTP_URL``).

``smtp://user:password@host:port`` speaks plain SMTP and upgrades with STARTTLS when the server
offers it; ``smtp+starttls://`` requires STARTTLS; ``smtps://`` is SMTP over TLS (port 465).
User and password are optional and percent-decoded. Sending blocks: callers run it off the
event loop (FastAPI runs plain ``def`` routes in its thread pool)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT_S = 15.0


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server; the text says why."""


@dataclass(frozen=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    username: str
    password: str


def parse_smtp_url(url: str) -> SmtpServer:
    """The server a ``MINA_SMTP_URL`` names; ValueError with a readable message otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES:
        raise ValueError(
            "MINA_SMTP_URL must start with smtp://, smtp+starttls:// or smtps:// "
            f"(got {parts.scheme or 'no scheme'!r})"
        )
    if not parts.hostname:
        raise ValueError("MINA_SMTP_URL names no host, e.g. smtp://mail.example.com:587")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError as exc:
        raise ValueError(f"MINA_SMTP_URL has a bad port: {exc}") from None
    return SmtpServer(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def send_mail(url: str, *, sender: str, to: str, subject: str, text: str) -> None:
    """Send one plain-text message; MailError when the server refuses or cannot be reached."""
    server = parse_smtp_url(url)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    context = ssl.create_default_context()
    try:
        if server.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=TIMEOUT_S, context=context
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_S)
        with client:
            client.ehlo()
            if server.scheme == "smtp+starttls" or (
                server.scheme == "smtp" and client.has_extn("starttls")
            ):
                client.starttls(context=context)
                client.ehlo()
            if server.username:
                client.login(server.username, server.password)
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from None
