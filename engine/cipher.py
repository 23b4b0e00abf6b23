"""Passwords at rest: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

The key comes from `$BUCHEX_SECRET_KEY` (for installs that keep keys in a secret manager)
or from `secret.key` in the data directory, created 0600 on first use. Only on first use:
while encrypted values exist (the caller says so through `may_create`), a missing key file
is an error naming the file and what to restore (`KeyMissing`), never a new key that would
make every stored password unreadable.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from engine.errors import CipherError, KeyMissing

ENV_KEY = "BUCHEX_SECRET_KEY"
PREFIX = "enc:v1:"


def missing_key_message(key_path: Path) -> str:
    return (
        f"Schlüsseldatei fehlt: {key_path}. Die gespeicherten Passwörter (FTP/SFTP, SMTP, "
        "Datenbank-URL) sind mit diesem Schlüssel verschlüsselt; buchex legt deshalb keinen "
        "neuen an. Bitte secret.key aus der Sicherung (zusammen mit buchex.json gesichert) "
        f"wieder nach {key_path} kopieren (Rechte 0600) oder den Schlüssel in "
        f"${ENV_KEY} angeben. Ohne Sicherung: »buchex settings reset-key« verwirft alle "
        "gespeicherten Passwörter und legt einen neuen Schlüssel an; danach die Passwörter "
        "neu eingeben."
    )


class Cipher:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise CipherError(
                "Schlüssel ungültig: erwartet werden 32 Bytes urlsafe-Base64 "
                "(z. B. aus `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from exc

    @classmethod
    def for_key_file(
        cls, key_path: Path, *, may_create: Callable[[], bool] | None = None
    ) -> Cipher:
        """The key of `$BUCHEX_SECRET_KEY`, else of `key_path`. A missing file is created
        only if `may_create()` (default: always) says no encrypted values exist."""
        env = os.environ.get(ENV_KEY)
        if env:
            return cls(env.strip().encode())
        return cls(_load_or_create_key(key_path, may_create))

    def encrypt(self, text: str) -> str:
        return PREFIX + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        if not token.startswith(PREFIX):
            raise CipherError("unbekanntes Format eines verschlüsselten Werts")
        try:
            return self._fernet.decrypt(token[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise CipherError(
                "gespeichertes Passwort lässt sich nicht entschlüsseln: falscher Schlüssel "
                f"(secret.key im Datenverzeichnis oder ${ENV_KEY})"
            ) from exc


def _load_or_create_key(key_path: Path, may_create: Callable[[], bool] | None = None) -> bytes:
    try:
        key = key_path.read_bytes().strip()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise CipherError(f"Schlüsseldatei nicht lesbar: {key_path} ({exc.strerror})") from exc
    else:
        if not key:
            raise CipherError(
                f"Schlüsseldatei ist leer: {key_path}. Bitte secret.key aus der Sicherung "
                "wiederherstellen."
            )
        return key
    if may_create is not None and not may_create():
        raise KeyMissing(missing_key_message(key_path))
    # Written in full to a temp file, then linked into place: a second process racing us
    # either wins (we read its key) or loses; nobody ever reads a half-written key.
    fd, tmp = tempfile.mkstemp(prefix=".secret.", dir=key_path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, key_path)
    finally:
        os.unlink(tmp)
    return key_path.read_bytes().strip()
