"""engine.explain: every transport and mail failure as a German sentence that names the
server, the user and the folder as configured and says what to check (issue 14, defect 6).

The table tests introspect `Reason` and scan the sources for the reasons raised as literal
strings, so a new reason without an explanation fails here. The last part explains errors
raised by the real transports and the real mailer against the test servers on 127.0.0.1.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import FIELDS_BY_PATH, Target
from engine.errors import (
    ChangedHostKey,
    HostKeyNotConfirmed,
    MailError,
    Reason,
    Step,
    TransportError,
    UnknownHostKey,
)
from engine.explain import (
    CA_FILE_UNREADABLE,
    FOLDER_PREFIX,
    MAIL_RULES,
    MAIL_STEP,
    MASK,
    NOT_A_DIRECTORY,
    TRANSPORT_FALLBACK,
    TRANSPORT_RULES,
    Detail,
    Explanation,
    explain_mail,
    explain_transport,
)
from engine.fields import Secret
from engine.settings import SmtpSettings
from tests.servers import (
    FTPServer,
    SFTPServer,
    ftp_server,
    make_ssh_key,
    paramiko_sftp_server,
    refused_port,
    silent_listener,
)

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Geheim-Passwort-123"
SERVER_TEXT = "550 Permission denied."
SECTION = FIELDS_BY_PATH["target.host"].section

ALL_STEPS = sorted(v for k, v in vars(Step).items() if k.isupper() and isinstance(v, str))
ALL_REASONS = sorted(v for k, v in vars(Reason).items() if k.isupper() and isinstance(v, str))
# Reasons whose `detail` is our own value and goes into the sentence, not a server text.
DETAIL_IN_SENTENCE = {
    Reason.CONFIG,
    Reason.HOST_KEY_UNKNOWN,
    Reason.HOST_KEY_CHANGED,
    Reason.HOST_KEY_NOT_CONFIRMED,
    Reason.HOST_KEY_REVOKED,
    NOT_A_DIRECTORY,
}

pytestmark = pytest.mark.filterwarnings("ignore:The (asyncore|asynchat) module:DeprecationWarning")


def ftp_target(**changes: object) -> Target:
    base = Target(
        protocol="ftp",
        host="ftp.kanzlei.example",
        port=None,
        user="kanzlei",
        password=Secret(PASSWORD),
        directory="export/buchex",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def sftp_target(**changes: object) -> Target:
    return ftp_target(protocol="sftp", host="sftp.kanzlei.example", port=2222, **changes)


def smtp(**changes: object) -> SmtpSettings:
    base = SmtpSettings(
        host="smtp.kanzlei.example",
        port=None,
        security="starttls",
        user="buchex@kanzlei.example",
        password=Secret("Mail-Geheim-456"),
        sender="buchex@kanzlei.example",
        timeout=30,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def error(step: str, reason: str, detail: str = SERVER_TEXT) -> TransportError:
    return TransportError(step, reason, detail=detail)


# -- the table covers every reason ----------------------------------------------------


def test_every_reason_constant_has_an_explanation_for_any_step() -> None:
    assert len(ALL_REASONS) >= 29
    missing = [r for r in ALL_REASONS if (None, r) not in TRANSPORT_RULES]
    assert missing == [], f"Reason ohne Erklärung in engine/explain.py: {missing}"


def test_step_specific_rows_use_real_steps_and_reasons() -> None:
    for step, reason in TRANSPORT_RULES:
        assert step is None or step in ALL_STEPS
        assert reason in ALL_REASONS or (None, reason) in TRANSPORT_RULES


def _calls(paths: list[Path], name: str) -> list[ast.Call]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if called == name:
                    found.append(node)
    return found


def test_reasons_the_transports_raise_as_plain_strings_have_explanations() -> None:
    """`TransportError(step, "literal")`: reasons outside `Reason` need a row too."""
    literals: set[str] = set()
    for call in _calls(sorted((ROOT / "engine").rglob("*.py")), "TransportError"):
        if len(call.args) >= 2 and isinstance(call.args[1], ast.Constant):
            assert isinstance(call.args[1].value, str)
            literals.add(call.args[1].value)
    assert CA_FILE_UNREADABLE in literals  # the scan works
    missing = sorted(r for r in literals if (None, r) not in TRANSPORT_RULES)
    assert missing == [], f"Grund ohne Erklärung in engine/explain.py: {missing}"


def test_every_mail_reason_the_code_raises_has_an_explanation() -> None:
    reasons: set[str] = set()
    for call in _calls(sorted((ROOT / "engine").rglob("*.py")), "MailError"):
        if call.args and isinstance(call.args[0], ast.Constant):
            assert isinstance(call.args[0].value, str)
            reasons.add(call.args[0].value)
    assert {"Anmeldung abgelehnt", "Empfänger abgelehnt", "Zeitüberschreitung"} <= reasons
    missing = sorted(reasons - set(MAIL_RULES))
    assert missing == [], f"MailError-Grund ohne Erklärung in engine/explain.py: {missing}"


def test_templates_only_use_names_the_context_has() -> None:
    """Formatting every row must not raise KeyError (the property tests below do it for
    every step × reason; this one names the broken row)."""
    target = sftp_target(key_file="/etc/buchex/id_ed25519")
    for (step, reason), _rule in TRANSPORT_RULES.items():
        explain_transport(error(step or Step.UPLOAD, reason), target)
    for reason in MAIL_RULES:
        explain_mail(MailError(reason, "x"), smtp())


# -- properties over every step × reason ----------------------------------------------


@pytest.mark.parametrize("reason", ALL_REASONS)
@pytest.mark.parametrize("step", ALL_STEPS)
def test_every_step_and_reason_names_the_server_and_keeps_server_text_apart(
    step: str, reason: str
) -> None:
    target = ftp_target(port=2121)
    explained = explain_transport(error(step, reason), target)
    assert explained.step == step
    assert "ftp.kanzlei.example" in explained.sentence
    assert "2121" in explained.sentence
    if reason in DETAIL_IN_SENTENCE:  # our own value (a label, a fingerprint), not the server's
        assert explained.detail == ""
    else:
        assert "Permission denied" not in explained.sentence
        assert explained.detail in (SERVER_TEXT, "")
    assert PASSWORD not in explained.text
    assert explained.sentence.endswith(".")
    assert "\n" not in explained.text
    assert "{" not in explained.sentence  # no template name left unfilled


@pytest.mark.parametrize("reason", sorted(MAIL_RULES))
def test_every_mail_reason_keeps_server_text_apart_and_no_password(reason: str) -> None:
    settings = smtp()
    detail = "535 5.7.8 Authentication failed: Mail-Geheim-456"
    explained = explain_mail(MailError(reason, detail), settings)
    assert explained.step == MAIL_STEP
    assert "Authentication failed" not in explained.sentence
    assert "Mail-Geheim-456" not in explained.text
    assert explained.detail in ("", f"535 5.7.8 Authentication failed: {MASK}")
    if MAIL_RULES[reason].detail is not Detail.DROP:
        assert explained.detail
    if "eingerichtet" not in reason and "E-Mail-Adresse" not in reason:
        assert "smtp.kanzlei.example" in explained.sentence
        assert "587" in explained.sentence


def test_text_is_step_sentence_and_server_detail() -> None:
    with_detail = Explanation("Anmelden", "Satz.", "530 Login incorrect.")
    assert with_detail.text == "Anmelden: Satz. – Server: 530 Login incorrect."
    assert Explanation("Anmelden", "Satz.").text == "Anmelden: Satz."
    with pytest.raises(dataclasses.FrozenInstanceError):
        with_detail.step = "x"  # type: ignore[misc]


# -- row classes: what each sentence must name -----------------------------------------


def test_login_refused_names_server_port_and_user_and_what_to_check() -> None:
    err = error(Step.LOGIN, Reason.LOGIN_REFUSED, "530 Authentication failed.")
    explained = explain_transport(err, ftp_target())
    assert explained.sentence == (
        "Der Server ftp.kanzlei.example:21 hat die Anmeldung als „kanzlei“ abgelehnt. "
        "Benutzername und Passwort in der Schnittstelle prüfen "
        f"(Abschnitt {SECTION}) oder beim Betreiber des Servers nachfragen."
    )
    assert explained.detail == "530 Authentication failed."
    assert explained.text == (
        f"Anmelden: {explained.sentence} – Server: 530 Authentication failed."
    )


def test_sftp_login_with_a_key_file_names_the_key_file() -> None:
    target = sftp_target(key_file="/etc/buchex/id_ed25519")
    explained = explain_transport(error(Step.LOGIN, Reason.LOGIN_REFUSED, ""), target)
    assert "sftp.kanzlei.example:2222" in explained.sentence
    assert "„kanzlei“" in explained.sentence
    assert "Schlüsseldatei „/etc/buchex/id_ed25519“" in explained.sentence
    assert explained.detail == ""


def test_no_write_names_the_folder_and_the_user() -> None:
    folder = "/home/kanzlei/export/buchex/Automatischer_Buchhaltungsexport_2026-03-14"
    err = error(Step.DIRECTORY, Reason.NO_WRITE)
    explained = explain_transport(err, ftp_target(), folder=folder)
    assert f"„{folder}“" in explained.sentence
    assert "„kanzlei“" in explained.sentence
    assert "„export/buchex“" in explained.sentence  # the configured Verzeichnis, to fix it
    assert "Schreibrechte" in explained.sentence
    assert explained.detail == SERVER_TEXT
    for step in (Step.UPLOAD, Step.WRITE, Step.RENAME, Step.DELETE):
        sentence = explain_transport(error(step, Reason.NO_WRITE), ftp_target(), folder=folder)
        assert f"„{folder}“" in sentence.sentence and "„kanzlei“" in sentence.sentence


@pytest.mark.parametrize(
    ("directory", "data_interface", "named"),
    [
        ("export/buchex", False, f"„export/buchex/{FOLDER_PREFIX}JJJJ-MM-TT“"),
        ("export/buchex/", True, "„export/buchex“"),
        ("/srv/import", True, "„/srv/import“"),
        (None, False, f"„{FOLDER_PREFIX}JJJJ-MM-TT“"),
        (None, True, "im Anmeldeverzeichnis"),
    ],
)
def test_no_write_without_folder_names_the_configured_one(
    directory: str | None, data_interface: bool, named: str
) -> None:
    target = ftp_target(directory=directory, data_interface=data_interface)
    explained = explain_transport(error(Step.UPLOAD, Reason.NO_WRITE), target)
    assert named in explained.sentence
    assert "„kanzlei“" in explained.sentence


@pytest.mark.parametrize(
    ("directory", "data_interface"),
    [(None, False), (None, True), ("a/b", False), ("a/b/", True), ("/", False), ("/x", True)],
)
def test_configured_folder_follows_the_transports_rule(
    directory: str | None, data_interface: bool
) -> None:
    from engine.explain import _configured_folder
    from engine.transports import FOLDER_PREFIX as TRANSPORT_PREFIX
    from engine.transports import remote_folder

    assert FOLDER_PREFIX == TRANSPORT_PREFIX
    target = ftp_target(directory=directory, data_interface=data_interface)
    expected = remote_folder(target, dt.date(2026, 3, 14)).replace("2026-03-14", "JJJJ-MM-TT")
    assert _configured_folder((directory or "").strip(), data_interface) == expected


def test_connect_timeout_names_host_port_and_what_to_check() -> None:
    explained = explain_transport(error(Step.CONNECT, Reason.TIMEOUT, ""), ftp_target(port=990))
    assert "ftp.kanzlei.example:990" in explained.sentence
    for word in ("Firewall", "Server läuft", "Port 990"):
        assert word in explained.sentence


def test_name_not_found_names_the_host() -> None:
    err = error(Step.CONNECT, Reason.NAME_NOT_FOUND, "")
    explained = explain_transport(err, ftp_target(host="ftp.kanzlei.exmaple"))
    assert "„ftp.kanzlei.exmaple“" in explained.sentence
    assert "Tippfehler" in explained.sentence


def test_refused_names_the_port_and_the_service() -> None:
    explained = explain_transport(error(Step.CONNECT, Reason.REFUSED, ""), sftp_target())
    assert "Port 2222" in explained.sentence
    assert "SFTP-Dienst" in explained.sentence


@pytest.mark.parametrize("reason", [Reason.TLS_FAILED, Reason.NO_TLS, Reason.CERT_UNTRUSTED])
def test_tls_failures_point_at_the_ftps_settings(reason: str) -> None:
    explained = explain_transport(error(Step.CONNECT, reason), ftp_target(protocol="ftps"))
    assert "FTPS" in explained.sentence
    assert f"Abschnitt {SECTION}" in explained.sentence


def test_untrusted_certificate_names_its_fingerprint_and_the_check_used() -> None:
    fp = ":".join(["AB"] * 32)
    detail = f"self-signed certificate; Fingerabdruck SHA-256 {fp}"
    err = error(Step.CERTIFICATE, Reason.CERT_UNTRUSTED, detail)
    explained = explain_transport(err, ftp_target(protocol="ftps"))
    assert fp in explained.sentence
    assert "Zertifizierungsstellen" in explained.sentence
    assert explained.detail == detail
    pinned = ftp_target(protocol="ftps", tls_fingerprint="ab" * 32)
    assert "hinterlegten Zertifikat-Fingerabdruck" in explain_transport(err, pinned).sentence
    with_ca = ftp_target(protocol="ftps", tls_ca_file="/etc/buchex/ca.pem")
    assert "„/etc/buchex/ca.pem“" in explain_transport(err, with_ca).sentence


def test_unknown_host_key_names_the_fingerprint_and_both_ways_to_trust_it() -> None:
    err = UnknownHostKey("SHA256:n3wKeyn3wKey", key_type="ssh-ed25519", host="[h]:2222")
    explained = explain_transport(err, sftp_target(), config_id="kiel-taeglich")
    assert explained.step == Step.HOST_KEY
    assert "ssh-ed25519 SHA256:n3wKeyn3wKey" in explained.sentence
    assert "sftp.kanzlei.example:2222" in explained.sentence
    assert "Verbindungstest → Vertrauen" in explained.sentence
    assert "„buchex test kiel-taeglich --trust SHA256:n3wKeyn3wKey“" in explained.sentence
    assert "Betreiber" in explained.sentence
    assert explained.detail == ""  # the fingerprint is in the sentence already


def test_changed_host_key_names_both_keys_and_says_it_may_be_an_attack() -> None:
    err = ChangedHostKey("ssh-ed25519 SHA256:oldOLDold", "ssh-ed25519 SHA256:newNEWnew")
    explained = explain_transport(err, sftp_target(), config_id="k1")
    for part in ("SHA256:oldOLDold", "SHA256:newNEWnew", "Angriff", "Betreiber"):
        assert part in explained.sentence
    assert "Verbindungstest → Schlüssel ersetzen" in explained.sentence
    assert "„buchex test k1 --replace-key SHA256:newNEWnew“" in explained.sentence


def test_host_key_not_confirmed_names_the_confirmed_and_the_shown_key() -> None:
    err = HostKeyNotConfirmed("SHA256:confirmed", "SHA256:shownNow", key_type="ssh-ed25519")
    explained = explain_transport(err, sftp_target())
    assert "SHA256:confirmed" in explained.sentence
    assert "SHA256:shownNow" in explained.sentence
    assert "buchex test ID --trust SHA256:shownNow" in explained.sentence


@pytest.mark.parametrize(
    "err",
    [
        UnknownHostKey("SHA256:shownNow", key_type="ssh-ed25519"),
        ChangedHostKey("ssh-ed25519 SHA256:storedOld", "ssh-ed25519 SHA256:shownNow"),
        HostKeyNotConfirmed("SHA256:confirmed", "SHA256:shownNow", key_type="ssh-ed25519"),
    ],
    ids=["unknown", "changed", "not-confirmed"],
)
def test_host_key_errors_read_back_as_plain_errors_say_the_same(err: TransportError) -> None:
    """A run record keeps step, reason and detail only: the sentence must not change."""
    plain = TransportError(err.step, err.reason, detail=err.detail)
    assert explain_transport(plain, sftp_target()) == explain_transport(err, sftp_target())


def test_revoked_host_key_names_the_fingerprint() -> None:
    err = error(Step.HOST_KEY, Reason.HOST_KEY_REVOKED, "SHA256:revokedKey")
    explained = explain_transport(err, sftp_target())
    assert "SHA256:revokedKey" in explained.sentence
    assert explained.detail == ""


@pytest.mark.parametrize(
    ("step", "reason", "words"),
    [
        (Step.UPLOAD, Reason.DISK_FULL, ["kein Platz", "„kanzlei“", "Betreiber"]),
        (Step.VERIFY, Reason.SIZE_MISMATCH, ["nicht vollständig", "erneut"]),
        (Step.LOGIN, Reason.KEY_FILE, ["„/etc/buchex/id_ed25519“", "Dateirechte"]),
        (Step.LOGIN, Reason.KEY_FILE_PASSWORD, ["„/etc/buchex/id_ed25519“", "Kennwort"]),
        (Step.LOGIN, Reason.PASSWORD_UNREADABLE, ["secret.key", "neu eingeben"]),
        (Step.CONNECT, Reason.NOT_SSH, ["SFTP verwenden", "Port"]),
        (Step.CONNECT, Reason.NO_COMMON_ALGORITHM, ["Verfahren", "Betreiber"]),
        (Step.UPLOAD, Reason.CUT, ["„Hochladen“", "erneut"]),
        (Step.RENAME, Reason.SERVER_REFUSED, ["„Umbenennen“", "„kanzlei“"]),
        (Step.UPLOAD, Reason.SERVER_ERROR, ["„Hochladen“", "erneut"]),
        (Step.VERIFY, Reason.PROTOCOL, ["„Prüfen“", "Protokoll"]),
        (Step.DIRECTORY, Reason.CLOSED, ["„Verzeichnis“"]),
        (Step.UPLOAD, Reason.LOCAL_FILE, ["Datenverzeichnis"]),
        (Step.DIRECTORY, Reason.NOT_FOUND, ["„kanzlei“", "export/buchex"]),
        (Step.CONNECT, Reason.UNREACHABLE, ["Firewall"]),
        (Step.CONNECT, Reason.NAME_LOOKUP_FAILED, ["DNS"]),
    ],
)
def test_row_names_what_it_must(step: str, reason: str, words: list[str]) -> None:
    target = sftp_target(key_file="/etc/buchex/id_ed25519")
    explained = explain_transport(error(step, reason), target)
    assert "sftp.kanzlei.example" in explained.sentence and "2222" in explained.sentence
    for word in words:
        assert word in explained.sentence, (word, explained.sentence)


def test_config_missing_names_the_field_in_the_sentence() -> None:
    err = error(Step.CONNECT, Reason.CONFIG, "Benutzer")
    explained = explain_transport(err, ftp_target(user=None))
    assert "„Benutzer“" in explained.sentence
    assert f"Abschnitt {SECTION}" in explained.sentence
    assert explained.detail == ""


def test_a_path_that_is_a_file_is_named() -> None:
    err = error(Step.DIRECTORY, NOT_A_DIRECTORY, "/export/buchex")
    explained = explain_transport(err, sftp_target())
    assert "„/export/buchex“ eine Datei" in explained.sentence


def test_an_unmapped_reason_still_names_server_and_keeps_the_reason() -> None:
    err = error("Archivieren", "Archiv voll", "452 archive full")
    explained = explain_transport(err, ftp_target(port=2121))
    assert TRANSPORT_FALLBACK.sentence.startswith("Der Schritt")
    assert explained.step == "Archivieren"
    assert "ftp.kanzlei.example:2121" in explained.sentence
    assert "Archiv voll" in explained.sentence
    assert explained.detail == "452 archive full"


def test_an_ipv6_host_is_shown_in_brackets() -> None:
    explained = explain_transport(error(Step.CONNECT, Reason.TIMEOUT, ""), ftp_target(host="::1"))
    assert "[::1]:21" in explained.sentence


def test_missing_host_still_gives_a_sentence() -> None:
    explained = explain_transport(error(Step.CONNECT, Reason.CONFIG, "FTP Hostname"), Target())
    assert "„FTP Hostname“" in explained.sentence
    assert ":21" in explained.sentence


# -- secrets ---------------------------------------------------------------------------


def test_no_password_and_no_url_password_reaches_the_text() -> None:
    detail = (
        f"530 PASS {PASSWORD} rejected; see ftp://kanzlei:{PASSWORD}@ftp.kanzlei.example/ "
        "and postgresql://buchex:db-Geheim@db.example/ledger"
    )
    for reason in ALL_REASONS:
        explained = explain_transport(error(Step.LOGIN, reason, detail), ftp_target())
        assert PASSWORD not in explained.text
        assert "db-Geheim" not in explained.text
    explained = explain_transport(error(Step.LOGIN, Reason.LOGIN_REFUSED, detail), ftp_target())
    assert f"postgresql://buchex:{MASK}@db.example" in explained.detail


def test_a_password_typed_into_another_field_is_masked_too() -> None:
    target = ftp_target(directory=f"export/{PASSWORD}")
    explained = explain_transport(error(Step.DIRECTORY, Reason.NO_WRITE), target)
    assert PASSWORD not in explained.text
    assert MASK in explained.sentence


def test_an_encrypted_password_is_not_decrypted() -> None:
    def decrypt(token: str) -> str:
        raise AssertionError("explain must not decrypt")

    target = ftp_target(password=Secret.encrypted("enc:abc", decrypt))
    explained = explain_transport(error(Step.LOGIN, Reason.LOGIN_REFUSED), target)
    assert "„kanzlei“" in explained.sentence


def test_mail_password_is_masked() -> None:
    err = MailError("Anmeldung abgelehnt", "535 bad credentials for Mail-Geheim-456")
    explained = explain_mail(err, smtp())
    assert "Mail-Geheim-456" not in explained.text
    assert explained.detail == f"535 bad credentials for {MASK}"


# -- mail rows -------------------------------------------------------------------------


def test_mail_login_refused_names_server_and_user() -> None:
    err = MailError("Anmeldung abgelehnt", "535 5.7.8 Authentication failed")
    explained = explain_mail(err, smtp())
    assert explained.sentence.startswith(
        "Der SMTP-Server smtp.kanzlei.example:587 hat die Anmeldung als "
        "„buchex@kanzlei.example“ abgelehnt."
    )
    assert "Abschnitt SMTP Postausgangsserver" in explained.sentence
    assert explained.detail == "535 5.7.8 Authentication failed"


@pytest.mark.parametrize(
    ("reason", "detail", "words", "kept"),
    [
        ("Zeitüberschreitung", "h:587, keine Antwort nach 30 Sekunden", ["30 Sekunden"], ""),
        ("Verbindung abgelehnt", "smtp.kanzlei.example:587", ["Port 587"], ""),
        ("Name nicht gefunden", "smtp.kanzlei.example", ["„smtp.kanzlei.example“"], ""),
        (
            "TLS-Verbindung fehlgeschlagen",
            "smtp.kanzlei.example:587 – passen Port und Verschlüsselung zusammen?",
            ["„STARTTLS“", "465"],
            "",
        ),
        (
            "TLS-Zertifikat nicht vertrauenswürdig",
            "smtp.kanzlei.example:587: selbst signiert",
            ["Zertifikat"],
            "selbst signiert",
        ),
        (
            "Empfänger abgelehnt",
            "x@y.example: 550 5.1.1 User unknown",
            ["Empfänger", "Tippfehler"],
            "x@y.example: 550 5.1.1 User unknown",
        ),
        (
            "Absender abgelehnt",
            "a@b: 553 not owned",
            ["„buchex@kanzlei.example“"],
            "a@b: 553 not owned",
        ),
        ("Server bietet keine Anmeldung an", "smtp.kanzlei.example:587 – …", ["STARTTLS"], ""),
        (
            "Netzwerkfehler",
            "smtp.kanzlei.example:587: Network is down",
            ["Netzwerk"],
            "Network is down",
        ),
    ],
)
def test_mail_rows(reason: str, detail: str, words: list[str], kept: str) -> None:
    explained = explain_mail(MailError(reason, detail), smtp())
    for word in words:
        assert word in explained.sentence, (word, explained.sentence)
    assert explained.detail == kept


def test_unmapped_mail_reason_keeps_reason_and_server() -> None:
    explained = explain_mail(MailError("Postfach voll", "552 mailbox full"), smtp(port=2525))
    assert "smtp.kanzlei.example:2525" in explained.sentence
    assert "Postfach voll" in explained.sentence
    assert explained.detail == "552 mailbox full"


def test_missing_smtp_server_says_where_to_set_it() -> None:
    explained = explain_mail(MailError("kein SMTP-Server eingerichtet"), SmtpSettings())
    assert "SMTP Postausgangsserver" in explained.sentence
    assert explained.detail == ""


# -- purity ----------------------------------------------------------------------------


def test_the_module_loads_no_transport_mailer_or_network_library() -> None:
    code = (
        "import sys, engine.explain\n"
        "bad = [m for m in sys.modules if m.startswith(('engine.transports', 'engine.mailer',"
        " 'engine.runner', 'engine.store', 'paramiko', 'ftplib', 'smtplib', 'ssl', 'textual'))]\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# -- real errors from the real transports and mailer -----------------------------------

RUN_DATE = dt.date(2026, 3, 14)


@pytest.fixture
def ftp_root(tmp_path: Path) -> Path:
    root = tmp_path / "ftp"
    root.mkdir()
    return root


def _ftp_target(server: FTPServer, **changes: object) -> Target:
    target = Target(
        protocol="ftp",
        host=server.host,
        port=server.port,
        user=server.user,
        password=Secret(server.password),
    )
    return dataclasses.replace(target, **changes)  # type: ignore[arg-type]


def _connect_error(target: Target, tmp_path: Path, timeout: float = 5) -> TransportError:
    from engine.transports import open_transport

    with pytest.raises(TransportError) as info:
        open_transport(target, known_hosts=tmp_path / "known_hosts", timeout=timeout)
    return info.value


def test_real_wrong_ftp_password(ftp_root: Path, tmp_path: Path) -> None:
    with ftp_server(ftp_root) as server:
        target = dataclasses.replace(_ftp_target(server), password=Secret("falsch-Passwort"))
        err = _connect_error(target, tmp_path)
    explained = explain_transport(err, target)
    assert explained.step == Step.LOGIN
    assert explained.sentence.startswith(
        f"Der Server 127.0.0.1:{server.port} hat die Anmeldung als „kanzlei“ abgelehnt."
    )
    assert explained.detail.startswith("530")  # pyftpdlib's English text, only here
    assert not any(w in explained.sentence for w in ("Authentication", "failed", "530"))
    assert "falsch-Passwort" not in explained.text


def test_real_ftp_without_write_permission_names_folder_and_user(
    ftp_root: Path, tmp_path: Path
) -> None:
    from engine.transports import open_transport, remote_folder

    with ftp_server(ftp_root, perm="elr") as server:
        target = _ftp_target(server, directory="export")
        (ftp_root / "export").mkdir()
        folder = remote_folder(target, RUN_DATE)
        with (
            open_transport(target, known_hosts=tmp_path / "kh", timeout=5) as transport,
            pytest.raises(TransportError) as info,
        ):
            transport.ensure_directory(folder)
    explained = explain_transport(info.value, target, folder=folder)
    assert explained.step == Step.DIRECTORY
    assert f"„{folder}“" in explained.sentence
    assert "„kanzlei“" in explained.sentence
    assert "„export“" in explained.sentence
    assert explained.detail.startswith("550")


def test_real_refused_port_and_unknown_name(tmp_path: Path) -> None:
    port = refused_port()
    target = Target(host="127.0.0.1", port=port, user="u", password=Secret("p-secret"))
    explained = explain_transport(_connect_error(target, tmp_path), target)
    assert (explained.step, explained.detail) == (Step.CONNECT, "")
    assert f"Port {port}" in explained.sentence
    target = Target(host="buchex-test.invalid", port=21, user="u", password=Secret("p-secret"))
    explained = explain_transport(_connect_error(target, tmp_path), target)
    assert "„buchex-test.invalid“" in explained.sentence


def test_real_silent_server_times_out(tmp_path: Path) -> None:
    with silent_listener() as port:
        target = Target(host="127.0.0.1", port=port, user="u", password=Secret("p-secret"))
        err = _connect_error(target, tmp_path, timeout=0.3)
    explained = explain_transport(err, target)
    assert f"127.0.0.1:{port}" in explained.sentence
    assert "Firewall" in explained.sentence


@pytest.fixture
def sftp_server(tmp_path: Path) -> Iterator[SFTPServer]:
    with paramiko_sftp_server(tmp_path / "sftp") as server:
        yield server


def test_real_unknown_and_changed_sftp_host_key(sftp_server: SFTPServer, tmp_path: Path) -> None:
    from engine.transports import KnownHosts

    server = sftp_server
    target = Target(
        protocol="sftp",
        host=server.host,
        port=server.port,
        user=server.user,
        key_file=str(server.client_key.private_file),
    )
    known_hosts = tmp_path / "known_hosts"
    err = _connect_error(target, tmp_path)
    assert isinstance(err, UnknownHostKey)
    explained = explain_transport(err, target, config_id="k1")
    fingerprint = server.host_key.fingerprint
    assert f"--trust {fingerprint}“" in explained.sentence
    assert f"{server.host}:{server.port}" in explained.sentence

    other = make_ssh_key(tmp_path / "other_key")
    KnownHosts(known_hosts).add(server.host, server.port, "ssh-ed25519", other.blob)
    err = _connect_error(target, tmp_path)
    assert isinstance(err, ChangedHostKey)
    explained = explain_transport(err, target)
    assert other.fingerprint in explained.sentence
    assert fingerprint in explained.sentence
    assert "Angriff" in explained.sentence


def test_real_mail_errors() -> None:
    from engine.mailer import send_mail
    from tests.smtp_server import refused_port as smtp_refused_port
    from tests.smtp_server import smtp_server

    with smtp_server("plain", auth=("buchex", "Richtig-Passwort-1")) as server:
        settings = server.settings(user="buchex", password="Falsch-Passwort-2")
        with pytest.raises(MailError) as info:
            send_mail(settings, "a@b.example", "Test", "x")
    explained = explain_mail(info.value, settings)
    assert explained.sentence.startswith(
        f"Der SMTP-Server 127.0.0.1:{settings.port} hat die Anmeldung als „buchex“ abgelehnt."
    )
    assert explained.detail.startswith("535")
    assert "Falsch-Passwort-2" not in explained.text

    with smtp_refused_port() as port:
        settings = SmtpSettings(
            host="127.0.0.1", port=port, security="none", sender="a@b.example", timeout=5
        )
        with pytest.raises(MailError) as info:
            send_mail(settings, "x@y.example", "Test", "x")
    explained = explain_mail(info.value, settings)
    assert f"Port {port}" in explained.sentence
    assert explained.detail == ""
