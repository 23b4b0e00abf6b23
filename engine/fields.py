"""Declarative field machinery: one declaration per field, used by validation, config files,
the CLI and the TUI's forms.

A model is a frozen dataclass whose fields carry a `FieldSpec` in their metadata (see `spec`).
`field_specs(Model)` flattens nested models into dotted paths (`target.host`), and every
consumer works from that list instead of repeating names, labels or rules.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["text", "int", "bool", "date", "time", "choice", "multi", "secret", "email"]
Parser = Callable[[Any], Any]


class Invalid(ValueError):
    """Raised by a parser with a German message (without the label; the caller adds it)."""


@dataclass(frozen=True)
class Problem:
    path: str
    label: str
    message: str

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"


class ValidationError(Exception):
    """Carries every problem found; str() gives one `Label: message` line per problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class Secret:
    """A password held in memory. repr/str never show it, so it cannot leak into logs.

    A stored password stays encrypted (`Secret.encrypted`) until `reveal()`: listing or
    showing configs never needs the key, so a lost `secret.key` only stops what really
    uses a password (a run, a test), with the cipher's German message."""

    __slots__ = ("_decrypt", "_token", "_value")

    def __init__(self, value: str) -> None:
        self._value: str | None = value
        self._token: str | None = None
        self._decrypt: Callable[[str], str] | None = None

    @classmethod
    def encrypted(cls, token: str, decrypt: Callable[[str], str]) -> Secret:
        """A stored `enc:` token, decrypted on first `reveal()` (may raise CipherError)."""
        secret = cls.__new__(cls)
        secret._value = None
        secret._token = token
        secret._decrypt = decrypt
        return secret

    @property
    def token(self) -> str | None:
        """The stored `enc:` token this secret was read from, if any."""
        return self._token

    def reveal(self) -> str:
        if self._value is None:
            assert self._token is not None and self._decrypt is not None
            self._value = self._decrypt(self._token)
        return self._value

    def __bool__(self) -> bool:
        return bool(self._token) if self._value is None else bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return False
        if other is self or (self._token is not None and other._token == self._token):
            return True
        return other.reveal() == self.reveal()

    def __hash__(self) -> int:
        return hash(Secret)  # equal secrets must hash alike, revealed or not

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


@dataclass(frozen=True)
class Condition:
    """When a field applies: while the field at `path` has one of `values` (with `negate`:
    none of them). Written with `only_if` / `unless`; asked through `applies`.

    A field that does not apply is hidden in a form, dropped on save (`drop_inapplicable`)
    and refused in an imported config file (`inapplicable_problems`). The controlling field
    itself carries no condition (no chains)."""

    path: str
    values: frozenset[Any]
    negate: bool = False

    def holds(self, values: Mapping[str, Any]) -> bool:
        if self.path not in values:
            return True  # values without the controlling field (a partial form, a failed parse)
        try:
            hit = values[self.path] in self.values
        except TypeError:  # an unhashable raw value is none of the (hashable) values
            hit = False
        return hit != self.negate


def only_if(path: str, *values: Any) -> Condition:
    """The field applies only while `path` has one of `values`."""
    return Condition(path, frozenset(values))


def unless(path: str, *values: Any) -> Condition:
    """The field applies except while `path` has one of `values`."""
    return Condition(path, frozenset(values), negate=True)


@dataclass(frozen=True)
class FieldSpec:
    label: str  # the German UI label users know from the seed document
    section: str  # form section (seed heading)
    kind: Kind
    parse: Parser
    required: bool = False
    # Static choices (value, German label); catalog-backed choices name a catalog source.
    choices: Sequence[tuple[str, str]] = ()
    catalog: str | None = None
    help: str = ""  # short hint: the placeholder / prompt ("leer: alle")
    path: str = ""  # filled in by field_specs()
    default: Any = None
    applies_when: Condition | None = None  # None: always applies
    # What the field is for, in German (the seed document's "Beschreibung"): the form's
    # tooltip and help line, the help screen (F1), `buchex` help texts.
    explanation: str = ""


def spec(
    label: str,
    section: str,
    kind: Kind,
    parse: Parser,
    *,
    required: bool = False,
    choices: Sequence[tuple[str, str]] = (),
    catalog: str | None = None,
    help: str = "",
    applies_when: Condition | None = None,
    explanation: str = "",
) -> dict[str, FieldSpec]:
    return {
        "spec": FieldSpec(
            label=label,
            section=section,
            kind=kind,
            parse=parse,
            required=required,
            choices=choices,
            catalog=catalog,
            help=help,
            applies_when=applies_when,
            explanation=explanation,
        )
    }


