"""Running configs: `export`, `run`, `test`, `schedule`, `runs`, and `tui`."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import re
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from engine.cli.common import EXIT_FAILED, EXIT_INVALID, EXIT_OK, err, out, table
from engine.errors import (
    ExportError,
    HostKeyReplaceRefused,
    OutsideWindow,
    Unfinished,
    UnknownHostKey,
)
from engine.runs import Interrupted, RunBusy, RunRecord

if TYPE_CHECKING:
    from engine.service import Service


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("export", help="die Dateien eines Laufs lokal schreiben")
    c.add_argument("id")
    c.add_argument("--out", required=True, type=Path, metavar="DIR", help="Zielverzeichnis")
    c.add_argument(
        "--commit",
        action="store_true",
        help="als geliefert verbuchen und Wasserstand weiterschieben (wie ein Lauf)",
    )
    c.set_defaults(func=cmd_export)

    c = sub.add_parser("run", help="jetzt ausführen: exportieren, übertragen, protokollieren")
    c.add_argument("id")
    c.add_argument(
        "--force", action="store_true", help="auch außerhalb 06:00–22:00 Uhr (Bestätigung)"
    )
    # For the TUI's hand-over to a background process (Service.run_in_background).
    c.add_argument("--trigger", choices=("cli", "manual"), default="cli", help=argparse.SUPPRESS)
    c.add_argument("--wait-busy", type=float, default=0.0, help=argparse.SUPPRESS)
    c.set_defaults(func=cmd_run)

    c = sub.add_parser("test", help="Verbindungstest zum Zielserver")
    c.add_argument("id")
    c.add_argument(
        "--trust",
        nargs="?",
        const="",
        metavar="SHA256:…",
        help="neuen SFTP-Hostschlüssel übernehmen, nur mit genau diesem (beim Betreiber "
        "geprüften) Fingerabdruck",
    )
    c.add_argument(
        "--replace-key",
        metavar="SHA256:…",
        help="geänderten SFTP-Hostschlüssel ersetzen (nur Administratoren), nur wenn der "
        "Server genau diesen (beim Betreiber geprüften) Fingerabdruck zeigt",
    )
    c.set_defaults(func=cmd_test)

    c = sub.add_parser("schedule", help="die nächsten Ausführungszeiten")
    c.add_argument("id")
    c.add_argument(
        "--from",
        dest="start",
        metavar="ISO",
        help="ab diesem Zeitpunkt, einschließlich (Std.: jetzt)",
    )
    c.add_argument("--count", type=int, default=10, help="wie viele (Standard 10)")
    c.set_defaults(func=cmd_schedule)

    c = sub.add_parser("runs", help="Laufprotokoll (neueste zuerst)")
    c.add_argument("--config", metavar="ID", help="nur diese Schnittstelle")
    c.add_argument("--failed", action="store_true", help="nur fehlgeschlagene Läufe")
    c.add_argument("--json", action="store_true", help="ein JSON-Objekt je Lauf")
    c.add_argument("--limit", type=int, default=50, help="höchstens so viele (Standard 50)")
    c.set_defaults(func=cmd_runs)

    c = sub.add_parser("tui", help="die Bedienoberfläche im Terminal")
    c.set_defaults(func=cmd_tui)

    c = sub.add_parser(
        "demo",
        help="Demo: Demo-Daten, lokaler FTP- und SMTP-Server, Dienst und Oberfläche "
        "(nur mit --home DIR in DIR, sonst in einem neuen temporären Verzeichnis)",
    )
    c.set_defaults(standalone=cmd_demo)


def _when(iso: str | None) -> str:
    if not iso:
        return "–"
    return dt.datetime.fromisoformat(iso).astimezone().strftime("%d.%m.%Y %H:%M:%S")


def _summary(run: RunRecord) -> list[str]:
    rows = run.booking_rows
    detail = f"{run.step}: {run.reason}" if run.status == "failed" else (run.reason or "")
    if run.images:
        detail = f"{detail} ({run.images} Belegbilder)" if detail else f"{run.images} Belegbilder"
    return [
        _when(run.started_at),
        run.config_id,
        run.label,
        str(len(run.files)),
        str(rows),
        detail,
    ]


def cmd_runs(svc: Service, args: argparse.Namespace) -> int:
    runs = svc.runs(args.config, failed=args.failed, limit=max(args.limit, 0))
    if args.json:
        for run in runs:
            print(json.dumps(dataclasses.asdict(run), ensure_ascii=False))
        return EXIT_OK
    if not runs:
        out("Keine Läufe.")
        return EXIT_OK
    headers = ["Beginn", "Schnittstelle", "Status", "Dateien", "Zeilen", "Schritt / Grund"]
    out(table([_summary(r) for r in runs], headers))
    notes = [(r, line) for r in runs for line in r.gaps]
    notes += [(r, _late_line(r.late)) for r in runs if r.late]
    if notes:
        out("")
        out("Hinweise:")
        for run, line in notes:
            out(f"  {_when(run.started_at)} {run.config_id}: {line}")
    return EXIT_OK


def _late_line(late: int) -> str:
    what = "1 Buchung" if late == 1 else f"{late} Buchungen"
    return f"{what} nachgeliefert, die erst nach höheren Journalnummern sichtbar wurden"


def cmd_export(svc: Service, args: argparse.Namespace) -> int:
    cfg = svc.get_config(args.id)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        warnings_file = args.out / f"Warnungen_{dt.datetime.now():%Y%m%d-%H%M%S}.csv"
        result = svc.export_local(cfg.id, args.out, commit=args.commit, warnings_file=warnings_file)
    except ExportError as exc:
        err(f"Export: {exc}")
        return EXIT_FAILED
    except (RunBusy, Unfinished) as exc:
        err(str(exc) if isinstance(exc, Unfinished) else f"Schnittstelle {cfg.id} läuft gerade.")
        return EXIT_FAILED
    _print_warnings(
        [svc.warning_line(w) for w in result.warnings],
        total=result.warning_count,
        where=result.warnings_file,
    )
    if result.nothing_to_export:
        out("nichts zu exportieren")
    else:
        out(svc.file_table(result.files))
    if args.commit:  # booked and audited by the service
        out(
            f"Als geliefert im Exportjournal verbucht; Wasserstand weitergeschoben: "
            f"{result.watermarks}"
        )
    return EXIT_OK


def _stop_on_signals() -> None:
    """SIGTERM and SIGHUP (a closed SSH session) end a run cleanly: the record says so."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)


