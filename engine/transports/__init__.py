"""Delivery of export files to the advisor's server by FTP, FTPS or SFTP (SPEC §2, §3).

    with open_transport(config.target, known_hosts=data_dir.known_hosts_path) as transport:
        folder = transport.ensure_directory(remote_folder(config.target, run_date))
        for path in files:
            transport.upload_atomic(path, folder, path.name)

Every failure is a `TransportError` (German `step`, `reason`, `detail`, `transient`).
A transport that failed transiently is closed and a new one opened for the retry.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import (
    ChangedHostKey,
    HostKeyNotConfirmed,
    Reason,
    Step,
    TransportError,
    UnknownHostKey,
)
from engine.transports.base import (
    FOLDER_PREFIX,
    StepResult,
    Transport,
    UploadResult,
    remote_folder,
    temp_name,
)
from engine.transports.known_hosts import KnownHosts, fingerprint

if TYPE_CHECKING:
    from engine.config import Target

__all__ = [
    "FOLDER_PREFIX",
    "ChangedHostKey",
    "HostKeyNotConfirmed",
    "KnownHosts",
    "Reason",
    "Step",
    "StepResult",
    "Transport",
    "TransportError",
    "UnknownHostKey",
    "UploadResult",
    "fingerprint",
    "make_transport",
    "open_transport",
    "remote_folder",
    "temp_name",
    "test_connection",
]


def make_transport(
    target: Target,
    *,
    known_hosts: Path,
    timeout: float = 30,
    transfer_deadline: float = 600,
    trust_new_key: str | None = None,
    replace_key: tuple[str | None, str] | None = None,
) -> Transport:
    """A transport for `target.protocol`, not connected yet (the connection test drives the
    steps itself). `known_hosts`, `trust_new_key` (the `SHA256:…` fingerprint an admin
    confirmed for an unknown host key) and `replace_key` ((stored, new) fingerprints of a
    changed key an admin confirmed; stored None: whatever is stored) matter for SFTP only."""
    if target.protocol == "sftp":
        from engine.transports.sftp import SFTPTransport

        return SFTPTransport(
            target,
            known_hosts=known_hosts,
            trust_new_key=trust_new_key,
            replace_key=replace_key,
            timeout=timeout,
            transfer_deadline=transfer_deadline,
        )
    from engine.transports.ftp import FTPSTransport, FTPTransport

    cls = FTPSTransport if target.protocol == "ftps" else FTPTransport
    return cls(target, timeout=timeout, transfer_deadline=transfer_deadline)


def open_transport(
    target: Target,
    *,
    known_hosts: Path,
    timeout: float = 30,
    transfer_deadline: float = 600,
    trust_new_key: str | None = None,
) -> Transport:
    """A connected, logged-in transport; use it as a context manager. Raises
    `TransportError` (the half-open connection is closed first)."""
    transport = make_transport(
        target,
        known_hosts=known_hosts,
        timeout=timeout,
        transfer_deadline=transfer_deadline,
        trust_new_key=trust_new_key,
    )
    try:
        transport.connect()
    except BaseException:
        transport.close()
        raise
    return transport


def test_connection(
    target: Target,
    *,
    known_hosts: Path,
    trust_new_key: str | None = None,
    run_date: date,
    timeout: float = 30,
    config_id: str | None = None,
    replace_key: tuple[str | None, str] | None = None,
) -> Iterator[StepResult]:
    """The connection test (SPEC §2), one `StepResult` per step as it happens: Verbinden,
    Anmelden, Verzeichnis (open or create `remote_folder`), Schreiben (probe file), Löschen.
    Stops after the first failure, whose detail is the German sentence of `engine.explain`
    (the server's own text in `StepResult.server`). `trust_new_key`: the fingerprint the
    admin confirmed; an unknown key is stored only if it has exactly that one.
    `replace_key`: (stored, new) of a changed key the admin confirmed; replaced only if the
    server shows exactly the new one."""
    folder = remote_folder(target, run_date)
    try:
        transport = make_transport(
            target,
            known_hosts=known_hosts,
            timeout=timeout,
            trust_new_key=trust_new_key,
            replace_key=replace_key,
        )
    except TransportError as err:  # e.g. the stored password cannot be decrypted
        yield _failed(err.step, err, target, folder, config_id)
        return
    with transport:
        step = Step.CONNECT
        try:
            transport.open_connection()
            yield StepResult(step, True, transport.connection_info)
            step = Step.LOGIN
            transport.login()
            yield StepResult(step, True, f"als {target.user}")
            step = Step.DIRECTORY
            folder = transport.ensure_directory(folder)
            yield StepResult(step, True, folder)
            step = Step.WRITE
            probe = transport.write_probe(folder)
            yield StepResult(step, True, f"Testdatei {posixpath.basename(probe)} geschrieben")
            step = Step.DELETE
            transport.remove(probe)
            yield StepResult(step, True, "Testdatei gelöscht")
        except TransportError as err:
            yield _failed(step, err, target, folder, config_id)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _failed(
    step: str, err: TransportError, target: Target, folder: str, config_id: str | None
) -> StepResult:
    """The failed step: the German sentence naming host, port, user and folder as detail,
    the server's own text apart (engine.explain)."""
    from engine.explain import explain_transport

    explained = explain_transport(err, target, folder=folder, config_id=config_id)
    return StepResult(step, False, explained.sentence, err, server=explained.detail)
