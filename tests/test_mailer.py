"""engine.mailer and engine.alerts.deliver_alert against real aiosmtpd servers on 127.0.0.1."""

from __future__ import annotations

import ssl
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from engine.alerts import Mail, deliver_alert
from engine.errors import MailError
from engine.fields import Secret
from engine.mailer import parse_recipients, send_mail, send_test_mail
from engine.settings import SmtpSettings
from tests.smtp_server import (
    CertAuthority,
    Kind,
    RunningServer,
    refused_port,
    silent_port,
    smtp_server,
)

SUBJECT = "Export „Filiale Kiel“ fehlgeschlagen – Prüfung nötig"
BODY = "Grüße aus Lübeck: Größenänderung, Übertragung, Maß.\nZweite Zeile mit ß und €.\n"
USER, PASSWORD = "buchex", "Sehr-Geheim-Passwört-42"
TO = "buchhaltung@optik-mueller.example"


@pytest.fixture(scope="module")
def ca() -> CertAuthority:
    return CertAuthority.create()


@pytest.fixture
def plain() -> Iterator[RunningServer]:
    with smtp_server("plain") as server:
        yield server


def assert_no_password(err: BaseException, password: str = PASSWORD) -> None:
    text = "".join(traceback.format_exception(err))
    assert password not in text
    assert password not in repr(err)
    if isinstance(err, MailError):
        assert password not in err.reason
        assert password not in (err.detail or "")


def send_expect_error(
    settings: SmtpSettings, ssl_context: ssl.SSLContext | None = None
) -> MailError:
    with pytest.raises(MailError) as info:
        send_mail(settings, TO, SUBJECT, BODY, ssl_context=ssl_context)
    assert_no_password(info.value)
    return info.value


# --- successful delivery ---------------------------------------------------------------------


def test_plain_send_arrives_with_headers_and_umlauts(plain: RunningServer) -> None:
    send_mail(plain.settings(), [TO], SUBJECT, BODY)
    (got,) = plain.wait_for(1)
    msg = got.message
    assert got.mail_from == "buchex@optik-mueller.example"
    assert got.rcpt_tos == [TO]
    assert msg["From"] == "buchex@optik-mueller.example"
    assert msg["To"] == TO
    assert msg["Subject"] == SUBJECT
    assert msg["Date"] is not None
    assert msg["Message-ID"].endswith("@optik-mueller.example>")
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content() == BODY
    assert got.raw.isascii()  # umlauts encoded: survives servers without 8BITMIME
    assert not got.tls and got.login is None


def test_several_recipients_from_a_comma_separated_string(plain: RunningServer) -> None:
    send_mail(plain.settings(), "a@x.example, b@x.example; a@x.example", "Test", "x")
    (got,) = plain.wait_for(1)
    assert got.rcpt_tos == ["a@x.example", "b@x.example"]
    assert got.message["To"] == "a@x.example, b@x.example"


def test_umlaut_domains_are_sent_as_punycode(plain: RunningServer) -> None:
    # No SMTPUTF8 needed: the envelope and headers carry the IDNA form.
    send_mail(plain.settings(sender="buchex@bäckerei.example"), "chef@müller.example", "Test", "x")
    (got,) = plain.wait_for(1)
    assert got.mail_from == "buchex@xn--bckerei-5wa.example"
    assert got.rcpt_tos == ["chef@xn--mller-kva.example"]


def test_starttls_with_trusted_ca_arrives(ca: CertAuthority) -> None:
    with smtp_server("starttls", ca=ca) as server:
        send_mail(server.settings(), TO, SUBJECT, BODY, ssl_context=server.client_context)
        (got,) = server.wait_for(1)
    assert got.tls
    assert got.message["Subject"] == SUBJECT


def test_implicit_ssl_arrives(ca: CertAuthority) -> None:
    with smtp_server("ssl", ca=ca) as server:
        send_mail(server.settings(), TO, SUBJECT, BODY, ssl_context=server.client_context)
        (got,) = server.wait_for(1)
    assert got.tls
    assert got.message.get_content() == BODY


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
@pytest.mark.parametrize("password", [PASSWORD, "ascii-only-42"], ids=["utf8", "ascii"])
def test_auth_with_right_password_arrives(ca: CertAuthority, mechanism: str, password: str) -> None:
    # smtplib alone cannot send "Passwört" (ASCII only): the UTF-8 path is ours.
    with smtp_server(
        "starttls", ca=ca, auth=(USER, password), auth_mechanisms=[mechanism]
    ) as server:
        settings = server.settings(user=USER, password=password)
        send_mail(settings, TO, SUBJECT, BODY, ssl_context=server.client_context)
        (got,) = server.wait_for(1)
    assert got.login == USER and got.tls
    assert password.encode() not in got.raw


def test_auth_over_plain_connection(ca: CertAuthority) -> None:
    with smtp_server("plain", auth=(USER, PASSWORD)) as server:
        send_mail(server.settings(user=USER, password=PASSWORD), TO, "Test", "x")
        (got,) = server.wait_for(1)
    assert got.login == USER


