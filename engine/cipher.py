"""Passwords at rest: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

The key comes from `$BUCHEX_SECRET_KEY` (for installs that keep keys in a secret manager)
or from `secret.key` in the data directory, created 0600 on first use.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

ENV_KEY = "BUCHEX_SECRET_KEY"
PREFIX = "enc:v1:"


class CipherError(Exception):
    pass


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
    def for_key_file(cls, key_path: Path) -> Cipher:
        env = os.environ.get(ENV_KEY)
        if env:
            return cls(env.strip().encode())
        return cls(_load_or_create_key(key_path))

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


def _load_or_create_key(key_path: Path) -> bytes:
    try:
        return key_path.read_bytes().strip()
    except FileNotFoundError:
        pass
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