def field_specs(model: type[Any], prefix: str = "") -> list[FieldSpec]:
    """All declared fields of `model` (recursing into nested models) in declaration order."""
    out: list[FieldSpec] = []
    for f in dataclasses.fields(model):
        path = f"{prefix}{f.name}"
        fs = f.metadata.get("spec")
        if fs is None:
            nested = _resolve(model, f.name)  # annotations are strings (PEP 563)
            if nested is not None and dataclasses.is_dataclass(nested):
                out.extend(field_specs(nested, prefix=f"{path}."))
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        out.append(dataclasses.replace(fs, path=path, default=default))
    return out


def _resolve(model: type[Any], name: str) -> type[Any] | None:
    import typing

    hints = typing.get_type_hints(model)
    hint = hints.get(name)
    return hint if isinstance(hint, type) else None


@functools.cache
def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def get_path(data: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """(present, value) for a dotted path in nested dicts."""
    cur: Any = data
    for part in _parts(path):  # split once per path: 1000 configs × 30 fields per load
        # `type(...) is dict` first: stored configs are plain dicts, and the abstract
        # Mapping check is what made loading 1000 configs slow.
        if not (type(cur) is dict or isinstance(cur, Mapping)) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def value_at(obj: Any, path: str) -> Any:
    """Attribute lookup along a dotted path (`cfg.target.host`)."""
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def unknown_keys(
    specs: Sequence[FieldSpec],
    raw: Mapping[str, Any],
    extra: Iterable[str] = (),
    *,
    owner: str = "Eingabe",
    groups: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Keys that no field declares: typos in config files must not pass silently.

    A problem names a German label, never a bare JSON key: `owner` for the top level (e.g.
    "Schnittstelle"), `groups` for nested objects (e.g. {"target": "FTP"}); the unknown
    key itself is quoted in the message."""
    paths = {f.path for f in specs}
    nested = {p.split(".")[0] for p in paths if "." in p}
    groups = groups or {}
    problems: list[Problem] = []
    for key, value in raw.items():
        if key in nested:
            group = groups.get(key, owner)
            if value is not None and not isinstance(value, Mapping):
                problems.append(Problem(key, group, f"muss ein Objekt sein ({key}: {{…}})"))
                continue
            for sub in value or {}:
                if f"{key}.{sub}" not in paths:
                    problems.append(
                        Problem(f"{key}.{sub}", group, f"unbekanntes Feld {quoted(f'{key}.{sub}')}")
                    )
        elif key not in paths and key not in extra:
            problems.append(Problem(str(key), owner, f"unbekanntes Feld {quoted(key)}"))
    return problems


def parse_values(
    specs: Sequence[FieldSpec],
    raw: Mapping[str, Any],
    previous: Any = None,
    decrypt: Callable[[str], str] | None = None,
    *,
    lazy_secrets: bool = False,
) -> tuple[dict[str, Any], list[Problem]]:
    """Parse every declared field of `raw` into {path: value}; absent fields take the default.

    Secrets: absent or null keeps `previous`'s value, "" clears it, an `enc:` token is
    decrypted with `decrypt` (an `Invalid` from it names the field). `lazy_secrets` (for
    what the store holds): tokens stay encrypted until used (`Secret.encrypted`).
    """
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for fs in specs:
        present, rawv = get_path(raw, fs.path)
        try:
            if fs.kind == "secret":
                values[fs.path] = _secret_value(fs, present, rawv, previous, decrypt, lazy_secrets)
                continue
            value = fs.parse(rawv) if present else fs.default
        except Invalid as exc:
            problems.append(Problem(fs.path, fs.label, str(exc)))
            continue
        values[fs.path] = value
        if fs.required and is_empty(value):
            problems.append(Problem(fs.path, fs.label, "Pflichtfeld"))
    return values, problems


def _secret_value(
    fs: FieldSpec,
    present: bool,
    rawv: Any,
    previous: Any,
    decrypt: Callable[[str], str] | None,
    lazy: bool = False,
) -> Secret | None:
    if not present or rawv is None:
        return value_at(previous, fs.path) if previous is not None else None
    if isinstance(rawv, str) and rawv.startswith("enc:"):
        if decrypt is None:
            raise Invalid("verschlüsselter Wert, aber kein Schlüssel")
        if lazy:
            return Secret.encrypted(rawv, decrypt)
        rawv = decrypt(rawv)
    secret: Secret | None = fs.parse(rawv)
    return secret if secret else None  # "" clears the password


def is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


# --- applicability: when a field applies (declared by `FieldSpec.applies_when`) -------------


def applies(fs: FieldSpec, values: Mapping[str, Any]) -> bool:
    """Does `fs` apply, i.e. is it shown, for the flat values {path: value}?

    The one answer for every front end and for the model: raw form values (a choice's
    value, a checkbox's bool) and parsed values give the same answer. A field whose
    controlling field is not among `values` applies."""
    return fs.applies_when is None or fs.applies_when.holds(values)


def controlling_paths(specs: Iterable[FieldSpec]) -> frozenset[str]:
    """The paths whose value decides whether another field applies (a form re-checks
    visibility when one of them changes)."""
    return frozenset(fs.applies_when.path for fs in specs if fs.applies_when is not None)


def drop_inapplicable(specs: Sequence[FieldSpec], values: Mapping[str, Any]) -> dict[str, Any]:
    """On save: every field that does not apply gets its default, so what is stored is
    canonical (no time of day for "Stündlich", no second format without
    Eingangsbuchungsexport). Decided on `values` as given, not on the result."""
    out = dict(values)
    for fs in specs:
        if fs.path in out and not applies(fs, values):
            out[fs.path] = fs.default
    return out


def is_unset(fs: FieldSpec, value: Any) -> bool:
    """Empty or the field's default: what an inapplicable field may carry in a file."""
    return is_empty(value) or value == fs.default


def inapplicable_problems(
    specs: Sequence[FieldSpec], values: Mapping[str, Any], failed: Collection[str] = ()
) -> list[Problem]:
    """On import: a value for a field that does not apply is refused, never silently
    dropped; only an empty value or the default is accepted (what `config export` writes
    for such a field). The message names the field's label and path and what it depends on.
    Fields in `failed` (or depending on a field in `failed`) are skipped: their problem is
    reported already."""
    by_path = {fs.path: fs for fs in specs}
    out: list[Problem] = []
    for fs in specs:
        cond = fs.applies_when
        if cond is None or fs.path in failed or cond.path in failed or fs.path not in values:
            continue
        if applies(fs, values) or is_unset(fs, values[fs.path]):
            continue
        controller = by_path.get(cond.path)
        what = controller.label if controller is not None else cond.path
        out.append(
            Problem(
                fs.path,
                fs.label,
                f"{condition_text(cond, controller)} (Feld {quoted(fs.path)} hängt von "
                f"{quoted(what)} ab, {quoted(cond.path)}); leer lassen oder weglassen",
            )
        )
    return out


def condition_text(cond: Condition, controller: FieldSpec | None) -> str:
    """German: where a field is possible ("nur bei SFTP möglich", "nicht bei Stündlich
    möglich", "nur möglich, wenn „Eingangsbuchungsexport“ gewählt ist")."""
    if controller is not None and controller.kind == "bool" and cond.values <= {True, False}:
        chosen = (True in cond.values) != cond.negate
        return f"nur möglich, wenn „{controller.label}“ {'' if chosen else 'nicht '}gewählt ist"
    labels = dict(controller.choices) if controller is not None else {}
    order = list(labels)
    shown = sorted((v for v in cond.values if v is not None), key=lambda v: _rank(order, v))
    names = [labels.get(str(v), str(v)) for v in shown]
    joined = " oder ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    return f"{'nicht' if cond.negate else 'nur'} bei {joined} möglich"


def _rank(order: list[str], value: Any) -> tuple[int, str]:
    return (order.index(value) if value in order else len(order), str(value))


# --- parsers: raw JSON/form value -> typed value; raise Invalid with a German reason ---------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, C1, line separators
#: A lone UTF-16 surrogate (JSON "\ud800"): no character, and no UTF-8 file can hold it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: Longest user value echoed in a message (a 10 MB value must not become 10 MB of output).
QUOTE_MAX = 60


def quoted(value: Any) -> str:
    """A user's value for a German message: „…“, at most QUOTE_MAX characters, control
    characters and lone surrogates escaped."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = repr(value)[: QUOTE_MAX * 2]
        except (ValueError, RecursionError):  # a number of 5000 digits, deep nesting
            text = f"<{type(value).__name__}>"
    if len(text) > QUOTE_MAX:
        text = text[: QUOTE_MAX - 1] + "…"
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "„" + _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text) + "“"


def _check_characters(value: str) -> None:
    if _CONTROL.search(value):
        raise Invalid("darf keine Steuerzeichen enthalten")
    bad = _SURROGATE.search(value)
    if bad:
        raise Invalid(
            f"enthält ein ungültiges Zeichen (U+{ord(bad.group()):04X}, ein einzelnes "
            "UTF-16-Ersatzzeichen)"
        )


def p_text(
    max_len: int, pattern: re.Pattern[str] | None = None, what: str = ""
) -> Callable[[Any], str | None]:
    def parse(raw: Any) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise Invalid("muss ein Text sein")
        value = raw.strip()
        _check_characters(value)
        if len(value) > max_len:
            raise Invalid(f"höchstens {max_len} Zeichen (jetzt {len(value)})")
        if value and pattern is not None and not pattern.fullmatch(value):
            raise Invalid(what or "hat ein ungültiges Format")
        return value or None

    return parse


def p_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw is None:
        raise Invalid("muss ja oder nein sein")
    if isinstance(raw, str) and raw.strip().lower() in {"true", "ja", "1", "yes"}:
        return True
    if isinstance(raw, str) and raw.strip().lower() in {"false", "nein", "0", "no"}:
        return False
    raise Invalid("muss ja oder nein sein (true/false)")


_ASCII_INT = re.compile(r"[0-9]{1,18}")


def p_int(lo: int, hi: int) -> Callable[[Any], int | None]:
    def parse(raw: Any) -> int | None:
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool):
            raise Invalid("muss eine ganze Zahl sein")
        if isinstance(raw, str):
            # ASCII digits only: "²" and "٢١" are digits to str.isdigit(), not to int() or
            # to an admin reading the file; and no 5000-digit numbers.
            if not _ASCII_INT.fullmatch(raw.strip()):
                raise Invalid(f"muss eine ganze Zahl sein (Ziffern 0–9), nicht {quoted(raw)}")
            raw = int(raw.strip())
        if not isinstance(raw, int):
            raise Invalid("muss eine ganze Zahl sein")
        if not lo <= raw <= hi:
            raise Invalid(f"muss zwischen {lo} und {hi} liegen")
        return raw

    return parse


def p_choice(choices: Iterable[tuple[str, str]]) -> Callable[[Any], str | None]:
    values = [v for v, _ in choices]

    def parse(raw: Any) -> str | None:
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str) or raw not in values:
            raise Invalid(f"muss eines von {', '.join(values)} sein")
        return raw

    return parse


def p_ref_list(raw: Any) -> tuple[str, ...]:
    """A list of ledger ids/codes (validated against the ledger's catalog separately)."""
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str | int):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        raise Invalid("muss eine Liste sein")
    out: list[str] = []
    for item in raw:
        text = _ref_text(item)
        if not text:
            raise Invalid(f"ungültiger Eintrag {quoted(item)}")
        if text not in out:
            out.append(text)
    return tuple(out)


_REF_MAX = 64


def _ref_text(item: Any) -> str:
    """A ledger id or code from a config file: text or a whole number, at most 64 long."""
    if isinstance(item, bool) or not isinstance(item, str | int):
        raise Invalid(f"ungültiger Eintrag {quoted(item)}")
    if isinstance(item, int):
        if not -(10**_REF_MAX) < item < 10**_REF_MAX:
            raise Invalid(f"Eintrag zu lang (höchstens {_REF_MAX} Zeichen)")
        return str(item)
    _check_characters(item)
    text = item.strip()
    if len(text) > _REF_MAX:
        raise Invalid(f"Eintrag {quoted(text)} zu lang (höchstens {_REF_MAX} Zeichen)")
    return text


def p_ref(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise Invalid("ungültiger Wert")
    return _ref_text(raw) or None


def p_date(raw: Any) -> dt.date | None:
    """ISO `YYYY-MM-DD` (config files) or German `TT.MM.JJJJ` (forms)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.date):
        return raw
    if not isinstance(raw, str):
        raise Invalid("muss ein Datum sein (JJJJ-MM-TT oder TT.MM.JJJJ)")
    text = raw.strip()
    if text.isascii():  # strptime's %d also takes other scripts' digits
        for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    raise Invalid(f"{quoted(text)} ist kein gültiges Datum (JJJJ-MM-TT oder TT.MM.JJJJ)")


WINDOW_START = dt.time(6, 0)
WINDOW_END = dt.time(22, 0)


def p_time(raw: Any) -> str | None:
    """`HH:MM` between 06:00 and 22:00 inclusive (maintenance happens outside)."""
    if raw is None or raw == "":
        return None
    # [0-9], not \d: "٠٧:٠٠" (Arabic-Indic digits) is no time an admin reads as 07:00
    if not isinstance(raw, str) or not re.fullmatch(r"[0-9]{1,2}:[0-9]{2}", raw.strip()):
        raise Invalid("muss eine Uhrzeit HH:MM sein (Ziffern 0–9)")
    hh, mm = (int(x) for x in raw.strip().split(":"))
    if hh > 23 or mm > 59:
        raise Invalid(f"„{raw.strip()}“ ist keine gültige Uhrzeit")
    t = dt.time(hh, mm)
    if not WINDOW_START <= t <= WINDOW_END:
        raise Invalid("nur zwischen 06:00 und 22:00 Uhr möglich (Wartungsfenster)")
    return f"{hh:02d}:{mm:02d}"


_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_DOTTED = re.compile(r"[\d.]+")


def check_host(text: str) -> str:
    """DNS name (IDN allowed), IPv4 or IPv6 (with or without brackets)."""
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    dotted = _DOTTED.fullmatch(text) is not None
    if dotted or ":" in candidate:  # only these can be addresses: spare names the exception
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass
    if dotted:
        raise Invalid(f"„{text}“ ist keine gültige IPv4-Adresse")
    name = text[:-1] if text.endswith(".") else text
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise Invalid(f"„{text}“ ist kein gültiger Hostname") from exc
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise Invalid(f"„{text}“ ist kein gültiger Hostname oder keine gültige IP-Adresse")
    return name


_HOST_TEXT, _EMAILS_TEXT, _EMAIL_TEXT = p_text(255), p_text(500), p_text(254)


def p_host(raw: Any) -> str | None:
    value = _HOST_TEXT(raw)
    return None if value is None else check_host(value)


_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def check_email(text: str) -> str:
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or len(local) > 64 or not _LOCAL.fullmatch(local):
        raise Invalid(f"„{text}“ ist keine gültige E-Mail-Adresse")
    try:
        check_host(domain)
    except Invalid as exc:
        raise Invalid(f"„{text}“ ist keine gültige E-Mail-Adresse") from exc
    return text


def p_emails(raw: Any) -> str | None:
    """One address or several separated by comma."""
    value = _EMAILS_TEXT(raw)
    if value is None:
        return None
    parts = [p.strip() for p in re.split(r"[,;]", value) if p.strip()]
    return ", ".join(check_email(p) for p in parts) or None


def p_email(raw: Any) -> str | None:
    value = _EMAIL_TEXT(raw)
    return None if value is None else check_email(value)


def p_secret(raw: Any) -> Secret | None:
    if raw is None:
        return None
    if isinstance(raw, Secret):
        return raw
    if not isinstance(raw, str):
        raise Invalid("muss ein Text sein")
    _check_characters(raw)
    if len(raw) > 256:
        raise Invalid("höchstens 256 Zeichen")
    return Secret(raw)


# --- JSON out -----------------------------------------------------------------------------

SecretMode = Literal["omit", "clear", "encrypt"]


def model_to_json(
    obj: Any,
    specs: Sequence[FieldSpec],
    *,
    secrets: SecretMode = "omit",
    encrypt: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Nested JSON object of the declared fields.

    secrets: "omit" writes null (an import keeps the stored secret), "clear" the clear
    text, "encrypt" the `enc:` token the store keeps.
    """
    out: dict[str, Any] = {}
    for fs in specs:
        value = value_at(obj, fs.path)
        if fs.kind == "secret":
            value = _secret_json(value, secrets, encrypt)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        cur = out
        *parents, leaf = fs.path.split(".")
        for part in parents:
            cur = cur.setdefault(part, {})
        cur[leaf] = value
    return out


def _secret_json(
    value: Secret | None, mode: SecretMode, encrypt: Callable[[str], str] | None
) -> str | None:
    if value is None or mode == "omit":
        return None
    if mode == "clear":
        return value.reveal()
    if value.token is not None:  # still as stored: no key needed to keep it
        return value.token
    if encrypt is None:
        raise ValueError("encrypt mode needs a cipher")
    return encrypt(value.reveal())


def changed_paths(specs: Sequence[FieldSpec], old: Any, new: Any) -> list[str]:
    """Dotted paths whose value differs (audit records name fields, never values)."""
    if old is None:
        return [f.path for f in specs]
    return [f.path for f in specs if value_at(old, f.path) != value_at(new, f.path)]


def build_flat(model: type[Any], values: Mapping[str, Any]) -> Any:
    """Instantiate a flat (non-nested) model from parsed values."""
    return model(**{k: v for k, v in values.items() if "." not in k})
