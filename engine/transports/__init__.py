"""Delivery of export files to the advisor's server by FTP, FTPS or SFTP (SPEC §2, §3).

    with open_transport(config.target, known_hosts=data_dir.known_hosts_path) as transport:
        folder = transport.ensure_directory(remote_folder(config.target, run_date))
        for path in files:
            transport.upload_atomic(path, folder, path.name)

Every failure is a `TransportError` (German `step`, `reason`, `detail`, `transient`).
A transport that failed transiently is closed and a new one opened for the retry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine.transports.base import (
    FOLDER_PREFIX,
    ChangedHostKey,
    HostKeyNotConfirmed,
    Reason,
    Step,
    StepResult,
    Transport,
    TransportError,
    UnknownHostKey,
    UploadResult,
    remote_folder,
    temp_name,
    test_connection,
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
) -> Transport:
    """A transport for `target.protocol`, not connected yet (the connection test drives the
    steps itself). `known_hosts` and `trust_new_key` (the `SHA256:…` fingerprint an admin
    confirmed for an unknown host key) matter for SFTP only."""
    if target.protocol == "sftp":
        from engine.transports.sftp import SFTPTransport

        return SFTPTransport(
            target,
            known_hosts=known_hosts,
            trust_new_key=trust_new_key,
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
