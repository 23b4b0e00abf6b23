"""SFTP with paramiko, against buchex's own known_hosts (see `known_hosts.py`).

Host keys: RejectPolicy semantics. An unknown key fails with `UnknownHostKey` unless the
caller passes `trust_new_key`, the exact `SHA256:…` fingerprint the admin confirmed, and
the server shows a key with that fingerprint: then it is stored and the connection goes
on. Another key fails with `HostKeyNotConfirmed` naming both fingerprints, and nothing is
stored (there is no "trust whatever comes"). A changed key fails with `ChangedHostKey`,
trust or not, unless the caller passes `replace_key` = (stored, new), the fingerprints an
admin saw and confirmed: then, and only if the stored keys are still those and the server
shows exactly the new one, the stored keys of that host are replaced by it.

Login (nothing from the account buchex runs under: no agent, no ~/.ssh keys):
- key file set: public-key login. If the key file is encrypted, the configured password is
  its passphrase and is never sent to the server. If the key file is not encrypted and a
  password is set, password login is tried when the key is refused or the server asks for
  a second factor.
- no key file: password login (paramiko falls back to keyboard-interactive when the server
  only offers that).

Speed (bench/transfer.py, docs/benchmarks.md): AES-GCM is preferred (its MAC is computed
inside OpenSSL; with paramiko's separate HMAC, AES-CTR is about three times slower; paramiko
has no chacha20-poly1305). Uploads do not go through paramiko's `SFTPFile.write`, whose
pipelining drains every answer once 100 writes are out (the pipe runs empty, then refills):
`_put` keeps up to `MAX_OUTSTANDING` write requests in flight, reads answers as they arrive,
oldest first (every status is checked), and sizes each request to fill whole SSH packets:
up to the server's `limits@openssh.com` max-write-length (OpenSSH: 7 packets, ~224 KiB),
else one packet of at most 32 KiB, the size every server must accept.
"""

from __future__ import annotations

import contextlib
import posixpath
import socket
import stat
import struct
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from paramiko.sftp import (
    CMD_EXTENDED,
    CMD_EXTENDED_REPLY,
    CMD_INIT,
    CMD_STATUS,
    CMD_VERSION,
    CMD_WRITE,
    SFTPError,
)
from paramiko.ssh_exception import IncompatiblePeer

from engine.errors import (
    ChangedHostKey,
    HostKeyNotConfirmed,
    Reason,
    Step,
    TransportError,
    UnknownHostKey,
)
from engine.transports.base import Deadline, Transport, map_os_error
from engine.transports.known_hosts import (
    KnownHosts,
    KnownHostsError,
    KnownKey,
    Verdict,
    fingerprint,
    host_pattern,
)

if TYPE_CHECKING:
    from engine.config import Target

# Tuned against OpenSSH 9.2 sshd on loopback (2 cores), see bench/transfer.py. Our own window
# and packet size only bound what the server sends us (answers): no matter for uploads.
WINDOW_SIZE = 4 * 1024 * 1024
PACKET_SIZE = 32 * 1024
REQUEST_SIZE = 32 * 1024  # write data without limits@openssh.com: what every server accepts
MAX_REQUEST_SIZE = 256 * 1024  # write data with it, at most (and at most the server's limit)
MAX_OUTSTANDING = 64  # write requests in flight
# paramiko keeps 64 bytes of each SSH packet in reserve and a write request adds its header
# (25 bytes + the handle): a write of 32 KiB data would go out as two packets.
_PACKET_RESERVE = 64
_WRITE_HEADER = 25
BLOCK_SIZE = 1024 * 1024  # local reads: whole requests of about this much
LIMITS = "limits@openssh.com"
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
PREFERRED_MACS = ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com")
POSIX_RENAME = "posix-rename@openssh.com"
# known_hosts key type -> host key algorithms to ask for, best first
_HOST_KEY_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


