"""Real servers on 127.0.0.1 for transport tests and demos; no pytest in here.

Everything is a context manager that starts the server, yields a handle, and stops it:

- `ftp_server(root, ...)`: pyftpdlib in a thread, FTP or (with `tls=`) FTPS with explicit
  TLS, TLS required on control and data, and — unlike pyftpdlib itself — TLS session reuse
  required on the data connection (as vsftpd's `require_ssl_reuse`). Can cut a transfer
  after N bytes, refuse overwriting renames, and serve read-only users.
- `make_certificate(dir)`: a self-signed certificate for 127.0.0.1/localhost.
- `openssh_server(workdir, ...)`: `/usr/sbin/sshd -D -e` as a child process with its own
  config and host key; key-file login as the current user; `internal-sftp` starting in a
  temp dir, optionally read-only (`-R`). Needs the `openssh-server` package.
- `paramiko_sftp_server(workdir, ...)`: a paramiko SFTP server in threads serving a
  local directory, with password and key login, optional read-only mode; used where sshd
  is missing and for password logins (sshd would need a real system account).
- `cutting_proxy(port, cut_after=N)`: a TCP relay that cuts the first connection after N
  client bytes (a connection dying mid-upload).
- `silent_listener()`, `refused_port()`: a port that accepts but never speaks, and one
  where nothing listens.

No sleeps for synchronisation: waits poll a condition against a deadline.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import errno
import hashlib
import ipaddress
import logging
import os
import pwd
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"
SSHD = Path("/usr/sbin/sshd")


# -- small helpers -------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll `condition` until true; raise TimeoutError after `timeout` seconds."""
    end = time.monotonic() + timeout
    delay = 0.001
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(delay)  # polling interval, not synchronisation
        delay = min(delay * 2, 0.05)


def port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def refused_port() -> int:
    """A port that was just free and has nothing listening (connect → ECONNREFUSED)."""
    return free_port()


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port whose connections complete the TCP handshake (kernel backlog) but never
    get a byte: a hung server. Yields the port."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen(8)
        yield sock.getsockname()[1]


# -- TLS certificate -----------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path
    fingerprint: str  # sha256 of the DER, lower-case hex (buchex's pin format)


def make_certificate(directory: Path, name: str = "server") -> Certificate:
    """A self-signed certificate (its own CA) for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "buchex test server")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / f"{name}.crt"
    key_file = directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    der = cert.public_bytes(serialization.Encoding.DER)
    return Certificate(cert_file, key_file, hashlib.sha256(der).hexdigest())


# -- FTP / FTPS (pyftpdlib) ----------------------------------------------------------


@dataclass
class FTPServerState:
    """Shared between the test and the server thread (simple counters and switches)."""

    cut_after: int | None = None  # cut the next upload after this many bytes
    cut_session: bool = False  # also close the control connection
    cuts: int = 0
    unreused_data_sessions: int = 0
    data_sessions: int = 0


@dataclass
class FTPServer:
    host: str
    port: int
    root: Path
    user: str
    password: str
    state: FTPServerState
    certificate: Certificate | None


@contextlib.contextmanager
def ftp_server(
    root: Path,
    *,
    user: str = "kanzlei",
    password: str = "Geheim-Passwort-123",
    perm: str = "elradfmwMT",
    tls: Certificate | None = None,
    require_session_reuse: bool = True,
    refuse_overwrite: bool = False,
    extra_users: dict[str, tuple[str, str]] | None = None,
) -> Iterator[FTPServer]:
    """pyftpdlib on 127.0.0.1 serving `root`. `extra_users`: name -> (password, perm)."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.filesystems import AbstractedFS
    from pyftpdlib.handlers import DTPHandler, FTPHandler

    quiet = logging.getLogger("pyftpdlib")
    quiet.setLevel(logging.WARNING)
    if not quiet.handlers:  # else pyftpdlib's first loop installs its own INFO stderr logging
        quiet.addHandler(logging.NullHandler())
    state = FTPServerState()
    authorizer = DummyAuthorizer()
    authorizer.add_user(user, password, str(root), perm=perm)
    for name, (pw, p) in (extra_users or {}).items():
        authorizer.add_user(name, pw, str(root), perm=p)

    def cut_if_due(dtp: Any) -> None:
        if state.cut_after is None or not dtp.receive or dtp.tot_bytes_received < state.cut_after:
            return
        state.cut_after = None
        state.cuts += 1
        if state.cut_session:
            dtp.cmd_channel.close()
        else:
            dtp._resp = ("426 Connection cut by the test server.", logging.info)
            dtp.close()

    class NoOverwriteFS(AbstractedFS):  # type: ignore[misc]
        def rename(self, src: str, dst: str) -> None:
            if refuse_overwrite and os.path.exists(dst):
                raise OSError(errno.EEXIST, "File exists")
            super().rename(src, dst)

    if tls is None:

        class PlainDTP(DTPHandler):  # type: ignore[misc]
            def handle_read_event(self) -> None:  # pyftpdlib aliases handle_read to this
                super().handle_read_event()
                cut_if_due(self)

        class PlainHandler(FTPHandler):  # type: ignore[misc]
            dtp_handler = PlainDTP

        handler: type[Any] = PlainHandler
    else:
        from OpenSSL._util import lib as ssl_lib
        from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler

        class ReuseCheckingDTP(TLS_DTPHandler):  # type: ignore[misc]
            def handle_ssl_established(self) -> None:
                state.data_sessions += 1
                reused = bool(ssl_lib.SSL_session_reused(self.socket._ssl))
                if require_session_reuse and not reused:
                    state.unreused_data_sessions += 1
                    self._resp = (
                        "522 Data connection must reuse the TLS session of the control connection.",
                        logging.info,
                    )
                    self.close()

            def handle_read_event(self) -> None:
                super().handle_read_event()
                cut_if_due(self)

        class TLSHandler(TLS_FTPHandler):  # type: ignore[misc]
            certfile = str(tls.cert_file)
            keyfile = str(tls.key_file)
            tls_control_required = True
            tls_data_required = True
            dtp_handler = ReuseCheckingDTP
            ssl_context = None  # built per server class from certfile/keyfile

        handler = TLSHandler

    handler.authorizer = authorizer
    handler.abstracted_fs = NoOverwriteFS
    handler.auth_failed_timeout = 0
    handler.banner = "buchex test FTP server ready."
    with serve_ftp_handler(handler) as port:
        yield FTPServer(HOST, port, root, user, password, state, tls)


