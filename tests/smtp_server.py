"""Real SMTP servers for tests: aiosmtpd on 127.0.0.1, a free port, messages collected.

    with smtp_server("starttls", auth=("buchex", "pw")) as srv:
        send_mail(srv.settings(user="buchex", password="pw"), ..., ssl_context=srv.client_context)
        (got,) = srv.wait_for(1)

Variants: "plain", "starttls" (STARTTLS required before MAIL), "ssl" (implicit TLS).
TLS uses a throw-away CA made with `cryptography`; `client_context` trusts it, the system
default context does not (for "untrusted certificate" tests). `auth=(user, password)`
enables AUTH LOGIN/PLAIN for exactly that pair (also over plain connections).
Waiting uses a Condition with a deadline, never sleep.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.fields import Secret
from engine.settings import SmtpSettings

Kind = Literal["plain", "starttls", "ssl"]
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    login: str | None  # the authenticated user, if any
    tls: bool


class Collector:
    """aiosmtpd handler: keeps every accepted message; rejects listed recipients."""

    def __init__(self, reject_rcpt: Iterable[str] = ()) -> None:
        self.messages: list[Received] = []
        self.reject_rcpt = {a.lower() for a in reject_rcpt}
        self._cond = threading.Condition()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() in self.reject_rcpt:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # Wire format has CRLF; tests compare with "\n" texts.
        raw = (envelope.original_content or b"").replace(b"\r\n", b"\n")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        auth = session.auth_data
        login = auth.login if isinstance(auth, LoginPassword) else None
        received = Received(
            mail_from=str(envelope.mail_from),
            rcpt_tos=list(envelope.rcpt_tos),
            message=message,
            raw=raw,
            login=login.decode() if login is not None else None,
            # session.ssl is set only after STARTTLS; the transport knows implicit TLS too.
            tls=server.transport is not None
            and server.transport.get_extra_info("ssl_object") is not None,
        )
        with self._cond:
            self.messages.append(received)
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """The first `count` messages; AssertionError if they do not arrive in time."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(
                    f"expected {count} message(s) within {timeout}s, got {len(self.messages)}"
                )
            return list(self.messages[:count])


class _FreePortController(Controller):
    """Binds port 0 and learns the real port before aiosmtpd's self-test connects.

    Asking the OS for a free port and binding it later would race with parallel tests.
    """

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


# --- certificates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CertAuthority:
    cert_pem: bytes
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, name: str = "buchex Test-CA") -> CertAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert.public_bytes(serialization.Encoding.PEM), key)

    def issue(self, names: Iterable[str] = ("localhost", HOST)) -> tuple[bytes, bytes]:
        """(cert PEM, key PEM) of a server certificate for `names` (DNS names or IPs)."""
        ca_cert = x509.load_pem_x509_certificate(self.cert_pem)
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context (hostname check on) that trusts only this CA."""
        ctx = ssl.create_default_context(cadata=self.cert_pem.decode("ascii"))
        return ctx


def server_context(ca: CertAuthority, names: Iterable[str] = ("localhost", HOST)) -> ssl.SSLContext:
    cert_pem, key_pem = ca.issue(names)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # load_cert_chain only reads files; they are gone again right after loading.
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


# --- servers ---------------------------------------------------------------------------------


@dataclass
class RunningServer:
    kind: Kind
    host: str
    port: int
    handler: Collector
    ca: CertAuthority
    client_context: ssl.SSLContext  # trusts this server's certificate
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        return self.handler.wait_for(count, timeout)

    def settings(
        self,
        *,
        security: str | None = None,
        user: str | None = None,
        password: str | None = None,
        sender: str = "buchex@optik-mueller.example",
        timeout: int = 10,
        host: str | None = None,
    ) -> SmtpSettings:
        """SmtpSettings pointing at this server (security defaults to the server's kind)."""
        return SmtpSettings(
            host=host or self.host,
            port=self.port,
            security=security or ("none" if self.kind == "plain" else self.kind),
            user=user,
            password=Secret(password) if password is not None else None,
            sender=sender,
            timeout=timeout,
        )


def _authenticator(user: str, password: str) -> Any:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: aiosmtpd itself answers 535 (handled=True would leave it to us).
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


@contextmanager
def smtp_server(
    kind: Kind = "plain",
    *,
    auth: tuple[str, str] | None = None,
    auth_mechanisms: Iterable[str] | None = None,
    reject_rcpt: Iterable[str] = (),
    ca: CertAuthority | None = None,
    cert_names: Iterable[str] = ("localhost", HOST),
) -> Iterator[RunningServer]:
    """A running aiosmtpd server; stopped on exit.

    auth_mechanisms: offer only these (e.g. ["LOGIN"]); default LOGIN and PLAIN.
    """
    ca = ca or CertAuthority.create()
    handler = Collector(reject_rcpt)
    kwargs: dict[str, Any] = {
        "hostname": HOST,
        "port": 0,
        "server_hostname": "localhost",  # skips aiosmtpd's getfqdn() DNS lookup
        "ready_timeout": 10.0,
    }
    tls_ctx = server_context(ca, cert_names) if kind != "plain" else None
    if kind == "starttls":
        kwargs.update(tls_context=tls_ctx, require_starttls=True)
    elif kind == "ssl":
        kwargs["ssl_context"] = tls_ctx
    if auth is not None:
        # aiosmtpd counts only STARTTLS as TLS for AUTH; plain test servers must offer AUTH
        # without TLS too. Requiring AUTH there would only earn a security warning, and
        # Received.login shows whether the client logged in anyway.
        tls_for_auth = kind == "starttls"
        kwargs.update(
            authenticator=_authenticator(*auth),
            auth_required=tls_for_auth,
            auth_require_tls=tls_for_auth,
        )
        if auth_mechanisms is not None:
            wanted = {m.upper() for m in auth_mechanisms}
            kwargs["auth_exclude_mechanism"] = [m for m in ("LOGIN", "PLAIN") if m not in wanted]
    controller = _FreePortController(handler, **kwargs)
    controller.start()
    try:
        yield RunningServer(kind, HOST, controller.port, handler, ca, ca.client_context())
    finally:
        controller.stop()


@contextmanager
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 that is bound but not listening: connecting is refused.

    Holding the bound socket keeps other tests from grabbing the port meanwhile.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) but never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, 0))
        sock.listen(8)
        yield sock.getsockname()[1]
    finally:
        sock.close()