class _SFTPClient(paramiko.SFTPClient):
    """Remembers the extensions the server announces in its VERSION packet (paramiko
    drops them), to know whether `posix-rename@openssh.com` is there; and sends write
    requests without waiting, for `SFTPTransport._put` (paramiko's internals: request
    numbers, `_expecting`, `_read_response`, as of paramiko 5.1)."""

    extensions: dict[str, bytes]
    answers: _Answers

    def _send_version(self) -> int:
        self.extensions = {}
        self.answers = _Answers()
        msg = paramiko.Message()
        msg.add_int(3)
        self._send_packet(CMD_INIT, msg)  # type: ignore[attr-defined]
        kind, data = self._read_packet()  # type: ignore[attr-defined]
        if kind != CMD_VERSION:
            raise SFTPError("Incompatible sftp protocol")
        version: int = struct.unpack(">I", data[:4])[0]
        reply = paramiko.Message(data[4:])
        with contextlib.suppress(Exception):  # a malformed extension list is no reason to fail
            while reply.get_remainder():
                name = reply.get_text()
                self.extensions[name] = reply.get_binary()
        return version

    def write_limit(self) -> int | None:
        """The server's max-write-length (`limits@openssh.com`), None if it names none
        (or answers the request with an error: then the 32 KiB every server takes)."""
        if LIMITS not in self.extensions:
            return None
        try:
            kind, reply = self._request(CMD_EXTENDED, LIMITS)  # type: ignore[attr-defined]
        except (OSError, SFTPError):
            return None
        if kind != CMD_EXTENDED_REPLY or reply is None:
            return None
        _max_packet, _max_read, max_write = (reply.get_int64() for _ in range(3))
        return int(max_write) or None

    def send_write(self, handle: bytes, offset: int, data: memoryview) -> int:
        """Send one SSH_FXP_WRITE without waiting for its answer; its request number.
        Built in one piece and handed to the channel as a memoryview: paramiko's request
        path copies the data twice more and re-slices the rest of it per packet."""
        with self._lock:  # type: ignore[attr-defined]
            num: int = self.request_number
            self._expecting[num] = self.answers  # type: ignore[attr-defined]
            self.request_number += 1
        body = 4 + 4 + len(handle) + 8 + 4 + len(data)
        head = struct.pack(">IBII", body + 1, CMD_WRITE, num, len(handle))
        packet = head + handle + struct.pack(">QI", offset, len(data)) + data
        channel = self.get_channel()
        assert channel is not None
        channel.sendall(memoryview(packet))  # type: ignore[arg-type]
        return num

    def check_write(self, num: int) -> None:
        """Wait for the answer to write request `num`; raises OSError on an error status.
        Answers that arrive on the way (a server may answer out of order) are kept in
        `answers` and checked when their turn comes."""
        early = self.answers.pop(num)
        if early is None:
            kind, _ = self._read_response(num)  # type: ignore[attr-defined]  # checks status
        else:
            kind, reply = early
            if kind == CMD_STATUS:
                self._convert_status(reply)  # type: ignore[attr-defined]
        if kind != CMD_STATUS:
            raise SFTPError("Antwort auf WRITE ist kein Status")


class _Answers:
    """Answers to write requests that paramiko read while waiting for another one (it hands
    them to the request's `_async_response`), by request number."""

    def __init__(self) -> None:
        self._by_number: dict[int, tuple[int, paramiko.Message]] = {}

    def _async_response(self, kind: int, reply: paramiko.Message, num: int) -> None:
        self._by_number[num] = (kind, reply)

    def pop(self, num: int) -> tuple[int, paramiko.Message] | None:
        return self._by_number.pop(num, None)

    def clear(self) -> None:
        self._by_number.clear()