def cmd_run(svc: Service, args: argparse.Namespace) -> int:
    _stop_on_signals()
    try:
        record = svc.run_now(
            args.id, force=args.force, trigger=args.trigger, wait_busy=args.wait_busy
        )
    except OutsideWindow as exc:
        err(str(exc))
        return EXIT_INVALID
    for line in record.steps:
        out(line)
    _print_warnings(record.warnings)
    if record.status == "failed":
        err(f"fehlgeschlagen – {record.step}: {record.reason}")
        if record.detail:
            err(f"Server: {record.detail}")
    elif record.status == "skipped":
        err(f"übersprungen: {record.reason}")
    else:
        out(f"{record.label} (Lauf {record.id})")
    if record.mail:
        out(f"E-Mail: {record.mail}")
    return EXIT_OK if record.status in ("ok", "nothing") else EXIT_FAILED


def _print_warnings(
    warnings: list[str], limit: int = 20, *, total: int | None = None, where: Path | None = None
) -> None:
    for warning in warnings[:limit]:
        err(f"Warnung: {warning}")
    count = total if total is not None else len(warnings)
    if count > limit:
        rest = count - limit
        if where is not None:
            err(f"… und {rest} weitere Warnungen (alle in {where})")
        else:
            err(f"… und {rest} weitere Warnungen (die ersten 100 im Laufprotokoll: buchex runs)")
    elif where is not None and count:
        err(f"Alle Warnungen auch in {where}")