def test_send_test_mail_is_german_and_has_no_password(ca: CertAuthority) -> None:
    with smtp_server("ssl", ca=ca, auth=(USER, PASSWORD)) as server:
        settings = server.settings(user=USER, password=PASSWORD)
        send_test_mail(settings, TO, ssl_context=server.client_context)
        (got,) = server.wait_for(1)
    assert got.message["Subject"] == "buchex: Test-E-Mail"
    body = got.message.get_content()
    assert "SMTP Postausgangsservers" in body and "Test-E-Mail" in body
    assert f"127.0.0.1:{server.port}" in body and "SSL/TLS" in body
    assert PASSWORD not in body and PASSWORD.encode() not in got.raw


# --- failures with German reasons ------------------------------------------------------------


def test_starttls_with_untrusted_certificate_is_refused(ca: CertAuthority) -> None:
    with smtp_server("starttls", ca=ca) as server:
        # System trust store: knows nothing of the test CA.
        err = send_expect_error(server.settings())
        assert not server.messages
    assert err.reason == "TLS-Zertifikat nicht vertrauenswürdig"


def test_ssl_certificate_for_another_name_is_refused(ca: CertAuthority) -> None:
    with smtp_server("ssl", ca=ca, cert_names=["mail.other.example"]) as server:
        err = send_expect_error(server.settings(), ssl_context=server.client_context)
    assert err.reason == "TLS-Zertifikat nicht vertrauenswürdig"
    assert "gilt nicht für diesen Namen" in str(err)


def test_certificate_of_another_ca_is_refused(ca: CertAuthority) -> None:
    with smtp_server("ssl", ca=ca) as server:
        other = CertAuthority.create("fremde CA").client_context()
        err = send_expect_error(server.settings(), ssl_context=other)
    assert err.reason == "TLS-Zertifikat nicht vertrauenswürdig"


def test_starttls_not_offered(plain: RunningServer) -> None:
    err = send_expect_error(plain.settings(security="starttls"))
    assert err.reason == "Server unterstützt kein STARTTLS"
    assert not plain.messages


def test_ssl_against_a_plain_server(plain: RunningServer) -> None:
    err = send_expect_error(plain.settings(security="ssl"))
    assert err.reason == "TLS-Verbindung fehlgeschlagen"
    assert "Port und Verschlüsselung" in str(err)


@pytest.mark.parametrize("kind", ["plain", "starttls"])
@pytest.mark.parametrize("wrong", ["Falsches-Passwört-99", "falsch"], ids=["utf8", "ascii"])
def test_wrong_password_is_rejected(ca: CertAuthority, kind: Kind, wrong: str) -> None:
    with smtp_server(kind, ca=ca, auth=(USER, PASSWORD)) as server:
        settings = server.settings(user=USER, password=wrong)
        err = send_expect_error(settings, ssl_context=server.client_context)
        assert not server.messages
    assert err.reason == "Anmeldung abgelehnt"
    assert "535" in str(err)
    assert_no_password(err, wrong)


def test_server_without_auth_but_user_set(plain: RunningServer) -> None:
    err = send_expect_error(plain.settings(user=USER, password=PASSWORD))
    assert err.reason == "Server bietet keine Anmeldung an"


def test_refused_port() -> None:
    with refused_port() as port:
        settings = SmtpSettings(
            host="127.0.0.1", port=port, security="none", sender="a@b.example", timeout=5
        )
        err = send_expect_error(settings)
    assert err.reason == "Verbindung abgelehnt"
    assert str(err) == f"Verbindung abgelehnt (127.0.0.1:{port})"


def test_unknown_host() -> None:
    settings = SmtpSettings(
        host="mail.buchex-test.invalid", security="starttls", sender="a@b.example", timeout=5
    )
    err = send_expect_error(settings)
    assert err.reason == "Name nicht gefunden"
    assert "mail.buchex-test.invalid" in str(err)


def test_silent_server_times_out() -> None:
    with silent_port() as port:
        settings = SmtpSettings(
            host="127.0.0.1", port=port, security="none", sender="a@b.example", timeout=1
        )
        err = send_expect_error(settings)
    assert err.reason == "Zeitüberschreitung"


def test_refused_recipient() -> None:
    with smtp_server("plain", reject_rcpt=["weg@x.example"]) as server:
        with pytest.raises(MailError) as info:
            send_mail(server.settings(), "weg@x.example", "Test", "x")
        assert not server.messages
    assert info.value.reason == "Empfänger abgelehnt"
    assert "weg@x.example" in str(info.value) and "550" in str(info.value)


def test_partly_refused_recipients_reach_the_others() -> None:
    with smtp_server("plain", reject_rcpt=["weg@x.example"]) as server:
        with pytest.raises(MailError) as info:
            send_mail(server.settings(), "da@x.example, weg@x.example", "Test", "x")
        (got,) = server.wait_for(1)
    assert got.rcpt_tos == ["da@x.example"]
    assert info.value.reason == "Empfänger abgelehnt"
    assert "übrigen Empfänger" in str(info.value)


