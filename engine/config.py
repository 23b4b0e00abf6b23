"""The export configuration ("Schnittstelle"): every field of SPEC §1–2, declared once.

Each dataclass field carries its German label, form section, parser and choices
(`engine.fields.spec`). `parse_config` turns a JSON object (config file, form, CLI) into an
`ExportConfig` or raises `ValidationError` with one `Label: message` per problem.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from engine.fields import (
    FieldSpec,
    Invalid,
    Problem,
    Secret,
    SecretMode,
    ValidationError,
    applies,
    changed_paths,
    drop_inapplicable,
    field_specs,
    inapplicable_problems,
    is_empty,
    model_to_json,
    only_if,
    p_bool,
    p_choice,
    p_date,
    p_emails,
    p_host,
    p_int,
    p_ref,
    p_ref_list,
    p_secret,
    p_text,
    p_time,
    parse_values,
    quoted,
    spec,
    unknown_keys,
    unless,
)
from engine.formats import FORMAT_CHOICES, is_installed

if TYPE_CHECKING:
    from engine.ledger import Catalog

KONFIGURATION = "Konfiguration"
FTP = "FTP"
DETAILS = "Ausführungsdetails"
MAIL = "E-Mail"
SECTIONS = (KONFIGURATION, FTP, DETAILS, MAIL)

PROTOCOL_CHOICES = (("ftp", "FTP"), ("ftps", "FTPS (explizites TLS)"), ("sftp", "SFTP"))
DEFAULT_PORTS = {"ftp": 21, "ftps": 21, "sftp": 22}
INTERVAL_CHOICES = (
    ("hourly", "Stündlich"),
    ("daily", "Täglich"),
    ("weekly", "Wöchentlich an folgenden Tagen"),
    ("monthly", "Tag des Monats"),
)
WEEKDAY_CHOICES = (
    ("mon", "Montag"),
    ("tue", "Dienstag"),
    ("wed", "Mittwoch"),
    ("thu", "Donnerstag"),
    ("fri", "Freitag"),
    ("sat", "Samstag"),
    ("sun", "Sonntag"),
)
MINUTE_CHOICES = tuple((str(n), f"alle {n} Minuten") for n in (5, 10, 15, 20, 30, 60))

IntervalKind = Literal["hourly", "daily", "weekly", "monthly"]
Protocol = Literal["ftp", "ftps", "sftp"]

_NAME = re.compile(r"[^\x00-\x1f\x7f]+")
_WORKSTATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_FINGERPRINT = re.compile(r"(?:SHA256:)?(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}")


def _p_minutes(raw: Any) -> int | None:
    if raw is None or raw == "":
        return None
    value = p_choice(MINUTE_CHOICES)(str(raw) if isinstance(raw, int) else raw)
    return None if value is None else int(value)


def _p_weekdays(raw: Any) -> tuple[str, ...]:
    days = p_ref_list(raw)
    valid = [v for v, _ in WEEKDAY_CHOICES]
    bad = [d for d in days if d not in valid]
    if bad:
        raise Invalid(
            f"unbekannter Wochentag {quoted(', '.join(bad))} (erlaubt: {', '.join(valid)})"
        )
    return tuple(sorted(days, key=valid.index))


def _p_directory(raw: Any) -> str | None:
    value = p_text(255)(raw)
    if value is None:
        return None
    if "\\" in value:
        raise Invalid("Pfad mit / trennen, nicht mit \\")
    if any(part == ".." for part in value.split("/")):
        raise Invalid("darf kein „..“ enthalten")
    return value


def _p_fingerprint(raw: Any) -> str | None:
    value = p_text(80)(raw)
    if value is None:
        return None
    if not _FINGERPRINT.fullmatch(value):
        raise Invalid("SHA-256-Fingerabdruck erwartet (64 Hex-Zeichen, Doppelpunkte erlaubt)")
    return value.removeprefix("SHA256:").replace(":", "").lower()


@dataclass(frozen=True)
class Interval:
    kind: IntervalKind = field(
        default="daily",
        metadata=spec(
            "Intervall",
            DETAILS,
            "choice",
            p_choice(INTERVAL_CHOICES),
            required=True,
            choices=INTERVAL_CHOICES,
            explanation=(
                "Wie oft exportiert wird. Stündlich: jede Stunde oder alle x Minuten, die "
                "Ausführungszeit entfällt. Täglich: jeden Tag zur Ausführungszeit. Wöchentlich an "
                "folgenden Tagen: nur an den gewählten Wochentagen. Tag des Monats: an einem "
                "Kalendertag (z. B. am 1. oder 15. des Monats)."
            ),
        ),
    )
    every_minutes: int | None = field(
        default=None,
        metadata=spec(
            "alle x Minuten",
            DETAILS,
            "choice",
            _p_minutes,
            choices=MINUTE_CHOICES,
            applies_when=only_if("interval.kind", "hourly"),
            explanation="Bei „Stündlich“: der Export läuft stündlich oder alle x Minuten.",
        ),
    )
    days: tuple[str, ...] = field(
        default=(),
        metadata=spec(
            "Wochentage",
            DETAILS,
            "multi",
            _p_weekdays,
            choices=WEEKDAY_CHOICES,
            applies_when=only_if("interval.kind", "weekly"),
            explanation=(
                "Bei „Wöchentlich an folgenden Tagen“: die Tage, auf die der Export eingeschränkt "
                "wird."
            ),
        ),
    )
    day: int | None = field(
        default=None,
        metadata=spec(
            "Tag des Monats",
            DETAILS,
            "int",
            p_int(1, 31),
            applies_when=only_if("interval.kind", "monthly"),
            explanation=(
                "Bei „Tag des Monats“: an welchem Kalendertag (z. B. 1. des Monats, 15. des "
                "Monats) der automatische Export durchgeführt wird."
            ),
        ),
    )

    def to_json(self) -> dict[str, Any]:
        """Only the keys that belong to the kind (SPEC §2 interval shapes)."""
        if self.kind == "hourly":
            return {"kind": "hourly", "every_minutes": self.every_minutes}
        if self.kind == "weekly":
            return {"kind": "weekly", "days": list(self.days)}
        if self.kind == "monthly":
            return {"kind": "monthly", "day": self.day}
        return {"kind": "daily"}


@dataclass(frozen=True)
class Target:
    host: str | None = field(
        default=None,
        metadata=spec(
            "FTP Hostname",
            FTP,
            "text",
            p_host,
            required=True,
            explanation=(
                "Für den automatischen Export wird ein FTP-Server benötigt. Er kann von Ihnen oder"
                " dem Steuerberater bereitgestellt werden (Name oder Adresse des Servers)."
            ),
        ),
    )
    port: int | None = field(
        default=None,
        metadata=spec(
            "Port",
            FTP,
            "int",
            p_int(1, 65535),
            help="leer: 21 (FTP, FTPS) bzw. 22 (SFTP)",
            explanation=(
                "Optional. Der Port, über den der Server zu erreichen ist (leer: 21 für FTP und "
                "FTPS, 22 für SFTP)."
            ),
        ),
    )
    directory: str | None = field(
        default=None,
        metadata=spec(
            "Verzeichnis",
            FTP,
            "text",
            _p_directory,
            explanation=(
                "Optional. Ein Verzeichnis auf dem FTP-Server, in das der Export geschrieben wird."
                " Ist keines angegeben, legt die Schnittstelle im Root-Verzeichnis einen Ordner "
                "„Automatischer_Buchhaltungsexport_(aktuelles_Datum)“ an."
            ),
        ),
    )
    data_interface: bool = field(
        default=False,
        metadata=spec(
            "Datenschnittstelle",
            FTP,
            "bool",
            p_bool,
            explanation=(
                "Ist kein Verzeichnis angegeben, erstellt die Schnittstelle im Root-Verzeichnis "
                "einen Ordner „Automatischer_Buchhaltungsexport_(aktuelles_Datum)“."
            ),
        ),
    )
    user: str | None = field(
        default=None,
        metadata=spec(
            "Benutzer",
            FTP,
            "text",
            p_text(128),
            required=True,
            explanation=(
                "Anmeldename für den Zugang auf dem FTP-Server. Auf dem Server müssen für diesen "
                "Benutzer Schreib- und Leserechte aktiviert sein."
            ),
        ),
    )
    password: Secret | None = field(
        default=None,
        metadata=spec(
            "Passwort",
            FTP,
            "secret",
            p_secret,
            explanation=(
                "Passwort für den Zugang auf dem FTP-Server. Mit der Option „Administratoren "
                "dürfen gesetzte Passwörter einsehen“ (Sicherheit) kann ein Administrator es über "
                "„Anzeigen“ nach Eingabe seines eigenen Passworts sehen."
            ),
        ),
    )
    protocol: Protocol = field(
        default="ftp",
        metadata=spec(
            "SFTP verwenden",
            FTP,
            "choice",
            p_choice(PROTOCOL_CHOICES),
            required=True,
            choices=PROTOCOL_CHOICES,
            explanation=(
                "Wie verbunden wird: FTP, FTPS (FTP mit TLS) oder SFTP. Für SFTP (SSH File "
                "Transfer Protokoll) braucht es einen SSH-Zugang auf dem Server des Hosters; dort "
                "stehen Serveradresse, Benutzername und Passwort für den SFTP-Benutzer bereit."
            ),
        ),
    )
    key_file: str | None = field(
        default=None,
        metadata=spec(
            "Schlüsseldatei",
            FTP,
            "text",
            p_text(1024),
            help="nur SFTP",
            applies_when=only_if("target.protocol", "sftp"),
            explanation=(
                "Nur SFTP, optional: Pfad zu einer privaten SSH-Schlüsseldatei, mit der sich "
                "buchex statt (oder zusätzlich zum) Passwort anmeldet."
            ),
        ),
    )
    tls_ca_file: str | None = field(
        default=None,
        metadata=spec(
            "CA-Datei",
            FTP,
            "text",
            p_text(1024),
            help="nur FTPS",
            applies_when=only_if("target.protocol", "ftps"),
            explanation=(
                "Nur FTPS, optional: Datei mit dem CA-Zertifikat, dem das Zertifikat des Servers "
                "vertrauen muss (leer: die Zertifikate des Systems)."
            ),
        ),
    )
    tls_fingerprint: str | None = field(
        default=None,
        metadata=spec(
            "Zertifikat-Fingerabdruck",
            FTP,
            "text",
            _p_fingerprint,
            help="nur FTPS",
            applies_when=only_if("target.protocol", "ftps"),
            explanation=(
                "Nur FTPS, optional: SHA-256-Fingerabdruck des Serverzertifikats; ist er gesetzt, "
                "verbindet buchex sich nur mit genau diesem Zertifikat."
            ),
        ),
    )

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.protocol]


def p_format(raw: Any) -> str | None:
    """A format name; a built-in one is known without reading the plug-ins (a listing of
    1000 configs would otherwise scan every installed package's entry points)."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not is_installed(raw):
        raise Invalid(f"muss eines von {', '.join(name for name, _ in FORMAT_CHOICES)} sein")
    return raw


@dataclass(frozen=True)
class ExportConfig:
    id: str = ""  # assigned by the store, stable for the config's life
    name: str | None = field(
        default=None,
        metadata=spec(
            "Name",
            KONFIGURATION,
            "text",
            p_text(80, _NAME),
            required=True,
            explanation=(
                "Der Name der Schnittstelle, unter dem sie in der Liste, im Protokoll und in "
                "Fehlermeldungen erscheint."
            ),
        ),
    )
    branch: str | None = field(
        default=None,
        metadata=spec(
            "Filiale",
            KONFIGURATION,
            "choice",
            p_ref,
            catalog="branches",
            help="leer: alle",
            explanation=(
                "Schränkt die Schnittstelle so ein, dass nur eine Filiale sie nutzen darf. Ist "
                "keine ausgewählt, darf jede Filiale die Schnittstelle nutzen."
            ),
        ),
    )
    workstation: str | None = field(
        default=None,
        metadata=spec(
            "Rechner",
            KONFIGURATION,
            "text",
            p_text(63, _WORKSTATION, "Rechnername: Buchstaben, Ziffern, . _ - (max. 63)"),
            explanation=(
                "Name des Arbeitsplatzrechners, wenn die Schnittstelle über die Arbeitsplatz-"
                "einstellungen an einem bestimmten Computer eingerichtet ist (siehe „Mit "
                "Arbeitsplatz-einstellungen“ in der Liste). Leer: jeder Computer der Filialkette "
                "darf die Schnittstelle nutzen."
            ),
        ),
    )
    server_side: bool = field(
        default=True,
        metadata=spec(
            "Verwendung: Serverseitig",
            KONFIGURATION,
            "bool",
            p_bool,
            explanation=(
                "Serverseitig: der Export läuft auf dem Server (im buchex-Dienst), nicht an einem "
                "Arbeitsplatzrechner. Ohne Haken muss ein Rechner angegeben sein."
            ),
        ),
    )
    start: dt.date | None = field(
        default=None,
        metadata=spec(
            "Start",
            KONFIGURATION,
            "date",
            p_date,
            explanation=(
                "Startdatum, ab dem die Schnittstelle automatisch freigegeben wird. Bleibt das "
                "Feld leer, ist die Schnittstelle sofort einsatzbereit."
            ),
        ),
    )
    target: Target = field(default_factory=Target)
    clients: tuple[str, ...] = field(
        default=(),
        metadata=spec(
            "Mandant",
            DETAILS,
            "multi",
            p_ref_list,
            required=True,
            catalog="clients",
            explanation="Auswahl eines oder mehrerer Mandanten für den Export.",
        ),
    )
    document_types: tuple[str, ...] = field(
        default=(),
        metadata=spec(
            "Belegart",
            DETAILS,
            "multi",
            p_ref_list,
            required=True,
            catalog="document_types",
            explanation="Auswahl, welche Belegarten exportiert werden sollen.",
        ),
    )
    payment_methods: tuple[str, ...] = field(
        default=(),
        metadata=spec(
            "Zahlungsart",
            DETAILS,
            "multi",
            p_ref_list,
            catalog="payment_methods",
            help="leer: alle",
            explanation=(
                "Auswahl, welche Zahlungsarten exportiert werden sollen (keine Auswahl: alle)."
            ),
        ),
    )
    export_debtors: bool = field(
        default=False,
        metadata=spec(
            "Debitoren exportieren",
            DETAILS,
            "bool",
            p_bool,
            explanation="Gibt an, ob Debitoren mit exportiert werden sollen.",
        ),
    )
    format: str | None = field(
        default="datev",
        metadata=spec(
            "Format",
            DETAILS,
            "choice",
            p_format,
            required=True,
            choices=FORMAT_CHOICES,
            explanation="Auswahl, in welchem Format der Export erstellt werden soll.",
        ),
    )
    incoming_export: bool = field(
        default=False,
        metadata=spec(
            "Eingangsbuchungsexport",
            DETAILS,
            "bool",
            p_bool,
            explanation="Gibt an, ob Eingangsbuchungen mit exportiert werden sollen.",
        ),
    )
    incoming_format: str | None = field(
        default=None,
        metadata=spec(
            "Format (Eingangsbuchungen)",
            DETAILS,
            "choice",
            p_format,
            choices=FORMAT_CHOICES,
            applies_when=only_if("incoming_export", True),
            explanation=(
                "Auswahl, in welchem Format die Eingangsbuchungen exportiert werden sollen."
            ),
        ),
    )
    control_file: bool = field(
        default=True,
        metadata=spec(
            "Kontrolldatei mitliefern",
            DETAILS,
            "bool",
            p_bool,
            help="Dateinamen, SHA-256, Zeilen und Summen je Lauf; zuletzt übertragen",
            explanation=(
                "Liefert je Lauf eine Kontrolldatei mit Dateinamen, SHA-256, Zeilenzahlen und "
                "Summen mit; sie wird zuletzt übertragen, so sieht der Empfänger, dass die "
                "Lieferung vollständig ist."
            ),
        ),
    )
    document_images: bool = field(
        default=False,
        metadata=spec(
            "Belegbilder exportieren",
            DETAILS,
            "bool",
            p_bool,
            applies_when=only_if("format", "datev"),
            help="Belege aus der Tabelle documents, mit den Buchungen verknüpft (DATEV)",
            explanation=(
                "Liefert mit jedem Lauf die Belegbilder der exportierten Buchungen mit: ein "
                "ZIP-Paket mit document.xml für die DATEV XML-Schnittstelle online; jede "
                "Buchung verweist im Feld Beleglink auf ihr Belegbild. Nur mit dem "
                "DATEV-Format."
            ),
        ),
    )
    time: str | None = field(
        default=None,
        metadata=spec(
            "Ausführungszeit",
            DETAILS,
            "time",
            p_time,
            applies_when=unless("interval.kind", "hourly"),
            explanation=(
                "Zu welcher Uhrzeit der automatische Export an den FTP-Server übergeben wird. "
                "Möglich sind Zeiten von 06:00 bis 22:00 Uhr; davor und danach nicht, da in dieser"
                " Zeit ggf. Wartungen durchgeführt werden."
            ),
        ),
    )
    interval: Interval = field(default_factory=Interval)
    email: str | None = field(
        default=None,
        metadata=spec(
            "E-Mail",
            MAIL,
            "email",
            p_emails,
            explanation=(
                "Optional. Schlägt der automatische Buchhaltungsexport fehl, wird an diese E-Mail-"
                "Adresse eine Nachricht verschickt (Voraussetzung: ein eingerichteter SMTP "
                "Postausgangsserver). „Test“ sendet eine Test-E-Mail an diese Adresse."
            ),
        ),
    )


FIELDS: tuple[FieldSpec, ...] = tuple(field_specs(ExportConfig))
FIELDS_BY_PATH: dict[str, FieldSpec] = {f.path: f for f in FIELDS}
SECRET_PATHS = tuple(f.path for f in FIELDS if f.kind == "secret")
# Keys a config file may carry besides the declared fields: `id`, and `kommentar`, free
# text for the people reading the file (ignored, not stored).
_META_KEYS = {"id", "kommentar"}
#: German labels of the nested objects of a config file (messages never name a JSON key).
GROUP_LABELS = {"target": FTP, "interval": "Intervall"}
OWNER_LABEL = "Schnittstelle"


def label(path: str) -> str:
    return FIELDS_BY_PATH[path].label


def _problem(path: str, message: str) -> Problem:
    return Problem(path, label(path), message)


def parse_config(
    raw: Mapping[str, Any],
    *,
    catalog: Catalog | None,
    previous: ExportConfig | None = None,
    decrypt: Callable[[str], str] | None = None,
    lazy_secrets: bool = False,
    strict: bool = False,
    stored: bool = False,
) -> ExportConfig:
    """Validate `raw` and build the config; raise ValidationError listing every problem.

    `catalog` None skips the ledger checks (used when loading what was already validated).
    A missing or null password keeps `previous`'s password (SPEC §6: `password: null`).
    `decrypt` turns a stored `enc:` value back into clear text (with `lazy_secrets`: on
    first use, see `Secret.encrypted`).
    Values of fields that do not apply (`FieldSpec.applies_when`) are dropped (save);
    `strict` (a config file: import, validate) refuses them instead unless empty.
    `stored`: a document the store holds, checked as a whole when it was saved: each value
    is parsed again (types, secrets), the checks across keys and fields (unknown keys,
    fields required together) are not repeated on every load (1000 configs per reload).
    """
    if not isinstance(raw, Mapping):
        raise ValidationError([Problem("", "Schnittstelle", "muss ein JSON-Objekt sein")])
    problems = (
        []
        if stored
        else unknown_keys(FIELDS, raw, _META_KEYS, owner=OWNER_LABEL, groups=GROUP_LABELS)
    )
    values, found = parse_values(FIELDS, raw, previous, decrypt, lazy_secrets=lazy_secrets)
    problems.extend(found)
    # `interval: null`, `{}` or an object without kind: never silently "täglich". (Leaving
    # the key out is the documented default, täglich, as in the form.)
    interval = raw.get("interval", {"kind": "daily"})
    no_kind = interval is None or (isinstance(interval, Mapping) and interval.get("kind") is None)
    if no_kind and not any(p.path.startswith("interval.kind") for p in problems):
        problems.append(_problem("interval.kind", "Pflichtfeld"))
    if not stored:
        problems.extend(_cross_field_problems(values, problems))
    if strict:
        problems.extend(inapplicable_problems(FIELDS, values, {p.path for p in problems}))
    if catalog is not None:
        problems.extend(_catalog_problems(values, catalog, problems))
    if problems:
        raise ValidationError(problems)

    values = drop_inapplicable(FIELDS, values)
    cfg_id = raw.get("id") if isinstance(raw.get("id"), str) else ""
    return _build(values, cfg_id or (previous.id if previous else ""))


#: Fields required while they apply (when they apply: `FieldSpec.applies_when`).
_REQUIRED_WHILE_APPLYING = {
    "incoming_format": "Pflichtfeld, wenn „Eingangsbuchungsexport“ gewählt ist",
    "time": "Pflichtfeld (außer bei „Stündlich“)",
    "interval.every_minutes": "Pflichtfeld bei „Stündlich“",
    "interval.days": "mindestens einen Wochentag wählen",
    "interval.day": "Pflichtfeld bei „Tag des Monats“ (1–31)",
}


def _cross_field_problems(values: dict[str, Any], earlier: list[Problem]) -> list[Problem]:
    failed = {p.path for p in earlier}
    out: list[Problem] = []

    def ok(*paths: str) -> bool:
        return not failed.intersection(paths)

    if ok("server_side", "workstation") and not values["server_side"] and not values["workstation"]:
        out.append(_problem("workstation", "Pflichtfeld, wenn „Serverseitig“ nicht gewählt ist"))
    for path, message in _REQUIRED_WHILE_APPLYING.items():
        fs = FIELDS_BY_PATH[path]
        assert fs.applies_when is not None
        if ok(path, fs.applies_when.path) and applies(fs, values) and is_empty(values[path]):
            out.append(_problem(path, message))
    return out


def _catalog_problems(
    values: dict[str, Any], catalog: Catalog, earlier: list[Problem]
) -> list[Problem]:
    failed = {p.path for p in earlier}
    out: list[Problem] = []
    if "clients" not in failed:
        for cid in values["clients"]:
            if cid not in catalog.clients:
                out.append(_problem("clients", f"{cid} gibt es in der Buchhaltung nicht"))
    if "branch" not in failed and values["branch"]:
        branch = catalog.branches.get(values["branch"])
        if branch is None:
            out.append(_problem("branch", f"{values['branch']} gibt es in der Buchhaltung nicht"))
        elif values["clients"] and branch.client_id not in values["clients"]:
            out.append(
                _problem("branch", f"„{branch.name}“ gehört zu keinem der gewählten Mandanten")
            )
    if "document_types" not in failed:
        for code in values["document_types"]:
            dtype = catalog.document_types.get(code)
            if dtype is None:
                out.append(_problem("document_types", f"{code} gibt es in der Buchhaltung nicht"))
            elif dtype.incoming:
                out.append(
                    _problem(
                        "document_types",
                        f"{code} ({dtype.name}) ist eine Eingangsbelegart; Eingangsbuchungen "
                        "werden mit „Eingangsbuchungsexport“ exportiert",
                    )
                )
    if "payment_methods" not in failed:
        for code in values["payment_methods"]:
            if code not in catalog.payment_methods:
                out.append(_problem("payment_methods", f"{code} gibt es in der Buchhaltung nicht"))
    return out


def _build(values: dict[str, Any], cfg_id: str) -> ExportConfig:
    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {"target": {}, "interval": {}}
    for path, val in values.items():
        head, dot, rest = path.partition(".")
        if dot:
            nested[head][rest] = val
        else:
            top[path] = val
    return ExportConfig(
        id=cfg_id, target=Target(**nested["target"]), interval=Interval(**nested["interval"]), **top
    )


# --- JSON ---------------------------------------------------------------------------------


def config_to_json(
    cfg: ExportConfig,
    *,
    secrets: SecretMode = "omit",
    encrypt: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The config as a JSON object with the field names of SPEC §1–2 (see model_to_json)."""
    out = {"id": cfg.id, **model_to_json(cfg, FIELDS, secrets=secrets, encrypt=encrypt)}
    out["interval"] = cfg.interval.to_json()
    return out


_WEEKDAY_SHORT = {value: label[:2] for value, label in WEEKDAY_CHOICES}  # Mo, Di, …


def describe_interval(cfg: ExportConfig) -> str:
    """The schedule in short German, for every front end (CLI list, TUI list):
    'täglich 06:30', 'alle 15 Min.', 'stündlich', 'wöchentlich Mo, Mi 07:00',
    'monatl. am 15. 06:00'."""
    iv = cfg.interval
    if iv.kind == "hourly":
        return "stündlich" if iv.every_minutes in (None, 60) else f"alle {iv.every_minutes} Min."
    if iv.kind == "weekly":
        text = "wöchentlich " + ", ".join(_WEEKDAY_SHORT.get(d, d) for d in iv.days)
    elif iv.kind == "monthly":
        text = f"monatl. am {iv.day}."
    else:
        text = "täglich"
    return f"{text} {cfg.time}" if cfg.time else text


def changed_fields(old: ExportConfig | None, new: ExportConfig) -> list[str]:
    return changed_paths(FIELDS, old, new)


def with_id(cfg: ExportConfig, cfg_id: str) -> ExportConfig:
    return dataclasses.replace(cfg, id=cfg_id)
