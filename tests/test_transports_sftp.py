"""SFTP delivery against real servers on 127.0.0.1: OpenSSH's sshd when installed
(`apt-get install openssh-server`), and a paramiko SFTP server (password logins, and the
fallback where sshd is missing). See tests/servers.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import Target
from engine.fields import Secret
from engine.transports import (
    ChangedHostKey,
    HostKeyNotConfirmed,
    KnownHosts,
    Reason,
    Step,
    TransportError,
    UnknownHostKey,
    open_transport,
    remote_folder,
    test_connection,
)
from engine.transports.known_hosts import Verdict, fingerprint, host_pattern
from engine.transports.sftp import SFTPTransport
from tests.servers import (
    SFTPServer,
    SSHKey,
    cutting_proxy,
    make_ssh_key,
    refused_port,
    sftp_server,
    silent_listener,
    sshd_available,
)

RUN_DATE = dt.date(2026, 3, 14)
DATED = "Automatischer_Buchhaltungsexport_2026-03-14"
KINDS = [
    pytest.param(
        "openssh",
        marks=pytest.mark.skipif(not sshd_available(), reason="sshd fehlt (openssh-server)"),
    ),
    "paramiko",
]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def server(kind: str, tmp_path: Path) -> Iterator[SFTPServer]:
    with sftp_server(kind, tmp_path / "server") as srv:
        yield srv


@pytest.fixture
def paramiko_server(tmp_path: Path) -> Iterator[SFTPServer]:
    with sftp_server("paramiko", tmp_path / "server") as srv:
        yield srv


@pytest.fixture
def known_hosts(tmp_path: Path) -> Path:
    return tmp_path / "data" / "known_hosts"


def make_target(server: SFTPServer, *, port: int | None = None, **changes: object) -> Target:
    base = Target(
        protocol="sftp",
        host=server.host,
        port=port or server.port,
        user=server.user,
        key_file=str(server.client_key.private_file),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def trust(server: SFTPServer, known_hosts: Path, port: int | None = None) -> None:
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    key = server.host_key
    KnownHosts(known_hosts).add(server.host, port or server.port, "ssh-ed25519", key.blob)


def deliver(target: Target, known_hosts: Path, tmp_path: Path, data: bytes, **kw: object) -> str:
    local = tmp_path / "out" / "EXTF_Buchungen.csv"
    local.parent.mkdir(exist_ok=True)
    local.write_bytes(data)
    with open_transport(target, known_hosts=known_hosts, timeout=5, **kw) as transport:  # type: ignore[arg-type]
        folder = transport.ensure_directory(remote_folder(target, RUN_DATE))
        result = transport.upload_atomic(local, folder, local.name)
    assert result.size == len(data)
    return result.remote_path


def connect_error(target: Target, known_hosts: Path, **kw: object) -> TransportError:
    with pytest.raises(TransportError) as info:
        open_transport(target, known_hosts=known_hosts, timeout=5, **kw)  # type: ignore[arg-type]
    return info.value


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# -- delivery -------------------------------------------------------------------------


def test_key_file_login_delivers_into_dated_folder(
    server: SFTPServer, known_hosts: Path, tmp_path: Path
) -> None:
    trust(server, known_hosts)
    data = os.urandom(2_000_000)
    remote = deliver(make_target(server, directory="export/buchex"), known_hosts, tmp_path, data)
    assert remote.endswith(f"/export/buchex/{DATED}/EXTF_Buchungen.csv")
    assert (server.root / "export/buchex" / DATED / "EXTF_Buchungen.csv").read_bytes() == data
    assert files_under(server.root) == [f"export/buchex/{DATED}/EXTF_Buchungen.csv"]


def test_upload_replaces_existing_file(
    server: SFTPServer, known_hosts: Path, tmp_path: Path
) -> None:
    """OpenSSH: posix-rename; paramiko server (no extension): remove, then rename."""
    trust(server, known_hosts)
    (server.root / "EXTF_Buchungen.csv").write_bytes(b"old and longer than the new content")
    deliver(make_target(server, data_interface=True), known_hosts, tmp_path, b"new")
    assert (server.root / "EXTF_Buchungen.csv").read_bytes() == b"new"
    assert files_under(server.root) == ["EXTF_Buchungen.csv"]


def test_password_login(paramiko_server: SFTPServer, known_hosts: Path, tmp_path: Path) -> None:
    trust(paramiko_server, known_hosts)
    assert paramiko_server.password is not None
    target = make_target(paramiko_server, key_file=None, password=Secret(paramiko_server.password))
    deliver(target, known_hosts, tmp_path, b"per Passwort")
    assert (paramiko_server.root / DATED / "EXTF_Buchungen.csv").read_bytes() == b"per Passwort"


def test_wrong_password(paramiko_server: SFTPServer, known_hosts: Path) -> None:
    trust(paramiko_server, known_hosts)
    target = make_target(paramiko_server, key_file=None, password=Secret("falsch-Passwort"))
    err = connect_error(target, known_hosts)
    assert (err.step, err.reason, err.transient) == (Step.LOGIN, Reason.LOGIN_REFUSED, False)
    assert "falsch-Passwort" not in str(err)


def test_key_not_authorized(server: SFTPServer, known_hosts: Path, tmp_path: Path) -> None:
    trust(server, known_hosts)
    stranger = make_ssh_key(tmp_path / "stranger")
    err = connect_error(make_target(server, key_file=str(stranger.private_file)), known_hosts)
    assert (err.step, err.reason) == (Step.LOGIN, Reason.LOGIN_REFUSED)


def test_encrypted_key_file_uses_the_password_as_passphrase(
    kind: str, tmp_path: Path, known_hosts: Path
) -> None:
    key = make_ssh_key(tmp_path / "locked", passphrase="Schlüssel-Passwort")
    with sftp_server(kind, tmp_path / "server", client_key=key) as srv:
        trust(srv, known_hosts)
        target = make_target(srv, password=Secret("Schlüssel-Passwort"))
        deliver(target, known_hosts, tmp_path, b"ok")
        err = connect_error(make_target(srv), known_hosts)  # no password given
        assert (err.step, err.reason) == (Step.LOGIN, Reason.KEY_FILE_PASSWORD)
        err = connect_error(make_target(srv, password=Secret("falsch")), known_hosts)
        assert (err.step, err.reason) == (Step.LOGIN, Reason.KEY_FILE_PASSWORD)


def test_missing_key_file(server: SFTPServer, known_hosts: Path, tmp_path: Path) -> None:
    trust(server, known_hosts)
    err = connect_error(make_target(server, key_file=str(tmp_path / "nope")), known_hosts)
    assert (err.step, err.reason) == (Step.LOGIN, Reason.KEY_FILE)


# -- host keys ------------------------------------------------------------------------


def test_unknown_host_key_is_refused_with_its_fingerprint(
    server: SFTPServer, known_hosts: Path
) -> None:
    err = connect_error(make_target(server), known_hosts)
    assert isinstance(err, UnknownHostKey)
    assert err.fingerprint == server.host_key.fingerprint
    assert err.fingerprint == fingerprint(server.host_key.blob)
    assert (err.step, err.reason, err.transient) == (
        Step.HOST_KEY,
        Reason.HOST_KEY_UNKNOWN,
        False,
    )
    assert not known_hosts.exists()


def test_trusting_stores_the_key_0600_and_later_connections_need_no_trust(
    server: SFTPServer, known_hosts: Path, tmp_path: Path
) -> None:
    known_hosts.parent.mkdir()
    target = make_target(server, data_interface=True)
    deliver(target, known_hosts, tmp_path, b"1", trust_new_key=server.host_key.fingerprint)
    text = known_hosts.read_text()
    assert text == f"[127.0.0.1]:{server.port} {server.host_key.public_line}\n"
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    deliver(target, known_hosts, tmp_path, b"2")
    assert (server.root / "EXTF_Buchungen.csv").read_bytes() == b"2"


def test_trust_with_a_confirmed_fingerprint_accepts_only_that_key(
    server: SFTPServer, known_hosts: Path, tmp_path: Path
) -> None:
    known_hosts.parent.mkdir()
    target = make_target(server)
    other = make_ssh_key(tmp_path / "other").fingerprint
    err = connect_error(target, known_hosts, trust_new_key=other)
    assert isinstance(err, HostKeyNotConfirmed) and isinstance(err, UnknownHostKey)
    assert (err.confirmed, err.fingerprint) == (other, server.host_key.fingerprint)
    assert other in str(err) and server.host_key.fingerprint in str(err)
    assert not known_hosts.exists()  # nothing stored
    for not_a_fingerprint in (True, "", "   "):  # no "trust whatever comes"
        err = connect_error(target, known_hosts, trust_new_key=not_a_fingerprint)
        assert type(err) is UnknownHostKey
    assert not known_hosts.exists()
    open_transport(
        target, known_hosts=known_hosts, timeout=5, trust_new_key=server.host_key.fingerprint
    ).close()
    assert KnownHosts(known_hosts).keys_for(server.host, server.port)[0].blob == (
        server.host_key.blob
    )


def test_changed_host_key_always_fails(kind: str, tmp_path: Path, known_hosts: Path) -> None:
    client_key = make_ssh_key(tmp_path / "client")
    with sftp_server(kind, tmp_path / "first", client_key=client_key) as first:
        trust(first, known_hosts)
        port = first.port
        open_transport(make_target(first), known_hosts=known_hosts, timeout=5).close()
    new_key = make_ssh_key(tmp_path / "new_host_key")
    with sftp_server(
        kind, tmp_path / "second", client_key=client_key, host_key=new_key, port=port
    ) as second:
        before = known_hosts.read_bytes()
        for trust_new_key in (None, new_key.fingerprint):
            err = connect_error(make_target(second), known_hosts, trust_new_key=trust_new_key)
            assert isinstance(err, ChangedHostKey)
            assert first.host_key.fingerprint in err.expected
            assert new_key.fingerprint in err.actual
            assert first.host_key.fingerprint in str(err)
            assert new_key.fingerprint in str(err)
            assert (err.reason, err.transient) == (Reason.HOST_KEY_CHANGED, False)
        assert known_hosts.read_bytes() == before


# -- failures -------------------------------------------------------------------------


def test_read_only_server_means_no_write_permission(
    kind: str, tmp_path: Path, known_hosts: Path
) -> None:
    with sftp_server(kind, tmp_path / "server", read_only=True) as srv:
        trust(srv, known_hosts)
        (srv.root / "import").mkdir()
        with pytest.raises(TransportError) as info:
            deliver(make_target(srv), known_hosts, tmp_path, b"x")
        assert (info.value.step, info.value.reason) == (Step.DIRECTORY, Reason.NO_WRITE)
        assert not info.value.transient
        target = make_target(srv, directory="import", data_interface=True)
        with pytest.raises(TransportError) as info:
            deliver(target, known_hosts, tmp_path, b"x")
        assert (info.value.step, info.value.reason) == (Step.UPLOAD, Reason.NO_WRITE)
        assert files_under(srv.root) == []


def test_cut_mid_upload_leaves_no_final_file_and_the_retry_delivers(
    server: SFTPServer, known_hosts: Path, tmp_path: Path
) -> None:
    data = os.urandom(8 * 1024 * 1024)
    with cutting_proxy(server.port, cut_after=1024 * 1024) as proxy:
        trust(server, known_hosts, port=proxy.port)
        target = make_target(server, port=proxy.port, data_interface=True)
        with pytest.raises(TransportError) as info:
            deliver(target, known_hosts, tmp_path, data)
        assert proxy.cuts == 1
        assert info.value.transient
        assert info.value.reason == Reason.CUT, info.value
        assert not (server.root / "EXTF_Buchungen.csv").exists()
        deliver(target, known_hosts, tmp_path, data)
    assert (server.root / "EXTF_Buchungen.csv").read_bytes() == data
    assert files_under(server.root) == ["EXTF_Buchungen.csv"]


def test_transfer_deadline(server: SFTPServer, known_hosts: Path, tmp_path: Path) -> None:
    trust(server, known_hosts)
    local = tmp_path / "big.csv"
    local.write_bytes(os.urandom(4 * 1024 * 1024))
    target = make_target(server, data_interface=True)
    with open_transport(
        target, known_hosts=known_hosts, timeout=5, transfer_deadline=0.001
    ) as transport:
        with pytest.raises(TransportError) as info:
            transport.upload_atomic(local, transport.ensure_directory("."), "big.csv")
        assert (info.value.reason, info.value.transient) == (Reason.TIMEOUT, True)
    assert files_under(server.root) == []


def test_server_that_never_answers_times_out(known_hosts: Path) -> None:
    with silent_listener() as port:
        target = Target(protocol="sftp", host="127.0.0.1", port=port, user="u")
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            open_transport(target, known_hosts=known_hosts, timeout=0.5)
    assert (info.value.step, info.value.reason) == (Step.CONNECT, Reason.TIMEOUT)
    assert info.value.transient
    assert time.monotonic() - started < 4


def test_refused_port_and_unknown_name(known_hosts: Path) -> None:
    target = Target(protocol="sftp", host="127.0.0.1", port=refused_port(), user="u")
    err = connect_error(target, known_hosts)
    assert (err.step, err.reason, err.transient) == (Step.CONNECT, Reason.REFUSED, True)
    err = connect_error(dataclasses.replace(target, host="buchex-test.invalid"), known_hosts)
    assert (err.step, err.reason) == (Step.CONNECT, Reason.NAME_NOT_FOUND)


# -- connection test -------------------------------------------------------------------


def test_connection_test_asks_to_confirm_an_unknown_key_then_passes_with_trust(
    server: SFTPServer, known_hosts: Path
) -> None:
    target = make_target(server)
    steps = list(
        test_connection(
            target, known_hosts=known_hosts, run_date=RUN_DATE, timeout=5, config_id="7"
        )
    )
    assert [(s.step, s.ok) for s in steps] == [("Verbinden", False)]
    assert server.host_key.fingerprint in steps[0].detail
    assert f"buchex test 7 --trust {server.host_key.fingerprint}" in steps[0].detail
    assert isinstance(steps[0].error, UnknownHostKey)
    steps = list(
        test_connection(
            target,
            known_hosts=known_hosts,
            trust_new_key=server.host_key.fingerprint,
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
    assert "neu gespeichert" in steps[0].detail
    assert (server.root / DATED).is_dir()
    assert files_under(server.root) == []


# -- buchex's known_hosts file ----------------------------------------------------------


def test_known_hosts_reads_what_openssh_writes(tmp_path: Path) -> None:
    key = make_ssh_key(tmp_path / "k")
    other = make_ssh_key(tmp_path / "o")
    hashed = _hashed("[sftp.kanzlei.example]:2222")
    path = tmp_path / "known_hosts"
    path.write_text(
        "# comment\n"
        f"{hashed} {key.public_line}\n"
        f"steuer.example,10.0.0.5 {other.public_line}\n"
        f"*.wildcard.example,!bad.wildcard.example {key.public_line}\n"
        f"@revoked revoked.example {key.public_line}\n"
        f"@cert-authority *.example {other.public_line}\n"
        "garbage line\n"
    )
    known = KnownHosts(path)
    assert known.verify("sftp.kanzlei.example", 2222, "ssh-ed25519", key.blob)[0] is Verdict.KNOWN
    assert known.verify("SFTP.Kanzlei.Example", 2222, "ssh-ed25519", key.blob)[0] is Verdict.KNOWN
    assert known.verify("sftp.kanzlei.example", 22, "ssh-ed25519", key.blob)[0] is Verdict.UNKNOWN
    assert known.verify("10.0.0.5", 22, "ssh-ed25519", other.blob)[0] is Verdict.KNOWN
    verdict, stored = known.verify("steuer.example", 22, "ssh-ed25519", key.blob)
    assert verdict is Verdict.CHANGED and stored[0].fingerprint == other.fingerprint
    assert known.verify("a.wildcard.example", 22, "ssh-ed25519", key.blob)[0] is Verdict.KNOWN
    assert known.verify("bad.wildcard.example", 22, "ssh-ed25519", key.blob)[0] is (Verdict.UNKNOWN)
    assert known.verify("revoked.example", 22, "ssh-ed25519", key.blob)[0] is Verdict.REVOKED


def test_known_hosts_add_and_remove(tmp_path: Path) -> None:
    key = make_ssh_key(tmp_path / "k")
    path = tmp_path / "known_hosts"
    path.write_text(f"# mine\nkeep.example {key.public_line}")  # no final newline
    known = KnownHosts(path)
    known.add("New.Example", 22, "ssh-ed25519", key.blob)
    known.add("new.example", 22, "ssh-ed25519", key.blob)  # no duplicate
    known.add("new.example", 2222, "ssh-ed25519", key.blob)
    lines = path.read_text().splitlines()
    assert lines[0] == "# mine"
    assert lines[2:] == [f"new.example {key.public_line}", f"[new.example]:2222 {key.public_line}"]
    assert known.remove("new.example", 22) == 1
    assert known.verify("new.example", 22, "ssh-ed25519", key.blob)[0] is Verdict.UNKNOWN
    assert known.verify("new.example", 2222, "ssh-ed25519", key.blob)[0] is Verdict.KNOWN
    assert host_pattern("::1", 2222) == "[::1]:2222"


def test_transport_never_reads_the_users_own_ssh_setup(
    server: SFTPServer, known_hosts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key in ~/.ssh or a running agent must not log buchex in: only the configured
    key file counts."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    key: SSHKey = server.client_key
    (home / ".ssh" / "id_ed25519").write_bytes(key.private_file.read_bytes())
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "no-agent"))
    trust(server, known_hosts)
    target = make_target(server, key_file=None, password=Secret("falsch"))
    err = connect_error(target, known_hosts)
    assert err.reason == Reason.LOGIN_REFUSED


def test_unconnected_transport_refuses_operations() -> None:
    transport = SFTPTransport(
        Target(protocol="sftp", host="h", user="u"), known_hosts=Path("/nonexistent")
    )
    assert not transport.usable
    with pytest.raises(TransportError) as info:
        transport.ensure_directory(".")
    assert info.value.reason == Reason.CLOSED


def _hashed(name: str) -> str:
    import base64
    import hashlib
    import hmac

    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