@contextlib.contextmanager
def serve_ftp_handler(handler: type[Any]) -> Iterator[int]:
    """Serve a configured pyftpdlib handler class on 127.0.0.1 in a thread; yields the port.
    For tests that need a handler of their own (throttled, a full disk, …)."""
    from pyftpdlib.servers import FTPServer as PyFTPServer

    server = PyFTPServer((HOST, 0), handler)
    port = int(server.address[1])
    running = threading.Event()
    running.set()

    def serve() -> None:
        while running.is_set():
            server.ioloop.loop(0.05, blocking=False)
        server.close_all()

    thread = threading.Thread(target=serve, name=f"ftp-{port}", daemon=True)
    thread.start()
    try:
        yield port
    finally:
        running.clear()
        thread.join(10)


# -- SSH keys ------------------------------------------------------------------------


@dataclass(frozen=True)
class SSHKey:
    private_file: Path
    public_line: str  # "ssh-ed25519 AAAA…"
    fingerprint: str  # OpenSSH SHA256:… form

    @property
    def blob(self) -> bytes:
        return base64.b64decode(self.public_line.split()[1])

    def pkey(self) -> paramiko.PKey:
        return paramiko.PKey.from_path(self.private_file)


def make_ssh_key(path: Path, passphrase: str | None = None) -> SSHKey:
    """An Ed25519 key in OpenSSH format (0600) plus its public line and fingerprint."""
    key = ed25519.Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
        )
    )
    path.chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    line = public.decode()
    blob = base64.b64decode(line.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    (path.parent / f"{path.name}.pub").write_text(line + "\n")
    return SSHKey(path, line, f"SHA256:{digest}")


@dataclass
class SFTPServer:
    kind: str  # "openssh" or "paramiko"
    host: str
    port: int
    root: Path  # local directory the login directory maps to
    user: str
    password: str | None
    client_key: SSHKey
    host_key: SSHKey
    stop: Callable[[], None] = field(repr=False)


def sshd_available() -> bool:
    return SSHD.exists() and (os.geteuid() == 0 or Path("/run/sshd").is_dir())


def _current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


@contextlib.contextmanager
def openssh_server(
    workdir: Path,
    *,
    host_key: SSHKey | None = None,
    client_key: SSHKey | None = None,
    read_only: bool = False,
    port: int | None = None,
) -> Iterator[SFTPServer]:
    """OpenSSH's sshd (`-D -e`, not daemonised) on 127.0.0.1 with its own config."""
    if not SSHD.exists():
        raise RuntimeError(f"{SSHD} fehlt (apt-get install openssh-server)")
    if os.geteuid() == 0:
        # Privilege separation directory; the package's service unit normally creates it.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / "root"
    root.mkdir(exist_ok=True)
    host_key = host_key or make_ssh_key(workdir / "ssh_host_ed25519_key")
    client_key = client_key or make_ssh_key(workdir / "client_key")
    authorized = workdir / "authorized_keys"
    authorized.write_text(client_key.public_line + "\n")
    port = port or free_port()
    flags = f"-d {root}" + (" -R" if read_only else "")
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"ListenAddress {HOST}:{port}",
                f"HostKey {host_key.private_file}",
                "PidFile none",
                f"AuthorizedKeysFile {authorized}",
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "PrintMotd no",
                "MaxStartups 50",
                "Subsystem sftp internal-sftp",
                f"ForceCommand internal-sftp {flags}",
                "LogLevel VERBOSE",
                "",
            ]
        )
    )
    log = (workdir / f"sshd-{port}.log").open("wb")
    process = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        log.close()

    try:
        wait_for(
            lambda: process.poll() is not None or port_open(port),
            timeout=10,
            what=f"sshd on port {port}",
        )
        if process.poll() is not None:
            log.flush()
            text = (workdir / f"sshd-{port}.log").read_text(errors="replace")
            raise RuntimeError(f"sshd exited with {process.returncode}: {text}")
        yield SFTPServer(
            "openssh", HOST, port, root, _current_user(), None, client_key, host_key, stop
        )
    finally:
        stop()


