"""FTP and FTPS delivery against real pyftpdlib servers on 127.0.0.1 (tests/servers.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ftplib
import io
import os
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import Target
from engine.fields import Secret
from engine.transports import (
    Reason,
    Step,
    TransportError,
    open_transport,
    remote_folder,
    temp_name,
    test_connection,
)
from engine.transports.ftp import FTPTransport
from tests.servers import (
    FTPServer,
    ftp_server,
    make_certificate,
    refused_port,
    silent_listener,
)

RUN_DATE = dt.date(2026, 3, 14)
DATED = "Automatischer_Buchhaltungsexport_2026-03-14"
# pyftpdlib 2 still imports asyncore/asynchat
pytestmark = pytest.mark.filterwarnings("ignore:The (asyncore|asynchat) module:DeprecationWarning")


def make_target(server: FTPServer, **changes: object) -> Target:
    base = Target(
        host=server.host,
        port=server.port,
        user=server.user,
        password=Secret(server.password),
        protocol="ftps" if server.certificate else "ftp",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def deliver(target: Target, tmp_path: Path, data: bytes, name: str = "EXTF_Buchungen.csv") -> str:
    """The delivery as a run does it; returns the remote path."""
    local = tmp_path / "out" / name
    local.parent.mkdir(exist_ok=True)
    local.write_bytes(data)
    with open_transport(target, known_hosts=tmp_path / "known_hosts", timeout=5) as transport:
        folder = transport.ensure_directory(remote_folder(target, RUN_DATE))
        result = transport.upload_atomic(local, folder, name)
    assert result.size == len(data)
    return result.remote_path


def shown(fingerprint: str) -> str:
    """How messages show a certificate fingerprint: AB:CD:…."""
    return ":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2)).upper()


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "ftproot"
    path.mkdir()
    return path


@pytest.fixture
def ftp(root: Path) -> Iterator[FTPServer]:
    with ftp_server(root) as server:
        yield server


# -- the remote folder rule (SPEC §2) --------------------------------------------------


@pytest.mark.parametrize(
    ("directory", "data_interface", "expected"),
    [
        (None, False, DATED),
        ("", False, DATED),
        (None, True, "."),
        ("export", False, f"export/{DATED}"),
        ("export/buchex/", False, f"export/buchex/{DATED}"),
        ("/srv/in", False, f"/srv/in/{DATED}"),
        ("export/buchex", True, "export/buchex"),
        ("/", False, f"/{DATED}"),
        ("/", True, "/"),
    ],
)
def test_remote_folder_rule(directory: str | None, data_interface: bool, expected: str) -> None:
    target = Target(host="h", user="u", directory=directory, data_interface=data_interface)
    assert remote_folder(target, RUN_DATE) == expected


# -- delivery -------------------------------------------------------------------------


def test_upload_lands_under_final_name_in_dated_folder_without_temp_file(
    ftp: FTPServer, root: Path, tmp_path: Path
) -> None:
    data = os.urandom(1_500_000)
    remote = deliver(make_target(ftp), tmp_path, data)
    assert remote == f"/{DATED}/EXTF_Buchungen.csv"
    assert (root / DATED / "EXTF_Buchungen.csv").read_bytes() == data
    assert files_under(root) == [f"{DATED}/EXTF_Buchungen.csv"]


def test_nested_directory_is_created_one_folder_at_a_time(
    ftp: FTPServer, root: Path, tmp_path: Path
) -> None:
    target = make_target(ftp, directory="export/buchex/filiale-kiel")
    deliver(target, tmp_path, b"1;2;3\r\n")
    assert (root / "export/buchex/filiale-kiel" / DATED / "EXTF_Buchungen.csv").is_file()


def test_existing_folders_are_reused(ftp: FTPServer, root: Path, tmp_path: Path) -> None:
    (root / "export" / DATED).mkdir(parents=True)
    (root / "export" / DATED / "other.csv").write_bytes(b"keep")
    deliver(make_target(ftp, directory="export"), tmp_path, b"new")
    assert files_under(root) == [f"export/{DATED}/EXTF_Buchungen.csv", f"export/{DATED}/other.csv"]


def test_data_interface_writes_straight_into_directory(
    ftp: FTPServer, root: Path, tmp_path: Path
) -> None:
    deliver(make_target(ftp, directory="import", data_interface=True), tmp_path, b"x")
    assert files_under(root) == ["import/EXTF_Buchungen.csv"]


def test_data_interface_without_directory_writes_into_login_directory(
    ftp: FTPServer, root: Path, tmp_path: Path
) -> None:
    deliver(make_target(ftp, data_interface=True), tmp_path, b"x")
    assert files_under(root) == ["EXTF_Buchungen.csv"]


@pytest.mark.parametrize("refuse_overwrite", [False, True])
def test_upload_replaces_an_existing_final_file(
    root: Path, tmp_path: Path, refuse_overwrite: bool
) -> None:
    (root / "EXTF_Buchungen.csv").write_bytes(b"old content, longer than the new one")
    with ftp_server(root, refuse_overwrite=refuse_overwrite) as server:
        deliver(make_target(server, data_interface=True), tmp_path, b"new")
    assert (root / "EXTF_Buchungen.csv").read_bytes() == b"new"
    assert files_under(root) == ["EXTF_Buchungen.csv"]


# -- failures -------------------------------------------------------------------------


def connect_error(target: Target, tmp_path: Path, timeout: float = 5) -> TransportError:
    with pytest.raises(TransportError) as info:
        open_transport(target, known_hosts=tmp_path / "known_hosts", timeout=timeout)
    return info.value


def test_wrong_password_is_refused_login_and_not_transient(ftp: FTPServer, tmp_path: Path) -> None:
    err = connect_error(make_target(ftp, password=Secret("falsch-Passwort")), tmp_path)
    assert (err.step, err.reason, err.transient) == (Step.LOGIN, Reason.LOGIN_REFUSED, False)
    assert str(err).startswith("Anmelden: Anmeldung abgelehnt")
    assert "falsch-Passwort" not in str(err)


def test_unknown_host_name(tmp_path: Path) -> None:
    target = Target(host="buchex-test.invalid", port=21, user="u", password=Secret("p"))
    err = connect_error(target, tmp_path)
    assert (err.step, err.reason) == (Step.CONNECT, Reason.NAME_NOT_FOUND)


def test_refused_port_is_transient(tmp_path: Path) -> None:
    target = Target(host="127.0.0.1", port=refused_port(), user="u", password=Secret("p"))
    err = connect_error(target, tmp_path)
    assert (err.step, err.reason, err.transient) == (Step.CONNECT, Reason.REFUSED, True)


def test_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with silent_listener() as port:
        target = Target(host="127.0.0.1", port=port, user="u", password=Secret("p"))
        started = time.monotonic()
        err = connect_error(target, tmp_path, timeout=0.3)
    assert (err.step, err.reason, err.transient) == (Step.CONNECT, Reason.TIMEOUT, True)
    assert time.monotonic() - started < 3


def test_no_write_permission(root: Path, tmp_path: Path) -> None:
    (root / "import").mkdir()
    with ftp_server(root, perm="elr") as server:
        with pytest.raises(TransportError) as info:
            deliver(make_target(server), tmp_path, b"x")  # dated folder can't be created
        assert (info.value.step, info.value.reason) == (Step.DIRECTORY, Reason.NO_WRITE)
        assert not info.value.transient
        with pytest.raises(TransportError) as info:
            deliver(make_target(server, directory="import", data_interface=True), tmp_path, b"x")
        assert (info.value.step, info.value.reason) == (Step.UPLOAD, Reason.NO_WRITE)
    assert files_under(root) == []


@pytest.mark.parametrize("cut_session", [False, True], ids=["data-connection", "whole-session"])
def test_cut_mid_upload_leaves_no_final_file_and_the_retry_delivers(
    ftp: FTPServer, root: Path, tmp_path: Path, cut_session: bool
) -> None:
    data = os.urandom(8 * 1024 * 1024)
    target = make_target(ftp, data_interface=True)
    ftp.state.cut_after = 256 * 1024
    ftp.state.cut_session = cut_session
    with pytest.raises(TransportError) as info:
        deliver(target, tmp_path, data)
    assert ftp.state.cuts == 1
    assert info.value.transient
    assert info.value.reason == Reason.CUT
    assert not (root / "EXTF_Buchungen.csv").exists()
    if not cut_session:  # control connection alive: the partial temp file was deleted
        assert files_under(root) == []
    deliver(target, tmp_path, data)
    assert (root / "EXTF_Buchungen.csv").read_bytes() == data
    assert files_under(root) == ["EXTF_Buchungen.csv"]


def test_transfer_deadline_aborts_and_cleans_up(ftp: FTPServer, root: Path, tmp_path: Path) -> None:
    local = tmp_path / "big.csv"
    local.write_bytes(os.urandom(4 * 1024 * 1024))
    target = make_target(ftp, data_interface=True)
    with open_transport(
        target, known_hosts=tmp_path / "kh", timeout=5, transfer_deadline=0.001
    ) as transport:
        with pytest.raises(TransportError) as info:
            transport.upload_atomic(local, transport.ensure_directory("."), "big.csv")
        assert (info.value.reason, info.value.transient) == (Reason.TIMEOUT, True)
        assert "länger als" in info.value.detail
    assert files_under(root) == []


@pytest.mark.parametrize(
    ("reply", "step", "reason", "transient"),
    [
        ("530 Login incorrect.", Step.UPLOAD, Reason.LOGIN_REFUSED, False),
        ("550 Permission denied.", Step.UPLOAD, Reason.NO_WRITE, False),
        ("553 Could not create file.", Step.RENAME, Reason.NO_WRITE, False),
        ("552 Quota exceeded.", Step.UPLOAD, Reason.DISK_FULL, False),
        ("550 No such file.", Step.VERIFY, Reason.NOT_FOUND, False),
        ("452 Insufficient storage.", Step.UPLOAD, Reason.DISK_FULL, False),
        ("421 Timeout.", Step.UPLOAD, Reason.CUT, True),
        ("426 Transfer aborted.", Step.UPLOAD, Reason.CUT, True),
        ("451 Local error.", Step.UPLOAD, Reason.SERVER_ERROR, True),
    ],
)
def test_reply_codes_map_to_plain_reasons(
    reply: str, step: str, reason: str, transient: bool
) -> None:
    transport = FTPTransport(Target(host="h", user="u", password=Secret("pw")))
    exc: ftplib.Error = (ftplib.error_perm if reply[0] == "5" else ftplib.error_temp)(reply)
    err = transport._map_error(exc, step)
    assert (err.reason, err.transient) == (reason, transient)
    assert err.detail == reply


def test_server_replies_in_messages_never_show_the_password() -> None:
    transport = FTPTransport(Target(host="h", user="u", password=Secret("s3cret-PW")))
    err = transport._map_error(ftplib.error_perm("530 PASS s3cret-PW rejected"), Step.LOGIN)
    assert "s3cret-PW" not in str(err)
    assert "********" in err.detail


# -- connection test -------------------------------------------------------------------


def test_connection_test_reports_each_step_and_leaves_only_the_folder(
    ftp: FTPServer, root: Path, tmp_path: Path
) -> None:
    steps = list(
        test_connection(
            make_target(ftp, directory="export"),
            known_hosts=tmp_path / "known_hosts",
            run_date=RUN_DATE,
            timeout=5,
        )
    )
    assert [(s.step, s.ok) for s in steps] == [
        ("Verbinden", True),
        ("Anmelden", True),
        ("Verzeichnis", True),
        ("Schreiben", True),
        ("Löschen", True),
    ]
    assert steps[2].detail == f"/export/{DATED}"
    assert (root / "export" / DATED).is_dir()
    assert files_under(root) == []


def test_connection_test_stops_at_the_first_failure(ftp: FTPServer, tmp_path: Path) -> None:
    steps = list(
        test_connection(
            make_target(ftp, password=Secret("falsch")),
            known_hosts=tmp_path / "known_hosts",
            run_date=RUN_DATE,
            timeout=5,
        )
    )
    assert [(s.step, s.ok) for s in steps] == [("Verbinden", True), ("Anmelden", False)]
    # The German sentence naming server and user; the server's own text apart.
    assert steps[1].detail.startswith(f"Der Server {ftp.host}:{ftp.port} hat die Anmeldung als")
    assert steps[1].server.startswith("530")
    assert steps[1].error is not None and steps[1].error.reason == Reason.LOGIN_REFUSED


def test_connection_test_probe_fails_without_write_permission(root: Path, tmp_path: Path) -> None:
    with ftp_server(root, perm="elr") as server:
        steps = list(
            test_connection(
                make_target(server, data_interface=True),
                known_hosts=tmp_path / "known_hosts",
                run_date=RUN_DATE,
                timeout=5,
            )
        )
    assert [(s.step, s.ok) for s in steps][-2:] == [("Verzeichnis", True), ("Schreiben", False)]
    assert steps[-1].error is not None and steps[-1].error.reason == Reason.NO_WRITE
    # Names user, server and the folder (issue 14, defect 6); the server's text apart.
    assert steps[-1].detail.startswith(
        f"Der Benutzer „{server.user}“ darf auf {server.host}:{server.port} im Ordner „/“"
    )
    assert steps[-1].server.startswith("550")


# -- FTPS -----------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path):  # type: ignore[no-untyped-def]
    directory = tmp_path / "tls"
    directory.mkdir()
    return make_certificate(directory)


@pytest.fixture
def ftps(root: Path, certificate) -> Iterator[FTPServer]:  # type: ignore[no-untyped-def]
    with ftp_server(root, tls=certificate) as server:
        yield server


def test_ftps_with_ca_file_delivers_and_reuses_the_tls_session(
    ftps: FTPServer, root: Path, tmp_path: Path
) -> None:
    assert ftps.certificate is not None
    data = os.urandom(300_000)
    deliver(make_target(ftps, tls_ca_file=str(ftps.certificate.cert_file)), tmp_path, data)
    assert (root / DATED / "EXTF_Buchungen.csv").read_bytes() == data
    assert ftps.state.data_sessions >= 1
    assert ftps.state.unreused_data_sessions == 0


def test_the_ftps_test_server_really_requires_session_reuse(ftps: FTPServer, root: Path) -> None:
    """Plain ftplib.FTP_TLS does not resume the session: the server must refuse it,
    otherwise the test above proves nothing."""
    assert ftps.certificate is not None
    context = ssl.create_default_context(cafile=str(ftps.certificate.cert_file))
    client = ftplib.FTP_TLS(context=context, timeout=5)
    client.connect(ftps.host, ftps.port)
    client.login(ftps.user, ftps.password)
    client.prot_p()
    with pytest.raises((ftplib.Error, OSError)):
        client.storbinary("STOR plain.bin", io.BytesIO(os.urandom(200_000)))
    client.close()
    assert ftps.state.unreused_data_sessions >= 1
    assert not (root / "plain.bin").exists() or (root / "plain.bin").stat().st_size < 200_000


def test_ftps_untrusted_certificate_names_its_fingerprint(ftps: FTPServer, tmp_path: Path) -> None:
    assert ftps.certificate is not None
    err = connect_error(make_target(ftps), tmp_path)
    assert (err.step, err.reason, err.transient) == (
        Step.CERTIFICATE,
        Reason.CERT_UNTRUSTED,
        False,
    )
    assert shown(ftps.certificate.fingerprint) in err.detail


def test_ftps_pinned_fingerprint_replaces_ca_check(
    ftps: FTPServer, root: Path, tmp_path: Path
) -> None:
    assert ftps.certificate is not None
    target = make_target(ftps, tls_fingerprint=ftps.certificate.fingerprint, data_interface=True)
    deliver(target, tmp_path, b"pinned")
    assert (root / "EXTF_Buchungen.csv").read_bytes() == b"pinned"
    assert ftps.state.unreused_data_sessions == 0


def test_ftps_wrong_pin_fails(ftps: FTPServer, tmp_path: Path) -> None:
    err = connect_error(make_target(ftps, tls_fingerprint="ab" * 32), tmp_path)
    assert (err.step, err.reason) == (Step.CERTIFICATE, Reason.CERT_UNTRUSTED)
    assert ftps.certificate is not None
    assert shown(ftps.certificate.fingerprint) in err.detail


def test_plain_ftp_against_ftps_only_server_is_refused(ftps: FTPServer, tmp_path: Path) -> None:
    err = connect_error(make_target(ftps, protocol="ftp"), tmp_path)
    assert (err.step, err.reason) == (Step.LOGIN, Reason.LOGIN_REFUSED)
    assert "TLS" in err.detail


def test_temp_name_is_hidden() -> None:
    assert temp_name("EXTF_1.csv") == ".EXTF_1.csv.buchex-tmp"
