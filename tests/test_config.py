"""The config model: every rule of SPEC §2, German messages naming the field's UI label."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import (
    FIELDS,
    FIELDS_BY_PATH,
    ExportConfig,
    Interval,
    config_to_json,
    describe_interval,
    parse_config,
)
from engine.fields import (
    Secret,
    SecretMode,
    ValidationError,
    applies,
    controlling_paths,
    drop_inapplicable,
    value_at,
)
from engine.ledger import Catalog


def problems(raw: dict[str, Any], catalog: Catalog | None, *, strict: bool = False) -> list[str]:
    with pytest.raises(ValidationError) as info:
        parse_config(raw, catalog=catalog, strict=strict)
    return [str(p) for p in info.value.problems]


def test_valid_config_parses(valid_raw: dict[str, Any], catalog: Catalog) -> None:
    cfg = parse_config(valid_raw, catalog=catalog)
    assert cfg.target.host == "ftp.steuerbuero.example"
    assert cfg.target.effective_port == 2121
    assert cfg.clients == ("1", "2")
    assert cfg.start == dt.date(2026, 1, 1)
    assert isinstance(cfg.target.password, Secret)
    assert cfg.target.password.reveal() == "Geheim-Passwort-123"
    assert "Geheim" not in repr(cfg)  # secrets never leak through repr into logs


def test_json_round_trip(valid_raw: dict[str, Any], catalog: Catalog) -> None:
    cfg = parse_config(valid_raw, catalog=catalog)
    again = parse_config(config_to_json(cfg, secrets="clear"), catalog=catalog)
    assert again == cfg
    omitted = config_to_json(cfg)
    assert omitted["target"]["password"] is None


def test_every_seed_field_is_declared() -> None:
    labels = {f.label for f in FIELDS}
    seed_labels = {
        "Filiale", "Rechner", "Verwendung: Serverseitig", "Start", "FTP Hostname", "Port",
        "Verzeichnis", "Datenschnittstelle", "Benutzer", "Passwort", "SFTP verwenden",
        "Mandant", "Belegart", "Zahlungsart", "Debitoren exportieren", "Format",
        "Eingangsbuchungsexport", "Ausführungszeit", "Intervall", "E-Mail",
    }  # fmt: skip
    assert seed_labels <= labels
    assert len({f.path for f in FIELDS}) == len(FIELDS)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("target", "host"), "", "FTP Hostname: Pflichtfeld"),
        (("target", "host"), "exa mple.com", "FTP Hostname: „exa mple.com“ ist kein gültiger"),
        (("target", "host"), "300.1.1.1", "FTP Hostname: „300.1.1.1“ ist keine gültige IPv4"),
        (("target", "host"), "-bad-.example", "FTP Hostname: „-bad-.example“ ist kein gültiger"),
        (("target", "user"), None, "Benutzer: Pflichtfeld"),
        (("target", "port"), 0, "Port: muss zwischen 1 und 65535 liegen"),
        (("target", "port"), 65536, "Port: muss zwischen 1 und 65535 liegen"),
        (("target", "port"), "einundzwanzig", "Port: muss eine ganze Zahl sein"),
        (("target", "protocol"), "scp", "SFTP verwenden: muss eines von ftp, ftps, sftp sein"),
        (("target", "directory"), "../etc", "Verzeichnis: darf kein „..“ enthalten"),
        (("time",), "05:59", "Ausführungszeit: nur zwischen 06:00 und 22:00 Uhr möglich"),
        (("time",), "22:01", "Ausführungszeit: nur zwischen 06:00 und 22:00 Uhr möglich"),
        (("time",), "25:00", "Ausführungszeit: „25:00“ ist keine gültige Uhrzeit"),
        (("time",), "halb sieben", "Ausführungszeit: muss eine Uhrzeit HH:MM sein"),
        (("time",), None, "Ausführungszeit: Pflichtfeld (außer bei „Stündlich“)"),
        (("start",), "2026-02-30", "Start: „2026-02-30“ ist kein gültiges Datum"),
        (("format",), "xml", "Format: muss eines von datev, csv, csv-rfc4180, lexware sein"),
        (("format",), None, "Format: Pflichtfeld"),
        (("incoming_format",), None, "Format (Eingangsbuchungen): Pflichtfeld, wenn"),
        (("email",), "buchhaltung@", "E-Mail: „buchhaltung@“ ist keine gültige E-Mail-Adresse"),
        (("clients",), [], "Mandant: Pflichtfeld"),
        (("clients",), ["1", "9"], "Mandant: 9 gibt es in der Buchhaltung nicht"),
        (("document_types",), [], "Belegart: Pflichtfeld"),
        (("document_types",), ["KR", "ER"], "Belegart: ER (Eingangsrechnung) ist eine Eingangs"),
        (("document_types",), ["XX"], "Belegart: XX gibt es in der Buchhaltung nicht"),
        (("payment_methods",), ["BAR", "SCHECK"], "Zahlungsart: SCHECK gibt es in der Buch"),
        (("branch",), "99", "Filiale: 99 gibt es in der Buchhaltung nicht"),
        (("server_side",), "vielleicht", "Verwendung: Serverseitig: muss ja oder nein sein"),
        (("workstation",), "Kasse 1", "Rechner: Rechnername: Buchstaben, Ziffern"),
        (("name",), "", "Name: Pflichtfeld"),
        (("interval", "kind"), "yearly", "Intervall: muss eines von hourly, daily, weekly"),
    ],
)
def test_rule_violation_names_the_field(
    valid_raw: dict[str, Any], catalog: Catalog, path: tuple[str, ...], value: Any, expected: str
) -> None:
    target = valid_raw
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    found = problems(valid_raw, catalog)
    assert any(p.startswith(expected) for p in found), found


def test_boundaries_of_the_time_window(valid_raw: dict[str, Any], catalog: Catalog) -> None:
    for ok in ("06:00", "6:00", "22:00", "13:37"):
        valid_raw["time"] = ok
        assert parse_config(valid_raw, catalog=catalog).time is not None


def test_hosts_that_are_valid(valid_raw: dict[str, Any], catalog: Catalog) -> None:
    for host, stored in [
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("müller-steuer.de", "müller-steuer.de"),
        ("sftp.datev-kanzlei.example.", "sftp.datev-kanzlei.example"),
    ]:
        valid_raw["target"]["host"] = host
        assert parse_config(valid_raw, catalog=catalog).target.host == stored


def test_default_ports_by_protocol(valid_raw: dict[str, Any], catalog: Catalog) -> None:
    valid_raw["target"]["port"] = None
    for protocol, port in (("ftp", 21), ("ftps", 21), ("sftp", 22)):
        valid_raw["target"]["protocol"] = protocol
        assert parse_config(valid_raw, catalog=catalog).target.effective_port == port


def test_interval_variants(valid_raw: dict[str, Any], catalog: Catalog) -> None:
    valid_raw["interval"] = {"kind": "hourly", "every_minutes": 15}
    cfg = parse_config(valid_raw, catalog=catalog)
    assert cfg.time is None  # hourly ignores the time of day
    assert cfg.interval.to_json() == {"kind": "hourly", "every_minutes": 15}

    valid_raw["interval"] = {"kind": "weekly", "days": ["fri", "mon", "mon"]}
    assert parse_config(valid_raw, catalog=catalog).interval.days == ("mon", "fri")

    valid_raw["interval"] = {"kind": "monthly", "day": 31}
    assert parse_config(valid_raw, catalog=catalog).interval.day == 31

    bad = [
        ({"kind": "hourly", "every_minutes": 7}, "alle x Minuten: muss eines von"),
        ({"kind": "hourly"}, "alle x Minuten: Pflichtfeld bei „Stündlich“"),
        ({"kind": "weekly", "days": []}, "Wochentage: mindestens einen Wochentag wählen"),
        ({"kind": "weekly", "days": ["mo"]}, "Wochentage: unbekannter Wochentag „mo“"),
        ({"kind": "monthly", "day": 32}, "Tag des Monats: muss zwischen 1 und 31 liegen"),
        ({"kind": "monthly"}, "Tag des Monats: Pflichtfeld"),
    ]
    for interval, expected in bad:
        valid_raw["interval"] = interval
        found = problems(valid_raw, catalog)
        assert any(p.startswith(expected) for p in found), (interval, found)


def test_workstation_required_when_not_server_side(
    valid_raw: dict[str, Any], catalog: Catalog
) -> None:
    valid_raw["server_side"] = False
    assert "Rechner: Pflichtfeld, wenn „Serverseitig“ nicht gewählt ist" in problems(
        valid_raw, catalog
    )
    valid_raw["workstation"] = "KASSE-KIEL-01"
    assert parse_config(valid_raw, catalog=catalog).workstation == "KASSE-KIEL-01"


def test_branch_must_belong_to_a_chosen_client(valid_raw: dict[str, Any], catalog: Catalog) -> None:
    valid_raw["clients"] = ["1"]
    valid_raw["branch"] = "20"
    assert "Filiale: „Lübeck“ gehört zu keinem der gewählten Mandanten" in problems(
        valid_raw, catalog
    )
    valid_raw["branch"] = "10"
    assert parse_config(valid_raw, catalog=catalog).branch == "10"


def test_protocol_specific_fields(valid_raw: dict[str, Any], catalog: Catalog) -> None:
    valid_raw["target"]["key_file"] = "/etc/buchex/id_ed25519"
    # A config file (strict) is refused; the message goes on to name the field's path.
    found = problems(valid_raw, catalog, strict=True)
    assert any(p.startswith("Schlüsseldatei: nur bei SFTP möglich") for p in found), found
    # A save (a form) drops what does not apply.
    assert parse_config(valid_raw, catalog=catalog).target.key_file is None
    valid_raw["target"]["protocol"] = "sftp"
    assert parse_config(valid_raw, catalog=catalog).target.key_file


def test_unknown_fields_are_reported(valid_raw: dict[str, Any], catalog: Catalog) -> None:
    valid_raw["hostname"] = "x"
    valid_raw["target"]["passwort"] = "x"
    found = problems(valid_raw, catalog)
    # The German label of where the key is, the unknown key quoted (no bare JSON key label).
    assert "Schnittstelle: unbekanntes Feld „hostname“" in found
    assert "FTP: unbekanntes Feld „target.passwort“" in found


def test_every_problem_is_reported_at_once(catalog: Catalog) -> None:
    found = problems({"target": {"port": 0}, "time": "23:00"}, catalog)
    for expected in ("Name: Pflichtfeld", "FTP Hostname: Pflichtfeld", "Benutzer: Pflichtfeld",
                     "Port: muss zwischen", "Ausführungszeit: nur zwischen", "Mandant: Pflichtfeld",
                     "Belegart: Pflichtfeld"):  # fmt: skip
        assert any(p.startswith(expected) for p in found), (expected, found)


def test_password_null_keeps_previous(valid_raw: dict[str, Any], catalog: Catalog) -> None:
    previous = parse_config(valid_raw, catalog=catalog)
    valid_raw["target"]["password"] = None
    kept = parse_config(valid_raw, catalog=catalog, previous=previous)
    assert kept.target.password == previous.target.password
    del valid_raw["target"]["password"]
    assert parse_config(valid_raw, catalog=catalog, previous=previous).target.password
    valid_raw["target"]["password"] = ""
    assert parse_config(valid_raw, catalog=catalog, previous=previous).target.password is None


# --- applicability: when a field applies, declared once on the field ---------------------

#: Every conditional field: (controlling path, values where it applies, where it does not).
CONDITIONAL: dict[str, tuple[str, list[Any], list[Any]]] = {
    "target.key_file": ("target.protocol", ["sftp"], ["ftp", "ftps"]),
    "target.tls_ca_file": ("target.protocol", ["ftps"], ["ftp", "sftp"]),
    "target.tls_fingerprint": ("target.protocol", ["ftps"], ["ftp", "sftp"]),
    "incoming_format": ("incoming_export", [True], [False]),
    # None: no interval chosen yet in a form; the time shows
    "time": ("interval.kind", ["daily", "weekly", "monthly", None], ["hourly"]),
    "interval.every_minutes": ("interval.kind", ["hourly"], ["daily", "weekly", "monthly"]),
    "interval.days": ("interval.kind", ["weekly"], ["hourly", "daily", "monthly"]),
    "interval.day": ("interval.kind", ["monthly"], ["hourly", "daily", "weekly"]),
    "document_images": ("format", ["datev"], ["csv", "csv-rfc4180", "lexware"]),
}

#: A value each conditional field may take where it applies (file form).
SET_VALUES: dict[str, Any] = {
    "target.key_file": "/etc/buchex/id_ed25519",
    "target.tls_ca_file": "/etc/ssl/kanzlei-ca.pem",
    "target.tls_fingerprint": "ab" * 32,
    "incoming_format": "csv",
    "time": "06:30",
    "interval.every_minutes": 15,
    "interval.days": ["mon"],
    "interval.day": 15,
    "document_images": True,
}


def _set_path(raw: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        raw = raw.setdefault(part, {})
    raw[leaf] = value


def _not_applying(valid_raw: dict[str, Any], path: str) -> dict[str, Any]:
    """valid_raw with `path` set while its controlling field says it does not apply (and
    every field the chosen controller value needs filled)."""
    controller, _, off = CONDITIONAL[path]
    _set_path(valid_raw, controller, off[0])
    if controller == "interval.kind":
        valid_raw["interval"] = {"kind": off[0], **_KIND_NEEDS[off[0]]}
        if off[0] == "hourly":
            valid_raw["time"] = None
    if controller == "incoming_export":
        valid_raw["incoming_format"] = None
    _set_path(valid_raw, path, SET_VALUES[path])
    return valid_raw


_KIND_NEEDS: dict[str, dict[str, Any]] = {
    "hourly": {"every_minutes": 30},
    "daily": {},
    "weekly": {"days": ["tue"]},
    "monthly": {"day": 1},
}


def test_conditions_are_declared_on_the_fields() -> None:
    declared = {f.path: f.applies_when for f in FIELDS if f.applies_when is not None}
    assert {p: c.path for p, c in declared.items()} == {p: c[0] for p, c in CONDITIONAL.items()}
    # no chains: a controlling field applies always
    assert all(FIELDS_BY_PATH[c.path].applies_when is None for c in declared.values())
    assert controlling_paths(FIELDS) == {
        "target.protocol",
        "incoming_export",
        "interval.kind",
        "format",
    }


@pytest.mark.parametrize("path", list(CONDITIONAL))
def test_applies_for_each_condition(path: str) -> None:
    controller, on, off = CONDITIONAL[path]
    fs = FIELDS_BY_PATH[path]
    for value in on:
        assert applies(fs, {controller: value}), (path, value)
    for value in off:
        assert not applies(fs, {controller: value}), (path, value)
    assert applies(fs, {})  # without the controlling field (a partial form): shown


def test_unconditional_fields_always_apply() -> None:
    for fs in FIELDS:
        if fs.path not in CONDITIONAL:
            assert fs.applies_when is None
            assert applies(fs, {"target.protocol": "ftp", "interval.kind": "hourly"})


@pytest.mark.parametrize("path", list(CONDITIONAL))
def test_a_save_drops_what_does_not_apply(
    valid_raw: dict[str, Any], catalog: Catalog, path: str
) -> None:
    raw = _not_applying(valid_raw, path)
    cfg = parse_config(raw, catalog=catalog)
    assert value_at(cfg, path) == FIELDS_BY_PATH[path].default
    # the drop on its own, on flat values
    values = {f.path: value_at(cfg, f.path) for f in FIELDS}
    values[path] = "x"
    assert drop_inapplicable(FIELDS, values)[path] == FIELDS_BY_PATH[path].default


@pytest.mark.parametrize("path", list(CONDITIONAL))
def test_an_import_refuses_what_does_not_apply_naming_the_field(
    valid_raw: dict[str, Any], catalog: Catalog, path: str
) -> None:
    raw = _not_applying(valid_raw, path)
    controller = FIELDS_BY_PATH[CONDITIONAL[path][0]]
    found = problems(raw, catalog, strict=True)
    mine = [p for p in found if p.startswith(f"{FIELDS_BY_PATH[path].label}: ")]
    assert len(found) == len(mine) == 1, found
    message = mine[0]
    assert f"„{path}“" in message and f"„{controller.path}“" in message, message
    assert f"„{controller.label}“" in message, message
    assert message.endswith("leer lassen oder weglassen"), message


@pytest.mark.parametrize("path", list(CONDITIONAL))
def test_an_import_accepts_an_empty_value_where_a_field_does_not_apply(
    valid_raw: dict[str, Any], catalog: Catalog, path: str
) -> None:
    raw = _not_applying(valid_raw, path)
    kind = FIELDS_BY_PATH[path].kind
    # a checkbox's "empty" is its default, off (what `config export` writes)
    empties = (False,) if kind == "bool" else (None, "", [] if kind == "multi" else None)
    for empty in empties:
        _set_path(raw, path, empty)
        cfg = parse_config(raw, catalog=catalog, strict=True)
        assert value_at(cfg, path) == FIELDS_BY_PATH[path].default


def test_import_messages_say_what_a_field_depends_on(
    valid_raw: dict[str, Any], catalog: Catalog
) -> None:
    expected = {
        "target.key_file": "Schlüsseldatei: nur bei SFTP möglich (Feld „target.key_file“ "
        "hängt von „SFTP verwenden“ ab, „target.protocol“); leer lassen oder weglassen",
        "target.tls_ca_file": "CA-Datei: nur bei FTPS (explizites TLS) möglich",
        "incoming_format": "Format (Eingangsbuchungen): nur möglich, wenn "
        "„Eingangsbuchungsexport“ gewählt ist",
        "time": "Ausführungszeit: nicht bei Stündlich möglich (Feld „time“ hängt von "
        "„Intervall“ ab, „interval.kind“)",
        "interval.days": "Wochentage: nur bei Wöchentlich an folgenden Tagen möglich",
    }
    for path, text in expected.items():
        found = problems(_not_applying(copy.deepcopy(valid_raw), path), catalog, strict=True)
        assert any(p.startswith(text) for p in found), (path, found)


def test_strict_skips_fields_whose_controlling_field_is_invalid(
    valid_raw: dict[str, Any], catalog: Catalog
) -> None:
    valid_raw["target"]["protocol"] = "scp"
    valid_raw["target"]["key_file"] = "/etc/buchex/id_ed25519"
    found = problems(valid_raw, catalog, strict=True)
    assert [p.split(":")[0] for p in found] == ["SFTP verwenden"], found


def test_interval_text_is_one_engine_function() -> None:
    from engine.cli.config_cmds import _summary
    from tui import formatting

    assert formatting.describe_interval is describe_interval
    cfg = parse_config(
        {"interval": {"kind": "monthly", "day": 15}, "time": "07:00"}
        | {k: v for k, v in _minimal().items() if k not in ("interval", "time")},
        catalog=None,
    )
    assert describe_interval(cfg) == "monatl. am 15. 07:00"
    assert _summary(cfg)["interval"] == "monatl. am 15. 07:00"  # `config list`, was "monatlich"
    hourly = dataclasses.replace(cfg, time=None, interval=Interval("hourly", every_minutes=None))
    assert describe_interval(hourly) == "stündlich"  # was "alle None Min." in the CLI


def _minimal() -> dict[str, Any]:
    return {
        "name": "n",
        "target": {"host": "h.example", "user": "u"},
        "clients": ["1"],
        "document_types": ["KR"],
        "time": "06:30",
    }


# --- properties ---------------------------------------------------------------------------


@given(st.integers(0, 23), st.integers(0, 59))
def test_time_valid_exactly_inside_window(hour: int, minute: int) -> None:
    raw = {"time": f"{hour:02d}:{minute:02d}"}
    inside = dt.time(6) <= dt.time(hour, minute) <= dt.time(22)
    try:
        parse_config(raw, catalog=None)
    except ValidationError as exc:
        time_problems = [p for p in exc.problems if p.path == "time"]
        assert bool(time_problems) != inside
        return
    raise AssertionError("a config without required fields cannot be valid")


@given(st.integers(-100, 70000))
def test_port_valid_exactly_in_range(port: int) -> None:
    try:
        parse_config({"target": {"port": port}}, catalog=None)
    except ValidationError as exc:
        assert any(p.path == "target.port" for p in exc.problems) != (1 <= port <= 65535)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from([f.path.split(".")[0] for f in FIELDS] + ["id", "bogus"]),
        json_values,
    )
)
def test_arbitrary_input_gives_messages_never_crashes(raw: dict[str, Any]) -> None:
    try:
        parse_config(raw, catalog=None)
    except ValidationError as exc:
        assert exc.problems
        assert all(": " in str(p) for p in exc.problems)


valid_configs = st.fixed_dictionaries(
    {
        "name": st.text(
            st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
            min_size=1,
            max_size=80,
        ),
        "target": st.fixed_dictionaries(
            {
                "host": st.sampled_from(["127.0.0.1", "ftp.example.org", "::1"]),
                "user": st.text("abcdefghij", min_size=1, max_size=10),
                "port": st.none() | st.integers(1, 65535),
                "protocol": st.sampled_from(["ftp", "ftps", "sftp"]),
                "password": st.none() | st.text(max_size=20).filter(lambda s: s.isprintable()),
            }
        ),
        "clients": st.lists(st.sampled_from(["1", "2"]), min_size=1, unique=True),
        "document_types": st.lists(st.sampled_from(["KR", "GS"]), min_size=1, unique=True),
        "time": st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(6, 21), st.integers(0, 59)),
        "interval": st.one_of(
            st.just({"kind": "daily"}),
            st.builds(
                lambda n: {"kind": "hourly", "every_minutes": n},
                st.sampled_from([5, 10, 15, 20, 30, 60]),
            ),
            st.builds(
                lambda d: {"kind": "weekly", "days": d},
                st.lists(st.sampled_from(["mon", "tue", "sat"]), min_size=1, unique=True),
            ),
            st.builds(lambda d: {"kind": "monthly", "day": d}, st.integers(1, 31)),
        ),
    }
)


@settings(max_examples=200)
@given(valid_configs)
def test_valid_configs_round_trip(raw: dict[str, Any]) -> None:
    cfg: ExportConfig = parse_config(raw, catalog=None)
    assert parse_config(config_to_json(cfg, secrets="clear"), catalog=None) == cfg


@settings(max_examples=200)
@given(valid_configs)
def test_exported_configs_import_strictly_unchanged(raw: dict[str, Any]) -> None:
    """`config export` writes null for what does not apply; a strict import takes it back."""
    cfg: ExportConfig = parse_config(raw, catalog=None)  # a save: drops
    modes: tuple[SecretMode, ...] = ("clear", "omit")
    for secrets in modes:
        exported = config_to_json(cfg, secrets=secrets)
        again = parse_config(exported, catalog=None, previous=cfg, strict=True)
        assert again == cfg
