"""buchex's SFTP upload keeps many write requests in flight (engine/transports/sftp.py,
`_put`). The SFTP protocol lets a server answer them in any order, and every answer is a
status that must be checked. A real paramiko SFTP server whose subsystem holds back the
answers to writes and sends them in reverse order, and one that fails a write in the middle:
the upload must come out byte for byte in the first case and fail, naming the step, in the
second, leaving no final file."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from paramiko.sftp import CMD_STATUS, CMD_WRITE

from engine.config import Target
from engine.transports import KnownHosts, Step, TransportError, open_transport, remote_folder
from tests.servers import SFTPServer, paramiko_sftp_server

RUN_DATE = dt.date(2026, 3, 14)
SIZE = 3_000_000  # ~92 write requests of 32 KiB (the paramiko server announces no limits)


class ReorderingSFTP(paramiko.SFTPServer):
    """Answers writes in batches of up to five, newest first (a batch ends early when no
    further request is waiting); answers anything else at once, after the held-back ones."""

    held: list[tuple[int, int, tuple[Any, ...]]]
    writes_answered = 0
    out_of_order = 0

    def _process(self, t: int, request_number: int, msg: paramiko.Message) -> None:
        if not hasattr(self, "held"):
            self.held = []
        self._in_write = t == CMD_WRITE
        if not self._in_write:
            self._flush()
        super()._process(t, request_number, msg)  # type: ignore[misc]
        # Hold back while more requests are waiting (never all of a client's last ones:
        # it waits for them before it sends anything else).
        if self._in_write and (len(self.held) >= 5 or not self.sock.recv_ready()):
            self._flush()

    def _response(self, request_number: int, t: int, *args: Any) -> None:
        if getattr(self, "_in_write", False) and t == CMD_STATUS:
            self.held.append((request_number, t, args))
            return
        super()._response(request_number, t, *args)  # type: ignore[misc]

    def _flush(self) -> None:
        held, self.held = self.held, []
        type(self).out_of_order += max(0, len(held) - 1)
        for request_number, t, args in reversed(held):
            type(self).writes_answered += 1
            super()._response(request_number, t, *args)  # type: ignore[misc]


class FailingSFTP(ReorderingSFTP):
    """Like ReorderingSFTP, but the 40th write is refused (a full disk, say)."""

    writes = 0

    def _process(self, t: int, request_number: int, msg: paramiko.Message) -> None:
        if t == CMD_WRITE:
            type(self).writes += 1
            if type(self).writes == 40:
                self._in_write = True
                self._send_status(request_number, paramiko.SFTP_FAILURE, "Platte voll")  # type: ignore[attr-defined]
                return
        super()._process(t, request_number, msg)


def server(tmp_path: Path, server_class: type[paramiko.SFTPServer]) -> Iterator[SFTPServer]:
    return paramiko_sftp_server(tmp_path / "sftp", server_class=server_class)  # type: ignore[return-value]


def upload(srv: SFTPServer, tmp_path: Path, data: bytes) -> str:
    known_hosts = tmp_path / "known_hosts"
    KnownHosts(known_hosts).add(srv.host, srv.port, "ssh-ed25519", srv.host_key.blob)
    target = Target(protocol="sftp", host=srv.host, port=srv.port, user=srv.user,
                    key_file=str(srv.client_key.private_file))  # fmt: skip
    local = tmp_path / "EXTF_Buchungsstapel.csv"
    local.write_bytes(data)
    with open_transport(target, known_hosts=known_hosts, timeout=10) as transport:
        folder = transport.ensure_directory(remote_folder(target, RUN_DATE))
        return transport.upload_atomic(local, folder, local.name).remote_path


def test_answers_out_of_order_are_matched_and_the_file_is_whole(tmp_path: Path) -> None:
    data = random.Random(3).randbytes(SIZE)
    ReorderingSFTP.out_of_order = ReorderingSFTP.writes_answered = 0
    with server(tmp_path, ReorderingSFTP) as srv:  # type: ignore[attr-defined]
        remote = upload(srv, tmp_path, data)
        stored = srv.root / remote.lstrip("/")
        assert stored.read_bytes() == data
    assert ReorderingSFTP.writes_answered >= SIZE // 32768
    assert ReorderingSFTP.out_of_order > 50  # most answers came out of order


def test_a_refused_write_fails_the_upload_and_leaves_no_file(tmp_path: Path) -> None:
    FailingSFTP.writes = 0
    with server(tmp_path, FailingSFTP) as srv:  # type: ignore[attr-defined]
        with pytest.raises(TransportError) as info:
            upload(srv, tmp_path, random.Random(4).randbytes(SIZE))
        assert info.value.step == Step.UPLOAD
        finals = [p for p in srv.root.rglob("EXTF_*") if p.suffix == ".csv"]
        assert finals == []
