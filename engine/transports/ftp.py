"""FTP and FTPS (explicit TLS, RFC 4217) with the standard library's ftplib.

- Passive mode only (works through the customer's NAT); the data connection goes to the
  control connection's address, never to the address in the PASV reply.
- FTPS: `AUTH TLS` before login, `PROT P` always, and every data connection resumes the
  control connection's TLS session (vsftpd `require_ssl_reuse`, FileZilla Server and
  ProFTPD `TLSOptions NoSessionReuseRequired`-less setups refuse data connections that
  don't). The certificate is checked against the system CAs, or only against
  `target.tls_ca_file`, or — with `target.tls_fingerprint` — pinned: exactly the
  certificate whose SHA-256 (of the DER) matches is accepted, CA and host name checks are
  then replaced by the pin.
- Overwriting: the rename (RNFR/RNTO) replaces an existing file on most servers; when the
  server refuses, the existing final file is deleted first and the rename repeated.
"""

from __future__ import annotations

import contextlib
import ftplib
import hashlib
import hmac
import posixpath
import re
import socket
import ssl
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from engine.errors import Reason, Step, TransportError
from engine.runs import RunCancelled
from engine.transports.base import Deadline, Transport, map_os_error

if TYPE_CHECKING:
    from engine.config import Target

# Plain FTP sends the file with `sendall` in 1 MiB blocks: against pyftpdlib on loopback it
# measured 20-30 % faster than zero-copy `sendfile` (and than 256 KiB blocks), a fixed
# SO_SNDBUF of 4 MiB no faster than the kernel's autotuning (bench/transfer.py, variants
# ftp-sendfile, docs/benchmarks.md). `SENDFILE` switches back, for measuring.
BLOCK_SIZE = 1024 * 1024
SENDFILE = False
SENDFILE_SLICE = 8 * 1024 * 1024
_DRAIN_TIMEOUT = 5.0
_MLST_SIZE = re.compile(r"(?:^|[\s;])size=(\d+)", re.IGNORECASE)
_NOT_SUPPORTED = {"500", "501", "502", "504"}