_FINGERPRINT = re.compile(r"(?:SHA256:)?[A-Za-z0-9+/]{43}=?")


def cmd_test(svc: Service, args: argparse.Namespace) -> int:
    """The connection test. `--trust SHA256:…` stores an unknown SFTP host key only if the
    server shows exactly the key with that fingerprint (the one the admin compared with the
    server's operator); the service audits the decision (hostkey.trust). `--trust` without
    a fingerprint stores nothing: the test runs, and an unknown key's fingerprint is
    printed with the command to confirm it (exit 2). The dated folder is today's in the
    configured time zone."""
    trust: str | None = args.trust
    replace: str | None = getattr(args, "replace_key", None)
    for option, given in (("--trust", trust), ("--replace-key", replace)):
        if given and not _FINGERPRINT.fullmatch(given.strip()):
            err(
                f"{option}: „{given[:80]}“ ist kein SHA256-Fingerabdruck. Erwartet wird die "
                "Form SHA256:… mit 43 Zeichen, wie der Verbindungstest oder "
                "»ssh-keygen -l -E sha256 -f SCHLÜSSEL.pub« ihn zeigt."
            )
            return EXIT_INVALID
    if trust is not None and replace:
        err("--trust und --replace-key schließen sich aus.")
        return EXIT_INVALID
    cfg = svc.get_config(args.id)
    ok = True
    unknown: UnknownHostKey | None = None
    if replace and cfg.target.protocol != "sftp":
        err("--replace-key gilt nur für SFTP-Server (Hostschlüssel).")
        return EXIT_INVALID
    if replace:
        try:
            results = svc.replace_host_key(cfg, None, _normal_fingerprint(replace))
        except HostKeyReplaceRefused as exc:
            err(str(exc))
            return EXIT_FAILED
    else:
        results = svc.test_connection(cfg, trust=trust or None)
    for result in results:
        out(f"{result.step:<14}{'ok' if result.ok else 'FEHLER'}  {result.detail}")
        if result.server:
            out(f"{'':<14}        Server: {result.server}")
        ok = ok and result.ok
        if isinstance(result.error, UnknownHostKey):
            unknown = result.error
    if trust == "" and unknown is not None:
        err(
            "--trust ohne Fingerabdruck übernimmt keinen Schlüssel: buchex speichert nur den "
            "Schlüssel, dessen Fingerabdruck Sie geprüft haben. Den Fingerabdruck oben mit dem "
            "Betreiber des Servers vergleichen (telefonisch oder schriftlich), dann: "
            f"buchex test {cfg.id} --trust {unknown.fingerprint}"
        )
        return EXIT_INVALID
    return EXIT_OK if ok else EXIT_FAILED


def _normal_fingerprint(given: str) -> str:
    """`SHA256:` + unpadded base64, as the test prints it."""
    given = given.strip()
    return ("SHA256:" + given.removeprefix("SHA256:")).rstrip("=")


def cmd_schedule(svc: Service, args: argparse.Namespace) -> int:
    from engine.due import format_due_times, parse_moment

    cfg = svc.get_config(args.id)
    try:
        start = parse_moment(args.start, svc.time_zone()) if args.start else svc.now()
    except ValueError as exc:
        err(f"--from: {exc}")
        return EXIT_INVALID
    if args.count < 1:
        err("--count: muss mindestens 1 sein")
        return EXIT_INVALID
    # `--from` is inclusive: a due time exactly at the given moment is listed.
    text = format_due_times(svc.due_times(cfg, start, args.count))
    if text:
        out(text)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    # Only an explicit --home: $BUCHEX_HOME may point at the real books.
    from engine import demo

    return demo.main(args.home)


def cmd_tui(svc: Service, args: argparse.Namespace) -> int:
    # The UI runs as `python -m tui` so that the engine (and the daemon) never import Textual.
    argv = [sys.executable, "-m", "tui", "--home", str(svc.paths.root)]
    sys.stdout.flush()
    os.execv(sys.executable, argv)
