"""What every transport offers, how failures are reported, and the remote-folder rule.

A `Transport` is one connection to the advisor's server. Its public operations are the
steps of a delivery (SPEC §2, §3):

    connect()                       open_connection() + login()
    ensure_directory(path) -> str   create missing folders one by one, return the absolute path
    upload_atomic(local, dir, name) temp name, size check, rename: a final name never holds
                                    a partial file
    write_probe(dir) / remove(path) the connection test's probe file
    close()

Every failure is a `TransportError` with a German step and a plain German reason; the
`transient` flag tells the caller whether retrying later (with backoff) can help.
A transport that failed with a transient error is not reused: the caller opens a new one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import secrets
import socket
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Final, Self

from engine.errors import (
    CipherError,
    Reason,
    Step,
    TransportError,
)

if TYPE_CHECKING:
    from engine.config import Target
    from engine.runs import CancelToken

FOLDER_PREFIX: Final = "Automatischer_Buchhaltungsexport_"
TEMP_SUFFIX: Final = ".buchex-tmp"
PROBE_CONTENT: Final = b"buchex Verbindungstest\n"


@dataclass(frozen=True)
class UploadResult:
    remote_path: str
    size: int


@dataclass(frozen=True)
class StepResult:
    """One line of the connection test. `error` is set on failure (e.g. `UnknownHostKey`,
    whose `fingerprint` a UI offers to confirm); then `detail` is the German sentence of
    `engine.explain` and `server` the server's own text (shown as "Server: …"), if any."""

    step: str
    ok: bool
    detail: str
    error: TransportError | None = None
    server: str = ""


class Deadline:
    """A point in monotonic time; `check` raises a transient timeout once it has passed."""

    def __init__(self, seconds: float, cancel: CancelToken | None = None) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self.cancel = cancel  # checked too: a cancelled run stops between blocks

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def check(self, step: str) -> None:
        if self.cancel is not None:
            self.cancel.check(step)  # RunCancelled
        if self.remaining() <= 0:
            raise TransportError(
                step,
                Reason.TIMEOUT,
                detail=f"Übertragung dauerte länger als {self.seconds:g} s",
                transient=True,
            )

    def timeout(self, limit: float) -> float:
        """A socket timeout that neither exceeds `limit` nor outlives the deadline."""
        return max(0.05, min(limit, self.remaining()))


def remote_folder(target: Target, run_date: date) -> str:
    """The folder a run writes into (SPEC §2), relative to the login directory unless the
    configured directory is absolute:

    - no directory: `Automatischer_Buchhaltungsexport_YYYY-MM-DD` (with Datenschnittstelle:
      the login directory itself, `.`)
    - directory set: `<directory>/Automatischer_Buchhaltungsexport_YYYY-MM-DD` (with
      Datenschnittstelle: `<directory>`)
    """
    dated = f"{FOLDER_PREFIX}{run_date.isoformat()}"
    directory = (target.directory or "").strip()
    if directory not in ("", "/"):
        directory = directory.rstrip("/")
    if not directory:
        return "." if target.data_interface else dated
    if target.data_interface:
        return directory
    return posixpath.join(directory, dated)


def temp_name(name: str) -> str:
    """The name a file is uploaded under before the rename: hidden (a dot file), so the
    advisor's import (`EXTF_*.csv`) never picks it up."""
    return f".{name}{TEMP_SUFFIX}"


def check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or any(c in name for c in "\r\n\0"):
        raise ValueError(f"ungültiger Dateiname: {name!r}")