class _TLSClient(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session and,
    when pinned, carry the pinned certificate too."""

    pin: str | None = None

    def ntransfercmd(
        self, cmd: str, rest: int | str | None = None
    ) -> tuple[socket.socket, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        control = self.sock
        try:
            if not isinstance(control, ssl.SSLSocket):
                raise ssl.SSLError("Steuerverbindung ist nicht verschlüsselt")
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=control.session
            )
            if self.pin:
                check_pin(conn, self.pin)
        except BaseException:
            conn.close()
            raise
        return conn, size


def certificate_fingerprint(sock: ssl.SSLSocket) -> str:
    """SHA-256 of the peer certificate's DER, lower-case hex (the stored pin format)."""
    der = sock.getpeercert(binary_form=True)
    return hashlib.sha256(der).hexdigest() if der else ""


def show_fingerprint(hex_digest: str) -> str:
    """`AB:CD:…` as browsers and FileZilla show it."""
    return ":".join(hex_digest[i : i + 2] for i in range(0, len(hex_digest), 2)).upper()


def normalize_pin(pin: str) -> str:
    return pin.strip().removeprefix("SHA256:").removeprefix("sha256:").replace(":", "").lower()


def check_pin(sock: ssl.SSLSocket, pin: str) -> None:
    actual = certificate_fingerprint(sock)
    if not hmac.compare_digest(actual, pin):
        raise TransportError(
            Step.CERTIFICATE,
            Reason.CERT_UNTRUSTED,
            detail=f"Fingerabdruck SHA-256 {show_fingerprint(actual)} statt des hinterlegten",
        )


def _send_blocks(conn: socket.socket, source: BinaryIO, deadline: Deadline, limit: float) -> None:
    while chunk := source.read(BLOCK_SIZE):
        conn.settimeout(deadline.timeout(limit))
        conn.sendall(chunk)
        deadline.check(Step.UPLOAD)


def _send_file(conn: socket.socket, source: BinaryIO, deadline: Deadline, limit: float) -> None:
    """Plain data connection: block by block, or (`SENDFILE`) zero-copy `sendfile` in
    slices (the deadline is checked between them)."""
    if not SENDFILE or not _has_descriptor(source):
        _send_blocks(conn, source, deadline, limit)
        return
    offset = source.tell()
    while True:
        conn.settimeout(deadline.timeout(limit))
        sent = conn.sendfile(source, offset, SENDFILE_SLICE)
        if not sent:
            return
        offset += sent
        deadline.check(Step.UPLOAD)


def _has_descriptor(source: BinaryIO) -> bool:
    try:
        source.fileno()
    except (OSError, ValueError):
        return False
    return True


def _code(exc: ftplib.Error) -> str:
    text = str(exc)
    return text[:3] if text[:3].isdigit() else ""


class FTPTransport(Transport):
    protocol = "ftp"

    def __init__(self, target: Target, *, timeout: float = 30, transfer_deadline: float = 600):
        super().__init__(target, timeout=timeout, transfer_deadline=transfer_deadline)
        self._ftp: ftplib.FTP | None = None
        self._broken = False
        self._home = "/"
        self._data: socket.socket | None = None  # the data connection of an upload

    def _sockets(self) -> list[socket.socket]:
        ftp = self._ftp
        return [s for s in (ftp.sock if ftp else None, self._data) if s is not None]

    # -- connection ------------------------------------------------------------------

    def _new_client(self) -> ftplib.FTP:
        return ftplib.FTP(timeout=self.timeout, encoding="utf-8")

    def _secure(self, ftp: ftplib.FTP, host: str, port: int) -> str:
        """FTPS hook: TLS on the control connection; returns a description."""
        return "FTP, unverschlüsselt"

    def _after_login(self, ftp: ftplib.FTP) -> None:
        """FTPS hook: protect the data connections."""

    def open_connection(self) -> None:
        host = self._require(self.target.host, "FTP Hostname")
        port = self.target.effective_port
        self.close()
        self._broken = False
        ftp = self._new_client()
        self._ftp = ftp
        with self._control(Step.CONNECT):
            ftp.connect(host, port, timeout=self.timeout)
        self.connection_info = f"{host}:{port} ({self._secure(ftp, host, port)})"

    def login(self) -> None:
        ftp = self._client(Step.LOGIN)
        user = self._require(self.target.user, "Benutzer")
        with self._control(Step.LOGIN):
            ftp.login(user, self._secret)
            self._after_login(ftp)
            ftp.set_pasv(True)
            ftp.voidcmd("TYPE I")
            self._home = ftp.pwd()

    @property
    def usable(self) -> bool:
        return self._ftp is not None and not self._broken

    def close(self) -> None:
        ftp, self._ftp = self._ftp, None
        if ftp is None:
            return
        try:
            if not self._broken and ftp.sock is not None:
                with contextlib.suppress(Exception):
                    ftp.sock.settimeout(min(self.timeout, _DRAIN_TIMEOUT))
                    ftp.quit()
        finally:
            ftp.close()

    # -- folders -----------------------------------------------------------------------

    def ensure_directory(self, path: str) -> str:
        ftp = self._client(Step.DIRECTORY)
        base = "/" if path.startswith("/") else self._home
        target = posixpath.normpath(posixpath.join(base, path))
        with self._control(Step.DIRECTORY):
            if self._can_enter(ftp, target):
                return ftp.pwd()
            current = base
            for part in posixpath.relpath(target, base).split("/"):
                current = posixpath.join(current, part)
                if self._can_enter(ftp, current):
                    continue
                try:
                    ftp.mkd(current)
                except ftplib.error_perm:
                    if not self._can_enter(ftp, current):  # created meanwhile by someone else?
                        raise
                    continue
                ftp.cwd(current)
            return ftp.pwd()

    @staticmethod
    def _can_enter(ftp: ftplib.FTP, path: str) -> bool:
        try:
            ftp.cwd(path)
        except ftplib.error_perm:
            return False
        return True

    # -- files -------------------------------------------------------------------------

    def _put(self, source: BinaryIO, remote_path: str, deadline: Deadline) -> None:
        ftp = self._client(Step.UPLOAD)
        try:  # binary: `login` sent TYPE I, and nothing on this connection changes it
            conn = ftp.transfercmd(f"STOR {remote_path}")
        except ftplib.Error as exc:
            raise self._map_error(exc, Step.UPLOAD) from exc
        except Exception as exc:
            # The data connection failed after STOR was accepted: a reply is on its way.
            self._drain_reply()
            raise self._map_error(exc, Step.UPLOAD) from exc
        self._data = conn
        try:
            with conn:
                if isinstance(conn, ssl.SSLSocket):
                    _send_blocks(conn, source, deadline, self.timeout)
                    conn.unwrap()
                else:
                    _send_file(conn, source, deadline, self.timeout)
        except (TransportError, RunCancelled):  # cancelled: STOR's answer is still due
            self._drain_reply()
            raise
        except Exception as exc:
            self._drain_reply()
            raise self._map_error(exc, Step.UPLOAD) from exc
        finally:
            self._data = None
        with self._control(Step.UPLOAD):
            if ftp.sock is not None:
                ftp.sock.settimeout(deadline.timeout(self.timeout))
            try:
                ftp.voidresp()
            finally:
                if ftp.sock is not None:
                    ftp.sock.settimeout(self.timeout)

    def _drain_reply(self) -> None:
        """After a broken data transfer the server still answers STOR (226 or 426); read that
        answer so the control connection stays in step, or give the connection up."""
        ftp = self._ftp
        if ftp is None or self._broken or ftp.sock is None:
            return
        try:
            ftp.sock.settimeout(min(self.timeout, _DRAIN_TIMEOUT))
            ftp.getresp()
        except ftplib.Error:
            pass
        except Exception:
            self._broken = True
        finally:
            with contextlib.suppress(OSError):
                if ftp.sock is not None:
                    ftp.sock.settimeout(self.timeout)

    def _size(self, remote_path: str) -> int:
        ftp = self._client(Step.VERIFY)
        with self._control(Step.VERIFY):
            try:
                size = ftp.size(remote_path)
            except ftplib.error_perm as exc:
                if _code(exc) not in _NOT_SUPPORTED:
                    raise
                size = None
            if size is None:  # no SIZE (RFC 3659): try MLST
                match = _MLST_SIZE.search(ftp.sendcmd(f"MLST {remote_path}"))
                if match is None:
                    raise TransportError(
                        Step.VERIFY, Reason.PROTOCOL, detail="Server nennt keine Dateigröße"
                    )
                size = int(match.group(1))
            return size

    def _replace(self, source: str, target: str) -> None:
        ftp = self._client(Step.RENAME)
        with self._control(Step.RENAME):
            try:
                ftp.rename(source, target)
            except ftplib.error_perm as first:
                # Some servers (IIS, some FileZilla setups) refuse to overwrite.
                try:
                    ftp.delete(target)
                except ftplib.error_perm:
                    raise first from None
                ftp.rename(source, target)

    def _remove(self, remote_path: str) -> None:
        ftp = self._client(Step.DELETE)
        with self._control(Step.DELETE):
            ftp.delete(remote_path)

    # -- errors ------------------------------------------------------------------------

    def _client(self, step: str) -> ftplib.FTP:
        if self._ftp is None:
            raise TransportError(step, Reason.CLOSED)
        if self._broken:
            raise TransportError(step, Reason.CUT, transient=True)
        return self._ftp

    @contextlib.contextmanager
    def _control(self, step: str) -> Iterator[None]:
        """A control-connection operation: errors are mapped, and a socket-level error means
        the connection can't be trusted any more."""
        try:
            yield
        except TransportError:
            raise
        except Exception as exc:
            if not isinstance(exc, ftplib.Error):
                self._broken = True
            raise self._map_error(exc, step) from exc

    def _map_error(self, exc: BaseException, step: str) -> TransportError:
        if isinstance(exc, ftplib.error_perm):
            return self._map_permanent(exc, step)
        if isinstance(exc, ftplib.error_temp):
            code, detail = _code(exc), self._scrub(str(exc))
            if code in ("421", "425", "426"):
                return TransportError(step, Reason.CUT, detail=detail, transient=True)
            if code == "452":
                return TransportError(step, Reason.DISK_FULL, detail=detail)
            return TransportError(step, Reason.SERVER_ERROR, detail=detail, transient=True)
        if isinstance(exc, ftplib.error_reply | ftplib.error_proto):
            return TransportError(step, Reason.PROTOCOL, detail=self._scrub(str(exc)))
        mapped = map_os_error(exc, step)
        if mapped is not None:
            return mapped
        return TransportError(step, Reason.SERVER_ERROR, detail=type(exc).__name__, transient=True)

    def _map_permanent(self, exc: ftplib.error_perm, step: str) -> TransportError:
        code, detail = _code(exc), self._scrub(str(exc))
        if step == Step.LOGIN or code in ("530", "532"):
            return TransportError(Step.LOGIN, Reason.LOGIN_REFUSED, detail=detail)
        if code == "552":
            return TransportError(step, Reason.DISK_FULL, detail=detail)
        if code in ("550", "553", "532"):
            if step == Step.VERIFY:
                return TransportError(step, Reason.NOT_FOUND, detail=detail)
            return TransportError(step, Reason.NO_WRITE, detail=detail)
        return TransportError(step, Reason.SERVER_REFUSED, detail=detail)


class FTPSTransport(FTPTransport):
    protocol = "ftps"

    def __init__(self, target: Target, *, timeout: float = 30, transfer_deadline: float = 600):
        super().__init__(target, timeout=timeout, transfer_deadline=transfer_deadline)
        self._pin = normalize_pin(target.tls_fingerprint) if target.tls_fingerprint else None

    def _context(self) -> ssl.SSLContext:
        if self._pin:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            cafile = self.target.tls_ca_file or None
            try:
                context = ssl.create_default_context(cafile=cafile)
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise TransportError(
                    Step.CERTIFICATE, "CA-Datei nicht lesbar", detail=str(cafile)
                ) from exc
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def _new_client(self) -> ftplib.FTP:
        client = _TLSClient(context=self._context(), timeout=self.timeout, encoding="utf-8")
        client.pin = self._pin
        return client

    def _secure(self, ftp: ftplib.FTP, host: str, port: int) -> str:
        assert isinstance(ftp, _TLSClient)
        try:
            ftp.auth()
        except ftplib.error_perm as exc:
            self._broken = True
            raise TransportError(Step.CONNECT, Reason.NO_TLS, detail=self._scrub(str(exc))) from exc
        except ssl.SSLCertVerificationError as exc:
            self._broken = True
            fp = self._peek_fingerprint(host, port)
            detail = exc.verify_message or "Prüfung fehlgeschlagen"
            if fp:
                detail += f"; Fingerabdruck SHA-256 {show_fingerprint(fp)}"
            raise TransportError(Step.CERTIFICATE, Reason.CERT_UNTRUSTED, detail=detail) from exc
        except Exception as exc:
            self._broken = True
            raise self._map_error(exc, Step.CONNECT) from exc
        sock = ftp.sock
        assert isinstance(sock, ssl.SSLSocket)
        if self._pin:
            try:
                check_pin(sock, self._pin)
            except TransportError:
                self._broken = True
                raise
        how = "Fingerabdruck angeheftet" if self._pin else "Zertifikat geprüft"
        return f"FTPS, {sock.version()}, {how}"

    def _after_login(self, ftp: ftplib.FTP) -> None:
        assert isinstance(ftp, _TLSClient)
        ftp.prot_p()

    def _peek_fingerprint(self, host: str, port: int) -> str:
        """The fingerprint of a certificate that failed verification, so an admin can
        compare and pin it. Best effort: a second connection, nothing is sent after TLS."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        peek = ftplib.FTP_TLS(context=context, timeout=min(self.timeout, _DRAIN_TIMEOUT))
        try:
            peek.connect(host, port)
            peek.auth()
            sock = peek.sock
            return certificate_fingerprint(sock) if isinstance(sock, ssl.SSLSocket) else ""
        except Exception:
            return ""
        finally:
            peek.close()
