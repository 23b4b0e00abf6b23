"""buchex's own known_hosts file (`DataDir.known_hosts_path`), independent of the account
buchex runs under: `~/.ssh/known_hosts` is never read.

Format: OpenSSH known_hosts, so admins can read it, copy lines in from their own
known_hosts (`ssh-keygen -F host -f ~/.ssh/known_hosts`) or check it with
`ssh-keygen -l -f`. One key a line:

    host keytype base64-key [comment]
    [host]:port keytype base64-key [comment]     (any port but 22)

Reading understands what OpenSSH writes: comma-separated names, hashed names
(`|1|salt|hash`, from `HashKnownHosts yes`), `*`/`?` wildcards, `!` negation, and the
`@revoked` marker (a revoked key is refused); `@cert-authority` lines are ignored (buchex
does not accept host certificates). buchex writes plain, unhashed names: the configs in the
same data directory name the hosts anyway, and a readable file is easier to audit.

The file is written 0600 through `engine.paths.write_atomic` under a file lock, so the TUI
and the daemon can add keys at the same time without losing one.
"""

from __future__ import annotations

import base64
import binascii
import enum
import fnmatch
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from engine.paths import write_atomic


def fingerprint(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob: `SHA256:` + unpadded base64."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def host_pattern(host: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts: bare for port 22, else `[host]:port`."""
    host = host.lower()
    return host if port == 22 else f"[{host}]:{port}"


@dataclass(frozen=True)
class KnownKey:
    key_type: str
    blob: bytes
    revoked: bool = False

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.blob)


class Verdict(enum.Enum):
    KNOWN = "known"
    UNKNOWN = "unknown"  # no key stored for this host
    CHANGED = "changed"  # keys are stored, but not this one
    REVOKED = "revoked"  # this key is marked @revoked


class KnownHostsError(Exception):
    """The file exists but cannot be read."""


@dataclass(frozen=True)
class _Line:
    marker: str
    names: tuple[str, ...]
    key: KnownKey


class KnownHosts:
    def __init__(self, path: Path) -> None:
        self.path = path

    def keys_for(self, host: str, port: int) -> list[KnownKey]:
        """Every key stored for `host:port` (revoked ones included, flagged)."""
        wanted = host_pattern(host, port)
        return [line.key for line in self._lines() if _matches(line.names, wanted)]

    def verify(
        self, host: str, port: int, key_type: str, blob: bytes
    ) -> tuple[Verdict, list[KnownKey]]:
        """Judge a presented key; also returns the stored keys (for the error message).

        CHANGED when the host has any stored key but not this one, also of another type:
        buchex asks the server for the stored types first, so a server that stops offering
        them is treated like one whose key changed."""
        stored = self.keys_for(host, port)
        if any(k.revoked and k.blob == blob for k in stored):
            return Verdict.REVOKED, stored
        valid = [k for k in stored if not k.revoked]
        if any(k.key_type == key_type and k.blob == blob for k in valid):
            return Verdict.KNOWN, valid
        if valid:
            return Verdict.CHANGED, valid
        return Verdict.UNKNOWN, valid

    def add(self, host: str, port: int, key_type: str, blob: bytes) -> None:
        """Append a key for `host:port` (no-op if it is already there)."""
        line = f"{host_pattern(host, port)} {key_type} {base64.b64encode(blob).decode()}\n"
        with self._lock():
            current = self._read_text()
            if any(k.blob == blob and not k.revoked for k in self.keys_for(host, port)):
                return
            if current and not current.endswith("\n"):
                current += "\n"
            write_atomic(self.path, (current + line).encode("utf-8"))

    def replace(
        self,
        host: str,
        port: int,
        key_type: str,
        blob: bytes,
        *,
        expected: set[str] | None = None,
    ) -> bool:
        """Forget the keys stored for `host:port` and store this one instead, in one locked
        write (after an admin confirmed a key change). `expected`: the fingerprints the
        admin saw stored; if the stored (not revoked) ones differ now, nothing is written
        and False is returned. Revoked keys stay revoked."""
        wanted = host_pattern(host, port)
        line = f"{wanted} {key_type} {base64.b64encode(blob).decode()}"
        with self._lock():
            text = self._read_text()
            if expected is not None:
                stored = {
                    p.key.fingerprint
                    for p in map(_parse, text.splitlines())
                    if p is not None and not p.marker and _matches(p.names, wanted)
                }
                if stored != expected:
                    return False
            kept, _ = _without(text, wanted)
            write_atomic(self.path, "".join(f"{k}\n" for k in [*kept, line]).encode("utf-8"))
            return True

    def remove(self, host: str, port: int) -> int:
        """Forget every key stored for `host:port` (after a confirmed key change); returns
        how many lines were dropped. Lines naming other hosts too are only narrowed."""
        wanted = host_pattern(host, port)
        with self._lock():
            kept, dropped = _without(self._read_text(), wanted)
            if dropped:
                write_atomic(self.path, "".join(f"{k}\n" for k in kept).encode("utf-8"))
            return dropped

    # -- internals -----------------------------------------------------------------------

    def _lock(self) -> FileLock:
        return FileLock(str(self.path) + ".lock", timeout=10, mode=0o600)

    def _read_text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""
        except (OSError, UnicodeDecodeError) as exc:
            raise KnownHostsError(f"{self.path}: {exc}") from exc

    def _lines(self) -> list[_Line]:
        return [p for p in map(_parse, self._read_text().splitlines()) if p is not None]


def _without(text: str, wanted: str) -> tuple[list[str], int]:
    """The lines of `text` without the (not revoked) keys of `wanted`, and how many were
    dropped. Lines naming other hosts too are only narrowed."""
    kept: list[str] = []
    dropped = 0
    for raw in text.splitlines():
        parsed = _parse(raw)
        if parsed is None or parsed.marker or not _matches(parsed.names, wanted):
            kept.append(raw)
            continue
        dropped += 1
        others = [n for n in parsed.names if not _name_matches(n, wanted)]
        if others:
            fields = raw.split()
            kept.append(" ".join([",".join(others), *fields[1:]]))
    return kept, dropped


def _parse(raw: str) -> _Line | None:
    fields = raw.split()
    if not fields or fields[0].startswith("#"):
        return None
    marker = ""
    if fields[0].startswith("@"):
        marker, fields = fields[0], fields[1:]
        if marker not in ("@revoked", "@cert-authority"):
            return None
    if len(fields) < 3 or marker == "@cert-authority":
        return None
    try:
        blob = base64.b64decode(fields[2], validate=True)
    except (binascii.Error, ValueError):
        return None
    return _Line(
        marker, tuple(fields[0].split(",")), KnownKey(fields[1], blob, marker == "@revoked")
    )


def _matches(names: tuple[str, ...], wanted: str) -> bool:
    """OpenSSH semantics: any positive match, and no negated (`!pattern`) match."""
    positive = False
    for name in names:
        if name.startswith("!"):
            if _name_matches(name[1:], wanted):
                return False
        elif _name_matches(name, wanted):
            positive = True
    return positive


def _name_matches(name: str, wanted: str) -> bool:
    if name.startswith("|1|"):
        try:
            _, _, salt, digest = name.split("|")
            mac = hmac.new(base64.b64decode(salt), wanted.encode(), hashlib.sha1).digest()
            return hmac.compare_digest(mac, base64.b64decode(digest))
        except (ValueError, binascii.Error):
            return False
    name = name.lower()
    if "*" in name or "?" in name:
        return fnmatch.fnmatchcase(wanted, name.replace("[", "[[]"))
    return name == wanted
