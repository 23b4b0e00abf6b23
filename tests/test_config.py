"""The config model: every rule of SPEC §2, German messages naming the field's UI label."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import FIELDS, ExportConfig, config_to_json, parse_config
from engine.fields import Secret, ValidationError
from engine.ledger import Catalog


def problems(raw: dict[str, Any], catalog: Catalog | None) -> list[str]:
    with pytest.raises(ValidationError) as info:
        parse_config(raw, catalog=catalog)
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
    assert "Schlüsseldatei: nur bei SFTP möglich" in problems(valid_raw, catalog)
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
