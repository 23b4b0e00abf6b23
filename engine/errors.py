"""Every error a front end may catch or show, in one place (the service layer's vocabulary).

The modules that raise them import them from here; the CLI and the TUI import them from
here too, never from the stores, the runner or the transports (import-linter contract in
pyproject.toml). Messages are German and meant for the user.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final


class NotFound(LookupError):
    pass


class StoreError(Exception):
    pass


class CipherError(Exception):
    pass


class KeyMissing(CipherError):
    """`secret.key` is gone while values encrypted with it are stored."""


class LedgerError(Exception):
    """A ledger problem with a German message meant for the user."""


class AlreadyImported(LedgerError):
    """The file's content was imported before (German message naming when and what)."""


class OutsideWindow(Exception):
    """A manual run outside 06:00–22:00 needs an explicit confirmation (`--force`)."""


class Unfinished(Exception):
    """`export --commit` while a cut delivery waits for its reconcile."""


class RedeliveryRefused(Exception):
    """A redelivery that cannot go out as asked; German message."""

    def __init__(self, message: str, journal_nos: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.journal_nos = journal_nos


class ExportError(Exception):
    """The export cannot be written; German message. Nothing of the run is left in out_dir."""

    def __init__(self, message: str, journal_nos: Iterable[int] = ()) -> None:
        super().__init__(message)
        self.journal_nos: tuple[int, ...] = tuple(journal_nos)


class DaemonLocked(Exception):
    """Another daemon serves this data directory (German message naming it)."""


class MailError(Exception):
    """A mail could not be sent; `reason` is short German text for the UI and run record."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        self.reason = reason
        self.detail = detail or None
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.reason} ({self.detail})" if self.detail else self.reason


class Step:
    """German step names, as users read them in run records and the connection test."""

    CONNECT: Final = "Verbinden"
    LOGIN: Final = "Anmelden"
    DIRECTORY: Final = "Verzeichnis"
    UPLOAD: Final = "Hochladen"
    VERIFY: Final = "Prüfen"
    RENAME: Final = "Umbenennen"
    DELETE: Final = "Löschen"
    HOST_KEY: Final = "Hostschlüssel"
    CERTIFICATE: Final = "Zertifikat"
    WRITE: Final = "Schreiben"  # connection test: the probe file


class Reason:
    """Plain German reasons (`TransportError.reason`); details go to `TransportError.detail`."""

    NAME_NOT_FOUND: Final = "Name nicht gefunden"
    NAME_LOOKUP_FAILED: Final = "Namensauflösung gestört"
    REFUSED: Final = "Verbindung abgelehnt"
    UNREACHABLE: Final = "Server nicht erreichbar"
    TIMEOUT: Final = "Zeitüberschreitung"
    CUT: Final = "Verbindung abgebrochen"
    LOGIN_REFUSED: Final = "Anmeldung abgelehnt"
    NO_WRITE: Final = "keine Schreibrechte"
    NOT_FOUND: Final = "nicht gefunden"
    DISK_FULL: Final = "Datenträger voll"
    SIZE_MISMATCH: Final = "Größe stimmt nicht"
    HOST_KEY_UNKNOWN: Final = "Hostschlüssel unbekannt"
    HOST_KEY_CHANGED: Final = "Hostschlüssel geändert"
    HOST_KEY_NOT_CONFIRMED: Final = "Hostschlüssel ist nicht der bestätigte"
    HOST_KEY_REVOKED: Final = "Hostschlüssel gesperrt"
    CERT_UNTRUSTED: Final = "Zertifikat nicht vertrauenswürdig"
    TLS_FAILED: Final = "TLS-Verbindung fehlgeschlagen"
    NO_TLS: Final = "Server bietet kein FTPS (AUTH TLS) an"
    NOT_SSH: Final = "kein SSH-Server"
    NO_COMMON_ALGORITHM: Final = "keine gemeinsamen Verfahren mit dem Server"
    KEY_FILE: Final = "Schlüsseldatei nicht lesbar"
    PASSWORD_UNREADABLE: Final = "gespeichertes Passwort nicht lesbar"
    KEY_FILE_PASSWORD: Final = "Schlüsseldatei verschlüsselt, Passwort fehlt oder falsch"
    LOCAL_FILE: Final = "lokale Datei nicht lesbar"
    CONFIG: Final = "Einstellung fehlt"
    SERVER_REFUSED: Final = "vom Server abgelehnt"
    SERVER_ERROR: Final = "Serverfehler"
    PROTOCOL: Final = "unerwartete Serverantwort"
    CLOSED: Final = "Verbindung nicht geöffnet"


class TransportError(Exception):
    """A failed step. `str(err)` is `"{step}: {reason}"`, plus ` ({detail})` when there is one.

    `transient`: timeouts, refused or cut connections, temporary server errors; the caller
    retries with backoff. Not transient: login refused, unknown/changed host key, untrusted
    certificate, no write permission, disk full — these need a person.
    Messages never contain a password (transports scrub server replies)."""

    def __init__(self, step: str, reason: str, *, detail: str = "", transient: bool = False):
        self.step = step
        self.reason = reason
        self.detail = detail
        self.transient = transient
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.step}: {self.reason}"
        return f"{text} ({self.detail})" if self.detail else text

    def __reduce__(self) -> tuple[object, ...]:  # keep it picklable despite keyword args
        return (_rebuild, (type(self), self.__dict__))


def _rebuild(cls: type[TransportError], state: dict[str, object]) -> TransportError:
    err = cls.__new__(cls)
    Exception.__init__(err)
    err.__dict__.update(state)
    return err


class UnknownHostKey(TransportError):
    """The SFTP server's host key is not in buchex's known_hosts; an admin must confirm
    `fingerprint` (OpenSSH format `SHA256:base64`) with `buchex test ID --trust SHA256:…`."""

    def __init__(self, fingerprint: str, *, key_type: str = "", host: str = "") -> None:
        self.fingerprint = fingerprint
        self.key_type = key_type
        self.host = host
        shown = f"{key_type} {fingerprint}".strip()
        super().__init__(Step.HOST_KEY, Reason.HOST_KEY_UNKNOWN, detail=shown)


class HostKeyNotConfirmed(UnknownHostKey):
    """The admin confirmed fingerprint `confirmed`, but the server now shows an unknown key
    with another one (`fingerprint`): nothing is stored. Still an unknown key (a UI may ask
    about the one shown now), but the message names both."""

    def __init__(
        self, confirmed: str, fingerprint: str, *, key_type: str = "", host: str = ""
    ) -> None:
        super().__init__(fingerprint, key_type=key_type, host=host)
        self.confirmed = confirmed
        self.reason = Reason.HOST_KEY_NOT_CONFIRMED
        shown = f"{key_type} {fingerprint}".strip()
        self.detail = f"bestätigt {confirmed}, vom Server {shown}"
        self.args = (str(self),)


class ChangedHostKey(TransportError):
    """The server shows a different key than the one stored: always fails, even with trust
    (a man in the middle looks exactly like this)."""

    def __init__(self, expected: str, actual: str, *, host: str = "") -> None:
        self.expected = expected
        self.actual = actual
        self.host = host
        super().__init__(
            Step.HOST_KEY,
            Reason.HOST_KEY_CHANGED,
            detail=f"gespeichert {expected}, vom Server {actual}",
        )


class HostKeyReplaceRefused(PermissionError):
    """Replacing a changed SFTP host key was refused: only buchex administrators may
    (German message; the refusal is audited as hostkey.replace_denied)."""