def test_incomplete_settings() -> None:
    assert send_expect_error(SmtpSettings(sender="a@b.example")).reason == (
        "kein SMTP-Server eingerichtet"
    )
    assert send_expect_error(SmtpSettings(host="localhost")).reason == (
        "kein Absender eingerichtet"
    )
    with pytest.raises(MailError, match="keine E-Mail-Adresse"):
        send_mail(SmtpSettings(host="localhost", sender="a@b.example"), " , ", "s", "b")


def test_parse_recipients() -> None:
    assert parse_recipients("a@x, b@y ;c@z,,") == ["a@x", "b@y", "c@z"]
    assert parse_recipients(["a@x", "b@y, a@x"]) == ["a@x", "b@y"]
    assert parse_recipients("") == []


# --- the password never appears in an error ----------------------------------------------


def _failing_scenarios(
    ca: CertAuthority,
) -> list[Callable[[], AbstractContextManager[SmtpSettings]]]:
    from contextlib import contextmanager

    @contextmanager
    def wrong_password() -> Iterator[SmtpSettings]:
        with smtp_server("plain", auth=(USER, "anderes")) as s:
            yield s.settings(user=USER, password=PASSWORD)

    @contextmanager
    def untrusted() -> Iterator[SmtpSettings]:
        with smtp_server("starttls", ca=ca) as s:
            yield s.settings(user=USER, password=PASSWORD)

    @contextmanager
    def refused() -> Iterator[SmtpSettings]:
        with refused_port() as port:
            yield SmtpSettings(
                host="127.0.0.1", port=port, security="none", user=USER,
                password=Secret(PASSWORD), sender="a@b.example",
            )  # fmt: skip

    @contextmanager
    def no_auth() -> Iterator[SmtpSettings]:
        with smtp_server("plain") as s:
            yield s.settings(user=USER, password=PASSWORD)

    return [wrong_password, untrusted, refused, no_auth]


def test_password_never_in_any_error(ca: CertAuthority) -> None:
    for scenario in _failing_scenarios(ca):
        with scenario() as settings:
            with pytest.raises(MailError) as info:
                send_mail(settings, TO, SUBJECT, BODY)
            assert_no_password(info.value)
            result = deliver_alert(settings, TO, Mail("s", "b", "failure"))
            assert result is not None and PASSWORD not in result


# --- deliver_alert: never raises -------------------------------------------------------------


MAIL = Mail(subject="buchex: Export „Kiel“ fehlgeschlagen", body="Grund: Zeitüberschreitung\n",
            kind="failure")  # fmt: skip


def test_deliver_alert_sends_to_several_addresses(plain: RunningServer) -> None:
    assert deliver_alert(plain.settings(), "a@x.example, b@x.example", MAIL) is None
    (got,) = plain.wait_for(1)
    assert got.rcpt_tos == ["a@x.example", "b@x.example"]
    assert got.message["Subject"] == MAIL.subject
    assert got.message.get_content() == MAIL.body


def test_deliver_alert_without_settings_or_address(plain: RunningServer) -> None:
    assert deliver_alert(None, TO, MAIL) == "kein SMTP-Server eingerichtet"
    assert deliver_alert(SmtpSettings(), TO, MAIL) == "kein SMTP-Server eingerichtet"
    assert deliver_alert(plain.settings(), None, MAIL) == "keine E-Mail-Adresse hinterlegt"
    assert deliver_alert(plain.settings(), "", MAIL) == "keine E-Mail-Adresse hinterlegt"
    assert deliver_alert(plain.settings(), " , ", MAIL) == "keine E-Mail-Adresse hinterlegt"
    assert not plain.messages


def test_deliver_alert_returns_the_reason_instead_of_raising() -> None:
    with refused_port() as port:
        settings = SmtpSettings(host="127.0.0.1", port=port, security="none", sender="a@b.example")
        result = deliver_alert(settings, TO, MAIL)
    # The German sentence of engine.explain (issue 14): server, port and what to check.
    assert result is not None
    assert result.startswith(f"Der SMTP-Server 127.0.0.1 hat die Verbindung auf Port {port}")
    assert "Firewall" in result
    unknown = SmtpSettings(host="smtp.nirgends.invalid", sender="a@b.example", timeout=5)
    assert "„smtp.nirgends.invalid“" in (deliver_alert(unknown, TO, MAIL) or "")
    no_sender = SmtpSettings(host="127.0.0.1")
    assert "kein Absender eingerichtet" in (deliver_alert(no_sender, TO, MAIL) or "")


def test_deliver_alert_scrubs_secrets_from_the_mail(plain: RunningServer) -> None:
    settings = plain.settings(password=PASSWORD)
    mail = Mail(
        subject=f"Fehler mit {PASSWORD}",
        body=f"ftp://kanzlei:ftp-geheim@host/ und {PASSWORD}\n",
        kind="failure",
    )
    assert deliver_alert(settings, TO, mail, secrets=["ftp-geheim"]) is None
    (got,) = plain.wait_for(1)
    assert PASSWORD not in got.message["Subject"]
    assert "ftp-geheim" not in got.message.get_content()
    assert PASSWORD not in got.message.get_content()
    assert "********" in got.message.get_content()
