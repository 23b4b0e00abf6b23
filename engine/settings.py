"""Chain-wide settings: SMTP Postausgangsserver and Sicherheit (declared like the config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.fields import (
    FieldSpec,
    Invalid,
    Secret,
    field_specs,
    p_bool,
    p_choice,
    p_email,
    p_host,
    p_int,
    p_secret,
    p_text,
    spec,
)

SMTP = "SMTP Postausgangsserver"
SICHERHEIT = "Sicherheit"
ALLGEMEIN = "Allgemein"

SECURITY_CHOICES = (("none", "keine"), ("starttls", "STARTTLS"), ("ssl", "SSL/TLS"))
DEFAULT_SMTP_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
#: Journal numbers below the watermark every run re-checks for late-visible bookings
#: (docs/export.md "Look-back"); below that only the daily full check looks.
DEFAULT_LOOKBACK = 20_000


def _p_timezone(raw: Any) -> str | None:
    value = p_text(64)(raw)
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"„{value}“ ist keine bekannte Zeitzone (z. B. Europe/Berlin)") from exc
    return value


def _p_url(raw: Any) -> Secret | None:
    # Database URLs may carry a password, so the whole URL is kept like a password.
    secret = p_secret(raw)
    if secret is None or not secret:
        return secret
    from sqlalchemy.engine import make_url  # not at import: SQLAlchemy is slow to load
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(secret.reveal())
    except ArgumentError as exc:
        raise Invalid("keine gültige SQLAlchemy-URL (z. B. postgresql://user@host/db)") from exc
    return secret


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = field(
        default=None,
        metadata=spec(
            "SMTP-Server",
            SMTP,
            "text",
            p_host,
            required=True,
            explanation=(
                "Name oder Adresse des Mailservers, über den buchex die Nachrichten über "
                "fehlgeschlagene Exporte verschickt."
            ),
        ),
    )
    port: int | None = field(
        default=None,
        metadata=spec(
            "Port",
            SMTP,
            "int",
            p_int(1, 65535),
            help="leer: 25 / 587 (STARTTLS) / 465 (SSL)",
            explanation=(
                "Optional. Der Port des Mailservers (leer: 25 ohne Verschlüsselung, 587 bei "
                "STARTTLS, 465 bei SSL/TLS)."
            ),
        ),
    )
    security: str = field(
        default="starttls",
        metadata=spec(
            "Verschlüsselung",
            SMTP,
            "choice",
            p_choice(SECURITY_CHOICES),
            required=True,
            choices=SECURITY_CHOICES,
            explanation=(
                "Wie die Verbindung zum Mailserver verschlüsselt wird: keine, STARTTLS (üblich auf"
                " Port 587) oder SSL/TLS (Port 465)."
            ),
        ),
    )
    user: str | None = field(
        default=None,
        metadata=spec(
            "Benutzer",
            SMTP,
            "text",
            p_text(254),
            explanation="Optional. Anmeldename am Mailserver (leer: ohne Anmeldung senden).",
        ),
    )
    password: Secret | None = field(
        default=None,
        metadata=spec(
            "Passwort",
            SMTP,
            "secret",
            p_secret,
            explanation=(
                "Passwort für die Anmeldung am Mailserver. Administratoren können es mit der "
                "Option „Administratoren dürfen gesetzte Passwörter einsehen“ anzeigen lassen."
            ),
        ),
    )
    sender: str | None = field(
        default=None,
        metadata=spec(
            "Absender",
            SMTP,
            "email",
            p_email,
            required=True,
            explanation="Die Absenderadresse der Nachrichten, die buchex verschickt.",
        ),
    )
    timeout: int = field(
        default=30,
        metadata=spec(
            "Zeitlimit (Sekunden)",
            SMTP,
            "int",
            p_int(1, 300),
            explanation=(
                "Wie viele Sekunden buchex auf den Mailserver wartet, bevor der Versand als "
                "fehlgeschlagen gilt."
            ),
        ),
    )

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_SMTP_PORTS[self.security]


@dataclass(frozen=True)
class ChainSettings:
    admins_may_reveal_passwords: bool = field(
        default=False,
        metadata=spec(
            "Administratoren dürfen gesetzte Passwörter einsehen",
            SICHERHEIT,
            "bool",
            p_bool,
            explanation=(
                "Ist die Option gesetzt, kann ein angemeldeter Benutzer aus der Administratoren-"
                "Gruppe gesetzte Passwörter einer Schnittstelle anzeigen lassen: „Anzeigen“ am "
                "Passwortfeld und zur Sicherheit das eigene Benutzerpasswort eingeben. Jede "
                "Anzeige wird protokolliert."
            ),
        ),
    )
    timezone: str | None = field(
        default=None,
        metadata=spec(
            "Zeitzone",
            ALLGEMEIN,
            "text",
            _p_timezone,
            help="leer: Systemzeitzone",
            explanation=(
                "Die Zeitzone, in der Ausführungszeiten und das Zeitfenster 06:00–22:00 gelten (z."
                " B. Europe/Berlin; leer: die Zeitzone des Systems)."
            ),
        ),
    )
    ledger_url: Secret | None = field(
        default=None,
        metadata=spec(
            "Buchhaltungsdatenbank (URL)",
            ALLGEMEIN,
            "secret",
            _p_url,
            help="leer: eingebettete ledger.sqlite",
            explanation=(
                "Wo die Buchhaltungsdaten liegen: eine SQLAlchemy-URL der Datenbank (z. B. "
                "postgresql://benutzer@host/db; leer: die eingebettete ledger.sqlite)."
            ),
        ),
    )
    lookback_journal_numbers: int | None = field(
        default=None,
        metadata=spec(
            "Rückblick (Journalnummern)",
            ALLGEMEIN,
            "int",
            p_int(0, 1_000_000_000),
            help=f"leer: {DEFAULT_LOOKBACK:_}".replace("_", ".")
            + "; so weit unter der höchsten gelieferten Nummer sucht jeder Lauf nach "
            "Buchungen, die erst spät sichtbar wurden",
            explanation=(
                "Wie weit unter der höchsten schon gelieferten Journalnummer jeder Lauf nach "
                "Buchungen sucht, die erst spät sichtbar wurden."
            ),
        ),
    )

    @property
    def lookback(self) -> int:
        return (
            DEFAULT_LOOKBACK
            if self.lookback_journal_numbers is None
            else self.lookback_journal_numbers
        )


SMTP_FIELDS: tuple[FieldSpec, ...] = tuple(field_specs(SmtpSettings))
CHAIN_FIELDS: tuple[FieldSpec, ...] = tuple(field_specs(ChainSettings))
