"""buchex users (for the password eye): names, admin flag, scrypt password hashes."""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from engine.fields import Invalid

# scrypt cost: 2**15 * 8 * 128 B = 32 MiB and ~0.1 s per check: cheap for a person, dear
# for an offline guesser.
_N, _R, _P, _LEN = 2**15, 8, 1, 32
_NAME = re.compile(r"[a-z_][a-z0-9_.-]{0,31}", re.IGNORECASE)
MIN_PASSWORD = 8


@dataclass(frozen=True)
class User:
    name: str
    admin: bool
    password_hash: str


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise Invalid(
            f"„{name}“ ist kein gültiger Benutzername (Buchstaben, Ziffern, _ . -; max. 32)"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"mindestens {MIN_PASSWORD} Zeichen")
    return password


def _kdf(salt: bytes, n: int = _N, r: int = _R, p: int = _P) -> Scrypt:
    return Scrypt(salt=salt, length=_LEN, n=n, r=r, p=p)


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = _kdf(salt).derive(password.encode("utf-8"))
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        kdf = _kdf(base64.b64decode(salt), int(n), int(r), int(p))
        kdf.verify(password.encode("utf-8"), base64.b64decode(digest))
    except (ValueError, InvalidKey):
        return False
    return True