def map_os_error(exc: BaseException, step: str, *, detail: str = "") -> TransportError | None:
    """Socket, TLS and file-system errors common to all protocols; None if not one of them."""
    if isinstance(exc, socket.gaierror):
        if exc.errno == socket.EAI_AGAIN:
            return TransportError(step, Reason.NAME_LOOKUP_FAILED, detail=detail, transient=True)
        return TransportError(step, Reason.NAME_NOT_FOUND, detail=detail)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransportError(
            Step.CERTIFICATE, Reason.CERT_UNTRUSTED, detail=exc.verify_message or detail
        )
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return TransportError(step, Reason.CUT, detail=detail, transient=True)
    if isinstance(exc, ssl.SSLError):
        return TransportError(step, Reason.TLS_FAILED, detail=exc.reason or str(exc))
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(step, Reason.REFUSED, detail=detail, transient=True)
    if isinstance(exc, TimeoutError):
        return TransportError(step, Reason.TIMEOUT, detail=detail, transient=True)
    if isinstance(exc, ConnectionError | EOFError):
        return TransportError(step, Reason.CUT, detail=detail, transient=True)
    if isinstance(exc, OSError):
        code = exc.errno
        if code in (errno.ENOSPC, errno.EDQUOT):
            return TransportError(step, Reason.DISK_FULL, detail=detail)
        if code in (errno.EACCES, errno.EPERM, errno.EROFS):
            return TransportError(step, Reason.NO_WRITE, detail=detail)
        if code in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN):
            return TransportError(step, Reason.UNREACHABLE, detail=detail, transient=True)
        if code == errno.ENOENT:
            return TransportError(step, Reason.NOT_FOUND, detail=detail)
        if code in (errno.ENOTCONN, errno.ESHUTDOWN, errno.EBADF):
            return TransportError(step, Reason.CUT, detail=detail, transient=True)
    return None


