"""Sending mail through the chain's SMTP Postausgangsserver (smtplib, stdlib only).

Every failure becomes a `MailError` with a plain German `reason` an admin can act on
("Anmeldung abgelehnt", "TLS-Zertifikat nicht vertrauenswürdig", …) and an optional
`detail` (server answer, host:port). Neither ever contains the SMTP password: server
answers are scrubbed and smtplib's exceptions are not chained, so a traceback in a log
cannot carry the login exchange either.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import errno
import re
import smtplib
import socket
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Literal

from engine.errors import MailError
from engine.settings import SECURITY_CHOICES, SmtpSettings

MASK = "********"

Phase = Literal["connect", "tls", "login", "send"]


def parse_recipients(to: Iterable[str] | str) -> list[str]:
    """'a@x, b@y' or a list of such strings → ['a@x', 'b@y'] (order kept, duplicates dropped)."""
    parts = [to] if isinstance(to, str) else list(to)
    out: list[str] = []
    for part in parts:
        for address in re.split(r"[,;]", part):
            address = address.strip()
            if address and address not in out:
                out.append(address)
    return out


def build_message(sender: str, recipients: list[str], subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()  # policy=default: UTF-8 headers are RFC 2047-encoded automatically
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(dt.datetime.now().astimezone())
    # An explicit domain: make_msgid() would otherwise ask DNS for our FQDN on every mail.
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "buchex.invalid")
    # quoted-printable keeps umlauts intact even on servers without 8BITMIME.
    msg.set_content(body, charset="utf-8", cte="quoted-printable")
    return msg


def send_mail(
    settings: SmtpSettings,
    to: list[str] | str,
    subject: str,
    body: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Send one plain-text mail; raises MailError with a German reason on any failure.

    Certificates are verified against the system CAs unless `ssl_context` is given
    (tests pass one that trusts their own CA).
    """
    if not settings.host:
        raise MailError("kein SMTP-Server eingerichtet")
    if not settings.sender:
        raise MailError("kein Absender eingerichtet")
    recipients = [_idna_address(a) for a in parse_recipients(to)]
    if not recipients:
        raise MailError("keine E-Mail-Adresse angegeben")
    sender = _idna_address(settings.sender)
    password = settings.password.reveal() if settings.password else ""
    msg = build_message(sender, recipients, subject, body)
    context = ssl_context or ssl.create_default_context()
    host, port = settings.host, settings.effective_port

    phase: Phase = "connect"
    smtp: smtplib.SMTP | None = None
    error: MailError | None = None
    try:
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=settings.timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=settings.timeout)
        smtp.ehlo_or_helo_if_needed()
        if settings.security == "starttls":
            phase = "tls"
            if not smtp.has_extn("starttls"):
                raise MailError("Server unterstützt kein STARTTLS", f"{host}:{port}")
            smtp.starttls(context=context)
            smtp.ehlo()  # the capabilities before TLS must not be trusted (RFC 3207)
        if settings.user:
            phase = "login"
            _login(smtp, settings.user, password)
        phase = "send"
        refused = smtp.send_message(msg, from_addr=sender, to_addrs=recipients)
        if refused:
            # The others got it; still an error so the run record shows who did not.
            raise MailError(
                "Empfänger abgelehnt",
                _scrub(
                    "; ".join(f"{a}: {_answer(c, m)}" for a, (c, m) in refused.items())
                    + " – die übrigen Empfänger haben die Nachricht erhalten",
                    password,
                ),
            )
        # The server has accepted the message; a failing QUIT changes nothing.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        smtp = None
    except MailError:
        raise
    except Exception as exc:  # every failure must become a MailError
        error = _translate(exc, phase, host, port, settings, password)
    finally:
        if smtp is not None:
            # close(), not quit(): after a failed TLS handshake a QUIT could raise a
            # second error that hides the first one.
            smtp.close()
    if error is not None:
        # `from None`: smtplib's exceptions and frames stay out of tracebacks and logs.
        raise error from None


def send_test_mail(
    settings: SmtpSettings, to: list[str] | str, *, ssl_context: ssl.SSLContext | None = None
) -> None:
    """The mail behind the "Test" button and `buchex smtp test ADDRESS`."""
    security = dict(SECURITY_CHOICES).get(settings.security, settings.security)
    now = dt.datetime.now().astimezone().strftime("%d.%m.%Y %H:%M")
    body = (
        "Hallo,\n\n"
        "diese Test-E-Mail wurde von buchex (Automatischer Buchhaltungsexport) gesendet,\n"
        "um die Einstellungen des SMTP Postausgangsservers zu prüfen.\n\n"
        f"SMTP-Server:     {settings.host}:{settings.effective_port}\n"
        f"Verschlüsselung: {security}\n"
        f"Benutzer:        {settings.user or '(keine Anmeldung)'}\n"
        f"Absender:        {settings.sender}\n"
        f"Gesendet am:     {now}\n\n"
        "Wenn Sie diese Nachricht lesen, funktioniert der Versand: bei fehlgeschlagenen\n"
        "Exporten erhalten Sie an diese Adresse eine Benachrichtigung.\n\n"
        "Sie müssen auf diese E-Mail nicht antworten.\n"
    )
    send_mail(settings, to, "buchex: Test-E-Mail", body, ssl_context=ssl_context)


