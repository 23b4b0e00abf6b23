"""`buchex runs` (history) and `buchex tui` (starts the terminal UI in its own process)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys

from engine.cli.common import EXIT_OK, out, table
from engine.runs import RunRecord
from engine.workspace import Workspace


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("runs", help="Laufprotokoll (neueste zuerst)")
    c.add_argument("--config", metavar="ID", help="nur diese Schnittstelle")
    c.add_argument("--failed", action="store_true", help="nur fehlgeschlagene Läufe")
    c.add_argument("--json", action="store_true", help="ein JSON-Objekt je Lauf")
    c.add_argument("--limit", type=int, default=50, help="höchstens so viele (Standard 50)")
    c.set_defaults(func=cmd_runs)

    c = sub.add_parser("tui", help="die Bedienoberfläche im Terminal")
    c.set_defaults(func=cmd_tui)


def _when(iso: str | None) -> str:
    if not iso:
        return "–"
    return dt.datetime.fromisoformat(iso).astimezone().strftime("%d.%m.%Y %H:%M:%S")


def _summary(run: RunRecord) -> list[str]:
    rows = sum(int(f.get("rows", 0)) for f in run.files)
    detail = f"{run.step}: {run.reason}" if run.status == "failed" else (run.reason or "")
    return [
        _when(run.started_at),
        run.config_id,
        run.label,
        str(len(run.files)),
        str(rows),
        detail,
    ]


def cmd_runs(ws: Workspace, args: argparse.Namespace) -> int:
    runs = ws.runs.runs(args.config, failed=args.failed)[: max(args.limit, 0)]
    if args.json:
        for run in runs:
            print(json.dumps(dataclasses.asdict(run), ensure_ascii=False))
        return EXIT_OK
    if not runs:
        out("Keine Läufe.")
        return EXIT_OK
    headers = ["Beginn", "Schnittstelle", "Status", "Dateien", "Zeilen", "Schritt / Grund"]
    out(table([_summary(r) for r in runs], headers))
    return EXIT_OK


def cmd_tui(ws: Workspace, args: argparse.Namespace) -> int:
    # The UI runs as `python -m tui` so that the engine (and the daemon) never import Textual.
    argv = [sys.executable, "-m", "tui", "--home", str(ws.data_dir.root)]
    sys.stdout.flush()
    os.execv(sys.executable, argv)