class SFTPTransport(Transport):
    protocol = "sftp"

    def __init__(
        self,
        target: Target,
        *,
        known_hosts: Path,
        trust_new_key: str | None = None,
        replace_key: tuple[str | None, str] | None = None,
        timeout: float = 30,
        transfer_deadline: float = 600,
    ):
        super().__init__(target, timeout=timeout, transfer_deadline=transfer_deadline)
        self.known_hosts = KnownHosts(known_hosts)
        self.trust_new_key = trust_new_key
        self.replace_key = replace_key
        self.host_key_fingerprint = ""
        self.host_key_stored = False  # True when this connection trusted a new key
        self.host_key_replaced = ""  # the fingerprints replaced by this connection, if any
        self._ssh: paramiko.Transport | None = None
        self._sftp: _SFTPClient | None = None
        self._home = "/"
        self._write_limit: int | None = None  # the server's, asked once per connection

    # -- connection ------------------------------------------------------------------

    def open_connection(self) -> None:
        host = self._require(self.target.host, "FTP Hostname")
        port = self.target.effective_port
        self.close()
        with self._step(Step.CONNECT):
            sock = socket.create_connection((host, port), timeout=self.timeout)
        # paramiko writes whole SSH packets: Nagle only holds back the small ones of the
        # handshake, login and channel set-up until the server's delayed ACK (40 ms each on
        # Linux; ~0.1 s of every connection, measured)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            ssh = paramiko.Transport(
                sock, default_window_size=WINDOW_SIZE, default_max_packet_size=PACKET_SIZE
            )
        except Exception as exc:
            sock.close()
            raise self._map_error(exc, Step.CONNECT) from exc
        self._ssh = ssh
        ssh.banner_timeout = ssh.handshake_timeout = self.timeout
        ssh.auth_timeout = ssh.channel_timeout = self.timeout
        self._set_preferences(ssh, host, port)
        with self._step(Step.CONNECT):
            ssh.start_client(timeout=self.timeout)
            if not ssh.is_active() or ssh.host_key is None:
                raise TimeoutError("SSH-Aushandlung nicht abgeschlossen")
            key = ssh.get_remote_server_key()
        self._check_host_key(host, port, key)
        state = "neu gespeichert" if self.host_key_stored else "bekannt"
        if self.host_key_replaced:
            state = f"ersetzt, vorher {self.host_key_replaced}"
        cipher = getattr(ssh, "remote_cipher", "?")
        self.connection_info = (
            f"{host}:{port} (SFTP, {cipher}, Hostschlüssel {key.get_name()}"
            f" {self.host_key_fingerprint} {state})"
        )

    def _set_preferences(self, ssh: paramiko.Transport, host: str, port: int) -> None:
        options = ssh.get_security_options()
        options.ciphers = _ordered(options.ciphers, PREFERRED_CIPHERS)
        options.digests = _ordered(options.digests, PREFERRED_MACS)
        # Ask for the key types we already know first, as OpenSSH does: otherwise a server
        # with an RSA and an Ed25519 key could look "changed" only because of the order.
        try:
            known = [k.key_type for k in self.known_hosts.keys_for(host, port) if not k.revoked]
        except KnownHostsError:
            known = []
        wanted = [a for t in known for a in _HOST_KEY_ALGORITHMS.get(t, (t,))]
        options.key_types = _ordered(options.key_types, tuple(wanted))

    def _check_host_key(self, host: str, port: int, key: paramiko.PKey) -> None:
        key_type, blob = key.get_name(), key.asbytes()
        actual = fingerprint(blob)
        self.host_key_fingerprint = actual
        try:
            verdict, stored = self.known_hosts.verify(host, port, key_type, blob)
        except KnownHostsError as exc:
            raise TransportError(
                Step.HOST_KEY, "known_hosts nicht lesbar", detail=str(exc)
            ) from exc
        if verdict is Verdict.KNOWN:
            return
        if verdict is Verdict.REVOKED:
            raise TransportError(Step.HOST_KEY, Reason.HOST_KEY_REVOKED, detail=actual)
        name = host_pattern(host, port)
        if verdict is Verdict.CHANGED:
            expected = ", ".join(f"{k.key_type} {k.fingerprint}" for k in stored)
            if self._replace_host_key(host, port, key_type, blob, stored):
                self.host_key_replaced = expected
                return
            raise ChangedHostKey(expected, f"{key_type} {actual}", host=name)
        trust = self.trust_new_key
        if not isinstance(trust, str) or not trust.strip():
            raise UnknownHostKey(actual, key_type=key_type, host=name)
        if not _same_fingerprint(trust, actual):
            raise HostKeyNotConfirmed(
                normal_fingerprint(trust), actual, key_type=key_type, host=name
            )
        try:
            self.known_hosts.add(host, port, key_type, blob)
        except Exception as exc:
            raise TransportError(
                Step.HOST_KEY, "known_hosts nicht schreibbar", detail=str(exc)
            ) from exc
        self.host_key_stored = True

    def _replace_host_key(
        self, host: str, port: int, key_type: str, blob: bytes, stored: Sequence[KnownKey]
    ) -> bool:
        """Replace the stored keys by the presented one, if an admin confirmed exactly this
        change (`replace_key`); False: not asked to, or not the confirmed change."""
        if self.replace_key is None:
            return False
        old, new = self.replace_key
        if not _same_fingerprint(new, fingerprint(blob)):
            return False
        expected = None if old is None else _fingerprints(old)
        if expected is not None and expected != {k.fingerprint for k in stored}:
            return False
        try:
            return self.known_hosts.replace(host, port, key_type, blob, expected=expected)
        except Exception as exc:
            raise TransportError(
                Step.HOST_KEY, "known_hosts nicht schreibbar", detail=str(exc)
            ) from exc

    def login(self) -> None:
        ssh = self._transport(Step.LOGIN)
        user = self._require(self.target.user, "Benutzer")
        with self._step(Step.LOGIN):
            if self.target.key_file:
                key, passphrase_used = self._load_key(self.target.key_file)
                self._login_with_key(ssh, user, key, try_password=not passphrase_used)
            elif self._secret:
                ssh.auth_password(user, self._secret)
            else:
                raise TransportError(
                    Step.LOGIN, Reason.LOGIN_REFUSED, detail="weder Passwort noch Schlüsseldatei"
                )
            if not ssh.is_authenticated():
                raise TransportError(Step.LOGIN, Reason.LOGIN_REFUSED)
            sftp = _SFTPClient.from_transport(
                ssh, window_size=WINDOW_SIZE, max_packet_size=PACKET_SIZE
            )
            if sftp is None:
                raise TransportError(Step.LOGIN, Reason.SERVER_REFUSED, detail="kein SFTP-Kanal")
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(self.timeout)
            self._sftp = sftp
            self._write_limit = None
            self._home = sftp.normalize(".")

    def _login_with_key(
        self, ssh: paramiko.Transport, user: str, key: paramiko.PKey, *, try_password: bool
    ) -> None:
        try:
            remaining = ssh.auth_publickey(user, key)
        except paramiko.AuthenticationException:
            if not (try_password and self._secret):
                raise
            ssh.auth_password(user, self._secret)
            return
        if remaining and try_password and self._secret:  # the server wants a second factor
            ssh.auth_password(user, self._secret)

    def _load_key(self, path: str) -> tuple[paramiko.PKey, bool]:
        """The key and whether the password was used as its passphrase."""
        try:
            try:
                return load_private_key(Path(path), None), False
            except (TypeError, paramiko.PasswordRequiredException):  # encrypted
                if not self._secret:
                    raise TransportError(
                        Step.LOGIN, Reason.KEY_FILE_PASSWORD, detail=path
                    ) from None
            try:
                return load_private_key(Path(path), self._secret), True
            except (TypeError, ValueError, paramiko.SSHException) as exc:
                raise TransportError(Step.LOGIN, Reason.KEY_FILE_PASSWORD, detail=path) from exc
        except TransportError:
            raise
        except OSError as exc:
            raise TransportError(
                Step.LOGIN, Reason.KEY_FILE, detail=f"{path}: {exc.strerror}"
            ) from exc
        except Exception as exc:
            raise TransportError(
                Step.LOGIN, Reason.KEY_FILE, detail=f"{path}: unbekanntes Format"
            ) from exc

    @property
    def usable(self) -> bool:
        return self._sftp is not None and self._ssh is not None and self._ssh.is_active()

    def _sockets(self) -> list[socket.socket]:
        sock = self._ssh.sock if self._ssh is not None else None
        return [sock] if isinstance(sock, socket.socket) else []

    def close(self) -> None:
        sftp, self._sftp = self._sftp, None
        ssh, self._ssh = self._ssh, None
        if sftp is not None:
            with contextlib.suppress(Exception):
                sftp.close()
        if ssh is not None:
            with contextlib.suppress(Exception):
                ssh.close()

    # -- folders -----------------------------------------------------------------------

    def ensure_directory(self, path: str) -> str:
        sftp = self._client(Step.DIRECTORY)
        base = "/" if path.startswith("/") else self._home
        target = posixpath.normpath(posixpath.join(base, path))
        with self._step(Step.DIRECTORY):
            current = base
            parts = [] if target == base else posixpath.relpath(target, base).split("/")
            for part in parts:
                current = posixpath.join(current, part)
                try:
                    mode = sftp.stat(current).st_mode
                except FileNotFoundError:
                    try:
                        sftp.mkdir(current)
                    except OSError:
                        if not self._is_dir(sftp, current):  # created meanwhile?
                            raise
                    continue
                if mode is not None and not stat.S_ISDIR(mode):
                    raise TransportError(
                        Step.DIRECTORY, "ist kein Verzeichnis", detail=self._scrub(current)
                    )
            return sftp.normalize(target)

    @staticmethod
    def _is_dir(sftp: paramiko.SFTPClient, path: str) -> bool:
        try:
            mode = sftp.stat(path).st_mode
        except OSError:
            return False
        return mode is not None and stat.S_ISDIR(mode)

    # -- files -------------------------------------------------------------------------

    def _put(self, source: BinaryIO, remote_path: str, deadline: Deadline) -> None:
        sftp = self._client(Step.UPLOAD)
        channel = sftp.get_channel()
        if channel is None:
            raise TransportError(Step.UPLOAD, Reason.CLOSED)
        with self._step(Step.UPLOAD):
            if self._write_limit is None:
                self._write_limit = sftp.write_limit() or 0
            remote = sftp.open(remote_path, "wb", bufsize=0)
            try:
                handle = cast(bytes, remote.handle)  # the stubs say SFTPHandle: it is bytes
                size = _request_size(channel.out_max_packet_size, len(handle), self._write_limit)
                block = size * max(1, BLOCK_SIZE // size)
                waiting: deque[int] = deque()
                sftp.answers.clear()  # of an earlier upload that failed half-way
                offset = 0
                while chunk := source.read(block):
                    channel.settimeout(deadline.timeout(self.timeout))
                    data = memoryview(chunk)
                    for start in range(0, len(data), size):
                        piece = data[start : start + size]
                        waiting.append(sftp.send_write(handle, offset, piece))
                        offset += len(piece)
                        while waiting and (len(waiting) > MAX_OUTSTANDING or channel.recv_ready()):
                            sftp.check_write(waiting.popleft())
                    deadline.check(Step.UPLOAD)
                channel.settimeout(deadline.timeout(self.timeout))
                while waiting:
                    sftp.check_write(waiting.popleft())
            except BaseException:
                with contextlib.suppress(Exception):
                    remote.close()
                raise
            remote.close()
            channel.settimeout(self.timeout)

    def _size(self, remote_path: str) -> int:
        sftp = self._client(Step.VERIFY)
        with self._step(Step.VERIFY):
            size = sftp.stat(remote_path).st_size
        return -1 if size is None else size

    def _replace(self, source: str, target: str) -> None:
        sftp = self._client(Step.RENAME)
        with self._step(Step.RENAME):
            if POSIX_RENAME in sftp.extensions:
                sftp.posix_rename(source, target)
                return
            # Plain SFTP v3 rename refuses an existing target.
            with contextlib.suppress(FileNotFoundError):
                sftp.remove(target)
            sftp.rename(source, target)

    def _remove(self, remote_path: str) -> None:
        sftp = self._client(Step.DELETE)
        with self._step(Step.DELETE):
            sftp.remove(remote_path)

    # -- errors ------------------------------------------------------------------------

    def _transport(self, step: str) -> paramiko.Transport:
        if self._ssh is None:
            raise TransportError(step, Reason.CLOSED)
        if not self._ssh.is_active():
            raise TransportError(step, Reason.CUT, transient=True)
        return self._ssh

    def _client(self, step: str) -> _SFTPClient:
        self._transport(step)
        if self._sftp is None:
            raise TransportError(step, Reason.CLOSED)
        return self._sftp

    def _map_error(self, exc: BaseException, step: str) -> TransportError:
        if isinstance(exc, paramiko.PasswordRequiredException):
            return TransportError(Step.LOGIN, Reason.KEY_FILE_PASSWORD)
        if isinstance(exc, paramiko.BadAuthenticationType):
            allowed = ", ".join(exc.allowed_types)
            return TransportError(
                Step.LOGIN, Reason.LOGIN_REFUSED, detail=f"Server erlaubt nur: {allowed}"
            )
        if isinstance(exc, paramiko.AuthenticationException):
            return TransportError(Step.LOGIN, Reason.LOGIN_REFUSED)
        if isinstance(exc, IncompatiblePeer):
            return TransportError(step, Reason.NO_COMMON_ALGORITHM, detail=self._scrub(str(exc)))
        if isinstance(exc, paramiko.SSHException):
            return self._map_ssh_error(exc, step)
        if isinstance(exc, SFTPError):
            return TransportError(step, Reason.PROTOCOL, detail=self._scrub(str(exc)))
        if isinstance(exc, OSError) and exc.errno is None and not isinstance(exc, TimeoutError):
            # paramiko: a closed channel, or an SFTP status without an errno equivalent
            if self._ssh is None or not self._ssh.is_active():
                return TransportError(step, Reason.CUT, transient=True)
            text = self._scrub(" ".join(str(a) for a in exc.args))
            return TransportError(step, Reason.SERVER_ERROR, detail=text)
        mapped = map_os_error(exc, step)
        if mapped is not None:
            if mapped.reason == Reason.NOT_FOUND and step in (Step.UPLOAD, Step.DIRECTORY):
                mapped.detail = mapped.detail or "Verzeichnis fehlt"
            return mapped
        return TransportError(step, Reason.SERVER_ERROR, detail=type(exc).__name__, transient=True)

    def _map_ssh_error(self, exc: paramiko.SSHException, step: str) -> TransportError:
        text = str(exc)
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, TimeoutError) or "No existing session" in text:
            return TransportError(step, Reason.TIMEOUT, transient=True)
        if "Indecipherable protocol version" in text or "Invalid SSH banner" in text:
            return TransportError(step, Reason.NOT_SSH, detail=self._scrub(text, 80))
        if isinstance(cause, EOFError | ConnectionError) or "banner" in text:
            return TransportError(step, Reason.CUT, transient=True)
        if "Incompatible" in text or "no acceptable" in text:
            return TransportError(step, Reason.NO_COMMON_ALGORITHM, detail=self._scrub(text))
        return TransportError(step, Reason.CUT, detail=self._scrub(text), transient=True)