def _idna_address(address: str) -> str:
    """user@bäckerei.de → user@xn--bckerei-5wa.de: no SMTPUTF8 needed for IDN domains."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address  # the server will refuse it with a proper answer


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """SMTP AUTH; passwords with umlauts are sent as UTF-8 (RFC 4616).

    smtplib encodes credentials as ASCII and would fail on "Passwört" before even asking
    the server, so non-ASCII credentials go through a hand-made AUTH PLAIN or LOGIN.
    """
    if user.isascii() and password.isascii():
        smtp.login(user, password)  # also knows CRAM-MD5
        return
    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    mechanisms = smtp.esmtp_features["auth"].upper().split()
    if "PLAIN" in mechanisms:
        code, answer = smtp.docmd("AUTH", "PLAIN " + _b64(f"\0{user}\0{password}"))
    elif "LOGIN" in mechanisms:
        code, answer = smtp.docmd("AUTH", "LOGIN " + _b64(user))
        if code == 334:
            code, answer = smtp.docmd(_b64(password))
    else:
        raise smtplib.SMTPAuthenticationError(
            504, b"no mechanism for non-ASCII credentials (PLAIN or LOGIN needed)"
        )
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, answer)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# --- translating smtplib/socket/ssl errors into German reasons -----------------------------


def _translate(
    exc: BaseException,
    phase: Phase,
    host: str,
    port: int,
    settings: SmtpSettings,
    password: str,
) -> MailError:
    where = f"{host}:{port}"
    # Order matters: SSL errors are OSErrors, SMTP*Error subclasses each other.
    if isinstance(exc, socket.gaierror):
        return MailError("Name nicht gefunden", host)
    if isinstance(exc, ConnectionRefusedError):
        return MailError("Verbindung abgelehnt", where)
    # smtplib wraps a read timeout in SMTPServerDisconnected; the cause is the context.
    if isinstance(exc, TimeoutError) or (
        isinstance(exc, smtplib.SMTPServerDisconnected)
        and isinstance(exc.__context__, TimeoutError)
    ):
        return MailError(
            "Zeitüberschreitung", f"{where}, keine Antwort nach {settings.timeout} Sekunden"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailError(
            "TLS-Zertifikat nicht vertrauenswürdig", _cert_detail(exc, where, password)
        )
    if isinstance(exc, ssl.SSLError):
        hint = ""
        if exc.reason in {"WRONG_VERSION_NUMBER", "UNEXPECTED_EOF_WHILE_READING"}:
            hint = " – passen Port und Verschlüsselung zusammen?"
        return MailError("TLS-Verbindung fehlgeschlagen", f"{where}{hint}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return MailError("Anmeldung abgelehnt", _answer(exc.smtp_code, exc.smtp_error, password))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if phase == "login":
            return MailError(
                "Server bietet keine Anmeldung an",
                f"{where} – ohne Benutzer senden oder STARTTLS/SSL verwenden",
            )
        if phase == "tls":
            return MailError("Server unterstützt kein STARTTLS", where)
        return MailError("Server unterstützt die Anfrage nicht", _scrub(str(exc), password))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return MailError(
            "Empfänger abgelehnt",
            "; ".join(f"{a}: {_answer(c, m, password)}" for a, (c, m) in exc.recipients.items()),
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return MailError(
            "Absender abgelehnt",
            f"{exc.sender}: {_answer(exc.smtp_code, exc.smtp_error, password)}",
        )
    if isinstance(exc, smtplib.SMTPDataError):
        return MailError("Nachricht abgelehnt", _answer(exc.smtp_code, exc.smtp_error, password))
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
        return MailError(
            "Server verweigert die Verbindung", _answer(exc.smtp_code, exc.smtp_error, password)
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return MailError(
            "Server meldet einen Fehler", _answer(exc.smtp_code, exc.smtp_error, password)
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionResetError | EOFError):
        hint = " – passen Port und Verschlüsselung zusammen?" if phase == "connect" else ""
        return MailError("Verbindung unerwartet getrennt", f"{where}{hint}")
    if isinstance(exc, smtplib.SMTPException):
        return MailError("SMTP-Fehler", _scrub(str(exc), password))
    if isinstance(exc, OSError):
        if exc.errno in {errno.ENETUNREACH, errno.ENETDOWN}:
            return MailError("Netzwerk nicht erreichbar", where)
        if exc.errno in {errno.EHOSTUNREACH, errno.EHOSTDOWN}:
            return MailError("Server nicht erreichbar", where)
        return MailError("Netzwerkfehler", f"{where}: {_scrub(exc.strerror or str(exc), password)}")
    return MailError("unerwarteter Fehler beim E-Mail-Versand", type(exc).__name__)


def _cert_detail(exc: ssl.SSLCertVerificationError, where: str, password: str) -> str:
    message = str(exc.verify_message or "")
    if "hostname" in message.lower() or "ip address mismatch" in message.lower():
        what = "Zertifikat gilt nicht für diesen Namen"
    elif "self-signed" in message.lower() or "self signed" in message.lower():
        what = "selbst signiert"
    elif "expired" in message.lower():
        what = "abgelaufen"
    elif "not yet valid" in message.lower():
        what = "noch nicht gültig"
    elif "unable to get local issuer" in message.lower():
        what = "Aussteller unbekannt"
    else:
        what = message or "Prüfung fehlgeschlagen"
    return _scrub(f"{where}: {what}", password)


def _answer(code: int, text: bytes | str, password: str = "") -> str:
    """A server's answer as one readable line, e.g. '535 5.7.8 Authentication failed'."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return _scrub(f"{code} {' '.join(raw.split())}".strip(), password)


def _scrub(text: str, password: str) -> str:
    # Servers echo odd things; a password must never reach the UI or a run record.
    return text.replace(password, MASK) if password else text