class Transport(ABC):
    """One connection to the target server. Use as a context manager; `close()` is safe to
    call at any time. Not thread-safe."""

    protocol: str = ""

    def __init__(self, target: Target, *, timeout: float = 30, transfer_deadline: float = 600):
        self.target = target
        self.timeout = timeout
        self.transfer_deadline = transfer_deadline
        self.connection_info = ""  # filled by open_connection(): what we are talking to
        # A run's cancel token (set by the runner): uploads check it per block.
        self.cancel: CancelToken | None = None
        try:
            self._secret = target.password.reveal() if target.password else ""
        except CipherError as exc:  # secret.key lost or wrong: a failed step, no traceback
            raise TransportError(Step.LOGIN, Reason.PASSWORD_UNREADABLE, detail=str(exc)) from exc

    # -- what a protocol implements ----------------------------------------------------

    @abstractmethod
    def open_connection(self) -> None:
        """TCP (+ TLS or SSH handshake, certificate or host key check)."""

    @abstractmethod
    def login(self) -> None:
        """Authenticate as `target.user`."""

    @abstractmethod
    def ensure_directory(self, path: str) -> str:
        """Create missing folders of `path` (relative to the login directory, or absolute)
        one by one; return the absolute remote path."""

    @abstractmethod
    def close(self) -> None:
        """Log out and close; never raises."""

    @abstractmethod
    def _put(self, source: BinaryIO, remote_path: str, deadline: Deadline) -> None:
        """Write `source` to `remote_path`, replacing it. Raises `TransportError`."""

    @abstractmethod
    def _size(self, remote_path: str) -> int:
        """The size of a remote file. Raises `TransportError`."""

    @abstractmethod
    def _replace(self, source: str, target: str) -> None:
        """Rename `source` to `target`, replacing an existing `target`."""

    @abstractmethod
    def _remove(self, remote_path: str) -> None:
        """Delete a remote file. Raises `TransportError`."""

    @abstractmethod
    def _map_error(self, exc: BaseException, step: str) -> TransportError:
        """A protocol library exception as a `TransportError` for `step`."""

    @property
    @abstractmethod
    def usable(self) -> bool:
        """False once the connection is closed or known to be broken."""

    # -- shared behaviour --------------------------------------------------------------

    def connect(self) -> None:
        self.open_connection()
        self.login()

    def upload_atomic(self, local: Path, remote_dir: str, name: str) -> UploadResult:
        """Upload `local` as `remote_dir/name`: first under a temporary name, then check the
        remote size, then rename. On any failure the temporary file is deleted (best effort)
        and `TransportError` is raised; the final name never holds a partial file.
        `transfer_deadline` bounds the whole call."""
        check_name(name)
        deadline = Deadline(self.transfer_deadline, self.cancel)
        final = posixpath.join(remote_dir, name)
        temp = posixpath.join(remote_dir, temp_name(name))
        try:
            source = local.open("rb")
        except OSError as exc:
            raise TransportError(
                Step.UPLOAD, Reason.LOCAL_FILE, detail=f"{local}: {exc.strerror}"
            ) from exc
        with source:
            size = _file_size(source)
            try:
                self._put(source, temp, deadline)
                deadline.check(Step.UPLOAD)
                self._verify_size(temp, size)
                deadline.check(Step.RENAME)
                self._replace(temp, final)
            except BaseException:
                self._discard(temp)
                raise
        return UploadResult(final, size)

    def abort(self) -> None:
        """From another thread: shut the connection's sockets down, so that a call blocked
        in them (a server that stopped answering) returns at once. For a cancelled run;
        the transport is unusable afterwards."""
        for sock in self._sockets():
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _sockets(self) -> list[socket.socket]:
        """The open sockets of this connection (for `abort`)."""
        return []

    def write_probe(self, remote_dir: str) -> str:
        """Write a small probe file into `remote_dir` (connection test); return its path."""
        path = posixpath.join(remote_dir, f".buchex-probe-{secrets.token_hex(4)}.tmp")
        try:
            self._put(BytesIO(PROBE_CONTENT), path, Deadline(self.timeout))
            self._verify_size(path, len(PROBE_CONTENT))
        except BaseException:
            self._discard(path)
            raise
        return path

    def remove(self, remote_path: str) -> None:
        self._remove(remote_path)

    def remote_size(self, remote_path: str) -> int | None:
        """The size of a remote file, None if it is not there (or not readable as a file).
        Transient errors (a cut connection) are raised: "not there" must be meant."""
        try:
            return self._size(remote_path)
        except TransportError as err:
            if err.transient or not self.usable:
                raise
            return None

    def discard(self, remote_path: str) -> None:
        """Delete a remote file if it is there (a cut run's temporary file); never raises
        for a missing file."""
        self._discard(remote_path)

    def probe(self, remote_dir: str) -> None:
        """Write a probe file into `remote_dir` and delete it again."""
        self.remove(self.write_probe(remote_dir))

    def _verify_size(self, remote_path: str, expected: int) -> None:
        actual = self._size(remote_path)
        if actual != expected:
            raise TransportError(
                Step.VERIFY,
                Reason.SIZE_MISMATCH,
                detail=f"lokal {expected} Bytes, auf dem Server {actual} Bytes",
                transient=True,
            )

    def _discard(self, remote_path: str) -> None:
        """Best-effort delete after a failure; keeps the original error."""
        if self.usable:
            with contextlib.suppress(TransportError):
                self._remove(remote_path)

    @contextlib.contextmanager
    def _step(self, step: str) -> Iterator[None]:
        """Turn whatever the protocol library raises inside into a `TransportError`."""
        try:
            yield
        except TransportError:
            raise
        except Exception as exc:
            raise self._map_error(exc, step) from exc

    def _scrub(self, text: str, limit: int = 200) -> str:
        """Server text for a message: one line, bounded, never the password."""
        text = " ".join(text.split())
        if self._secret:
            text = text.replace(self._secret, "********")
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def _require(self, value: str | None, label: str) -> str:
        if not value:
            raise TransportError(Step.CONNECT, Reason.CONFIG, detail=label)
        return value

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _file_size(source: BinaryIO) -> int:
    return os.fstat(source.fileno()).st_size