def load_private_key(path: Path, password: str | None) -> paramiko.PKey:
    """An Ed25519, ECDSA or RSA private key, OpenSSH or PEM format. Raises TypeError when the
    key is encrypted and no password is given, ValueError for a wrong password or format.
    (paramiko 5's `PKey.from_path` hands a str password to `cryptography`, which wants
    bytes, so encrypted keys fail there.)"""
    data = path.read_bytes()
    secret = password.encode("utf-8") if password is not None else None
    loaded: object
    try:
        loaded = serialization.load_ssh_private_key(data, password=secret)
    except ValueError:
        loaded = serialization.load_pem_private_key(data, password=secret)
    key_class: type[paramiko.PKey]
    if isinstance(loaded, ed25519.Ed25519PrivateKey):
        key_class = paramiko.Ed25519Key
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        key_class = paramiko.ECDSAKey
    elif isinstance(loaded, rsa.RSAPrivateKey):
        key_class = paramiko.RSAKey
    else:
        raise ValueError(f"Schlüsseltyp {type(loaded).__name__} nicht unterstützt")
    return key_class.from_private_key_file(str(path), password=password)


def _ordered(available: Sequence[str], preferred: Sequence[str]) -> tuple[str, ...]:
    first = tuple(p for p in preferred if p in available)
    return first + tuple(a for a in available if a not in first)


