"""`buchex config list / show / import / export / validate / delete`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from engine.cli.common import EXIT_INVALID, EXIT_OK, err, out, print_json, read_json_file, table
from engine.fields import FieldSpec, Problem, Secret, SecretMode, ValidationError, value_at

if TYPE_CHECKING:
    from engine.config import ExportConfig
    from engine.service import Service


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("config", help="Schnittstellen verwalten")
    cs = p.add_subparsers(dest="config_cmd", required=True, metavar="BEFEHL")

    c = cs.add_parser("list", help="alle Schnittstellen")
    c.add_argument("--json", action="store_true", help="ein JSON-Objekt je Schnittstelle")
    c.set_defaults(func=cmd_list)

    c = cs.add_parser("show", help="eine Schnittstelle anzeigen (ohne Passwörter)")
    c.add_argument("id")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_show)

    c = cs.add_parser("import", help="Schnittstelle(n) aus JSON-Datei anlegen oder ersetzen")
    c.add_argument("file", help="JSON-Datei (ein Objekt oder eine Liste) oder - für stdin")
    c.set_defaults(func=cmd_import)

    c = cs.add_parser("validate", help="JSON-Datei prüfen, ohne etwas zu speichern")
    c.add_argument("file")
    c.set_defaults(func=cmd_validate)

    c = cs.add_parser("export", help="Schnittstelle(n) als JSON ausgeben")
    c.add_argument("id", nargs="?")
    c.add_argument("--all", action="store_true", help="alle Schnittstellen als Liste")
    c.add_argument(
        "--with-secrets", action="store_true", help="Passwörter im Klartext mit ausgeben"
    )
    c.set_defaults(func=cmd_export)

    c = cs.add_parser("delete", help="Schnittstelle löschen")
    c.add_argument("id")
    c.set_defaults(func=cmd_delete)


def _summary(cfg: ExportConfig) -> dict[str, str]:
    from engine.config import describe_interval

    t = cfg.target
    return {
        "id": cfg.id,
        "name": cfg.name or "",
        "target": f"{t.protocol}://{t.host}:{t.effective_port}/{(t.directory or '').lstrip('/')}",
        "format": cfg.format or "",
        "interval": describe_interval(cfg),
        "workstation": cfg.workstation or ("Server" if cfg.server_side else ""),
    }


def cmd_list(svc: Service, args: argparse.Namespace) -> int:
    from engine.config import config_to_json

    configs = svc.list_configs()
    if args.json:
        for cfg in configs:
            print(json.dumps(config_to_json(cfg), ensure_ascii=False))
        return EXIT_OK
    if not configs:
        out("Keine Schnittstellen. Anlegen mit `buchex config import DATEI` oder in `buchex tui`.")
        return EXIT_OK
    rows = [list(_summary(c).values()) for c in configs]
    out(table(rows, ["ID", "Name", "Ziel", "Format", "Intervall", "Rechner"]))
    return EXIT_OK


def _display(fs: FieldSpec, value: Any) -> str:
    labels = dict(fs.choices)
    if isinstance(value, int | str) and str(value) in labels and fs.kind == "choice":
        return labels[str(value)]
    if isinstance(value, tuple) and labels:
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if isinstance(value, Secret):
        return "******** (gesetzt)"
    if value is None or value == () or value == "":
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def cmd_show(svc: Service, args: argparse.Namespace) -> int:
    from engine.config import FIELDS, SECTIONS, config_to_json

    cfg = svc.get_config(args.id)
    if args.json:
        print_json(config_to_json(cfg))
        return EXIT_OK
    out(f"Schnittstelle {cfg.id}: {cfg.name or ''}".rstrip())
    for section in SECTIONS:
        out(f"\n[{section}]")
        for fs in FIELDS:
            if fs.section == section:
                out(f"  {fs.label + ':':<34}{_shown_value(fs, value_at(cfg, fs.path))}")
    return EXIT_OK


def _shown_value(fs: FieldSpec, value: Any) -> str:
    if fs.path == "target.protocol":
        # The seed's label is a yes/no question; FTPS is buchex's own third choice.
        return "ja" if value == "sftp" else f"nein ({_display(fs, value)})"
    return _display(fs, value)


def _as_list(data: Any) -> list[Any]:
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ValidationError([Problem("file", "Datei", "enthält keine Schnittstelle")])
    return items


def cmd_import(svc: Service, args: argparse.Namespace) -> int:
    saved = svc.import_configs(_as_list(read_json_file(args.file)))
    for cfg in saved:
        out(f"importiert: {cfg.id}  {cfg.name}")
    return EXIT_OK


def cmd_validate(svc: Service, args: argparse.Namespace) -> int:
    configs = svc.validate_configs(_as_list(read_json_file(args.file)))
    out(f"gültig: {len(configs)} Schnittstelle(n)")
    return EXIT_OK


def cmd_export(svc: Service, args: argparse.Namespace) -> int:
    from engine.config import config_to_json

    if bool(args.id) == bool(args.all):
        err("Aufruf: buchex config export ID | --all [--with-secrets]")
        return EXIT_INVALID
    configs = svc.list_configs() if args.all else [svc.get_config(args.id)]
    mode: SecretMode = "clear" if args.with_secrets else "omit"
    if args.with_secrets:
        err("WARNUNG: Die Ausgabe enthält Passwörter im Klartext. Sicher aufbewahren!")
    docs = [config_to_json(c, secrets=mode) for c in configs]
    print_json(docs if args.all else docs[0])
    sys.stdout.flush()
    return EXIT_OK


def cmd_delete(svc: Service, args: argparse.Namespace) -> int:
    svc.delete_config(args.id)
    out(f"gelöscht: {args.id}")
    return EXIT_OK