# -- SFTP (paramiko) -----------------------------------------------------------------


class _StubSFTPHandle(paramiko.SFTPHandle):
    def stat(self) -> paramiko.SFTPAttributes | int:
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)


class _StubSFTP(paramiko.SFTPServerInterface):
    """A local directory as an SFTP server ('/' is the root directory)."""

    def __init__(self, server: Any, *args: Any, root: Path, read_only: bool, **kwargs: Any):
        super().__init__(server, *args, **kwargs)
        self.root = root
        self.read_only = read_only

    def _local(self, path: str) -> str:
        return str(self.root) + self.canonicalize(path)

    def canonicalize(self, path: str) -> str:
        return os.path.normpath("/" + path).replace("//", "/")

    def _denied(self) -> int | None:
        return paramiko.sftp.SFTP_PERMISSION_DENIED if self.read_only else None

    def list_folder(self, path: str) -> list[paramiko.SFTPAttributes] | int:
        local = self._local(path)
        try:
            out = []
            for name in os.listdir(local):
                attr = paramiko.SFTPAttributes.from_stat(os.stat(os.path.join(local, name)))
                attr.filename = name
                out.append(attr)
            return out
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    def stat(self, path: str) -> paramiko.SFTPAttributes | int:
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(self._local(path)))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    lstat = stat

    def open(self, path: str, flags: int, attr: paramiko.SFTPAttributes) -> Any:
        writing = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND)
        if writing and self.read_only:
            return paramiko.sftp.SFTP_PERMISSION_DENIED
        local = self._local(path)
        try:
            fd = os.open(local, flags | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        if flags & os.O_WRONLY:
            mode = "ab" if flags & os.O_APPEND else "wb"
        elif flags & os.O_RDWR:
            mode = "a+b" if flags & os.O_APPEND else "r+b"
        else:
            mode = "rb"
        handle = _StubSFTPHandle(flags)
        fobj = os.fdopen(fd, mode)
        handle.filename = local
        handle.readfile = fobj
        handle.writefile = fobj
        return handle

    def remove(self, path: str) -> int:
        if self.read_only:
            return paramiko.sftp.SFTP_PERMISSION_DENIED
        try:
            os.remove(self._local(path))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return paramiko.sftp.SFTP_OK

    def rename(self, oldpath: str, newpath: str) -> int:
        if self.read_only:
            return paramiko.sftp.SFTP_PERMISSION_DENIED
        new = self._local(newpath)
        if os.path.exists(new):  # SFTP v3: plain rename never overwrites
            return paramiko.sftp.SFTP_FAILURE
        try:
            os.rename(self._local(oldpath), new)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return paramiko.sftp.SFTP_OK

    def mkdir(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        if self.read_only:
            return paramiko.sftp.SFTP_PERMISSION_DENIED
        try:
            os.mkdir(self._local(path))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return paramiko.sftp.SFTP_OK

    def rmdir(self, path: str) -> int:
        if self.read_only:
            return paramiko.sftp.SFTP_PERMISSION_DENIED
        try:
            os.rmdir(self._local(path))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        return paramiko.sftp.SFTP_OK

    def chattr(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        return paramiko.sftp.SFTP_OK


class _ServerInterface(paramiko.ServerInterface):
    def __init__(self, users: dict[str, str], authorized: bytes | None) -> None:
        self.users = users
        self.authorized = authorized

    def get_allowed_auths(self, username: str) -> str:
        return "password,publickey"

    def check_auth_password(self, username: str, password: str) -> int:
        if self.users.get(username) == password:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if username in self.users and self.authorized and key.asbytes() == self.authorized:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


@contextlib.contextmanager
def paramiko_sftp_server(
    workdir: Path,
    *,
    user: str = "kanzlei",
    password: str = "Geheim-Passwort-123",
    host_key: SSHKey | None = None,
    client_key: SSHKey | None = None,
    read_only: bool = False,
    port: int | None = None,
    server_class: type[paramiko.SFTPServer] = paramiko.SFTPServer,
) -> Iterator[SFTPServer]:
    """A paramiko SFTP server on 127.0.0.1 serving `workdir/root`, in threads.
    `server_class`: the SFTP subsystem (a subclass may answer differently, e.g. out of
    order, as servers may)."""
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / "root"
    root.mkdir(exist_ok=True)
    host_key = host_key or make_ssh_key(workdir / "ssh_host_ed25519_key")
    client_key = client_key or make_ssh_key(workdir / "client_key")
    server_key = host_key.pkey()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port or 0))
    listener.listen(16)
    listener.settimeout(0.05)
    bound: int = listener.getsockname()[1]
    running = threading.Event()
    running.set()
    sessions: list[paramiko.Transport] = []
    interface = _ServerInterface({user: password}, client_key.blob)

    def accept_loop() -> None:
        while running.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(server_key)
            transport.set_subsystem_handler(
                "sftp", server_class, _StubSFTP, root=root, read_only=read_only
            )
            sessions.append(transport)
            try:  # asynchronous: a silent client must not block the accept loop
                transport.start_server(event=threading.Event(), server=interface)
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    thread = threading.Thread(target=accept_loop, name=f"sftp-{bound}", daemon=True)
    thread.start()

    def stop() -> None:
        running.clear()
        thread.join(5)
        listener.close()
        for session in sessions:
            session.close()

    try:
        yield SFTPServer("paramiko", HOST, bound, root, user, password, client_key, host_key, stop)
    finally:
        stop()


@contextlib.contextmanager
def sftp_server(kind: str, workdir: Path, **options: Any) -> Iterator[SFTPServer]:
    """`kind` "openssh" or "paramiko"; "auto" takes sshd when installed."""
    if kind == "auto":
        kind = "openssh" if sshd_available() else "paramiko"
    if kind == "openssh":
        options.pop("user", None)
        options.pop("password", None)
        with openssh_server(workdir, **options) as server:
            yield server
    else:
        with paramiko_sftp_server(workdir, **options) as server:
            yield server


# -- a TCP relay that cuts ------------------------------------------------------------


@dataclass
class Proxy:
    port: int
    cuts: int = 0
    cut_after: int | None = None  # client bytes; applies to the next connection only


@contextlib.contextmanager
def cutting_proxy(target_port: int, *, cut_after: int | None = None) -> Iterator[Proxy]:
    """Relays 127.0.0.1:proxy.port to `target_port`. The first connection that sends
    more than `cut_after` bytes toward the server is closed on both sides."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(16)
    listener.settimeout(0.05)
    proxy = Proxy(listener.getsockname()[1], cut_after=cut_after)
    running = threading.Event()
    running.set()
    threads: list[threading.Thread] = []
    sockets: list[socket.socket] = []

    def relay(client: socket.socket) -> None:
        try:
            upstream = socket.create_connection((HOST, target_port), timeout=5)
        except OSError:
            client.close()
            return
        sockets.extend([client, upstream])
        limit, proxy.cut_after = proxy.cut_after, None
        sent = 0
        peers = {client: upstream, upstream: client}
        try:
            while running.is_set():
                ready, _, _ = select.select(list(peers), [], [], 0.05)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        sent += len(data)
                        if limit is not None and sent > limit:
                            proxy.cuts += 1
                            return
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def accept_loop() -> None:
        while running.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=relay, args=(client,), daemon=True)
            threads.append(t)
            t.start()

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    try:
        yield proxy
    finally:
        running.clear()
        acceptor.join(5)
        listener.close()
        for t in threads:
            t.join(5)


def copy_tree_names(root: Path) -> list[str]:
    """Every path under `root`, relative, sorted (for assertions about leftovers)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