def normal_fingerprint(given: str) -> str:
    """`SHA256:` + unpadded base64, as OpenSSH and `fingerprint()` write it."""
    given = given.strip()
    if not given.startswith("SHA256:"):
        given = "SHA256:" + given
    return given.rstrip("=")


def _same_fingerprint(given: str, actual: str) -> bool:
    return normal_fingerprint(given) == actual


def _fingerprints(text: str) -> set[str]:
    """The `SHA256:…` fingerprints named in `text` ("ssh-ed25519 SHA256:…, ssh-rsa …")."""
    return {
        normal_fingerprint(w) for w in text.replace(",", " ").split() if w.startswith("SHA256:")
    }


def _request_size(max_packet: int, handle: int, limit: int) -> int:
    """The data of one write request: as many whole SSH packets as the server's write limit
    (`limit`, 0: none announced, then 32 KiB) and MAX_REQUEST_SIZE allow, at least one packet
    (a request that spills a few bytes into one more packet costs a whole packet more)."""
    per_packet = max_packet - _PACKET_RESERVE
    header = _WRITE_HEADER + handle
    cap = min(limit, MAX_REQUEST_SIZE) if limit > 0 else REQUEST_SIZE
    packets = max(1, (cap + header) // per_packet)
    return max(1024, min(cap, packets * per_packet - header))
