"""`buchex smtp set / show` and `buchex settings set / show` (options from the field specs)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from engine.cli.common import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    add_field_options,
    err,
    given_field_values,
    merged,
    out,
    read_secret,
)
from engine.errors import MailError
from engine.fields import FieldSpec, Invalid, Secret, check_email, model_to_json, value_at
from engine.settings import CHAIN_FIELDS, SMTP_FIELDS

if TYPE_CHECKING:
    from engine.service import Service


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("smtp", help="SMTP Postausgangsserver für Fehler-E-Mails")
    ss = p.add_subparsers(dest="smtp_cmd", required=True, metavar="BEFEHL")
    c = ss.add_parser(
        "set",
        help="Einstellungen setzen; das Passwort wird abgefragt oder von stdin gelesen "
        "(leer: unverändert)",
    )
    add_field_options(c, SMTP_FIELDS)
    c.set_defaults(func=cmd_smtp_set)
    c = ss.add_parser("show", help="Einstellungen anzeigen (ohne Passwort)")
    c.set_defaults(func=cmd_smtp_show)
    c = ss.add_parser("test", help="Test-E-Mail an ADRESSE senden")
    c.add_argument("address")
    c.set_defaults(func=cmd_smtp_test)

    p = sub.add_parser("settings", help="Filialketten-Einstellungen (Sicherheit, Zeitzone, …)")
    gs = p.add_subparsers(dest="settings_cmd", required=True, metavar="BEFEHL")
    c = gs.add_parser(
        "set",
        help="Einstellungen setzen; die Datenbank-URL mit --ledger-url-stdin von stdin lesen",
    )
    add_field_options(c, CHAIN_FIELDS)
    c.add_argument(
        "--ledger-url-stdin",
        action="store_true",
        help="Buchhaltungsdatenbank-URL von stdin lesen (sie kann ein Passwort enthalten)",
    )
    c.set_defaults(func=cmd_settings_set)
    c = gs.add_parser("show", help="Einstellungen anzeigen")
    c.set_defaults(func=cmd_settings_show)
    c = gs.add_parser(
        "reset-key",
        help="nur ohne Sicherung von secret.key: alle gespeicherten Passwörter verwerfen und "
        "einen neuen Schlüssel anlegen",
    )
    c.add_argument("--yes", action="store_true", help="ja, die Passwörter neu eingeben")
    c.set_defaults(func=cmd_reset_key)


def _show(specs: Sequence[FieldSpec], obj: Any) -> None:
    for fs in specs:
        value = value_at(obj, fs.path)
        if isinstance(value, Secret):
            shown = "******** (gesetzt)"
        elif isinstance(value, bool):
            shown = "ja" if value else "nein"
        else:
            shown = "–" if value in (None, "") else str(value)
        out(f"  {fs.label + ':':<54}{shown}")


def cmd_smtp_set(svc: Service, args: argparse.Namespace) -> int:
    current = svc.smtp_settings()
    base = model_to_json(current, SMTP_FIELDS) if current else {}
    raw = merged(base, given_field_values(args, SMTP_FIELDS))
    password = read_secret("SMTP-Passwort (leer: unverändert): ") if raw.get("user") else None
    if password is not None:
        raw["password"] = password
    svc.save_smtp_settings(raw)
    out("SMTP-Einstellungen gespeichert.")
    return EXIT_OK


def cmd_smtp_show(svc: Service, args: argparse.Namespace) -> int:
    smtp = svc.smtp_settings()
    if smtp is None:
        out("Kein SMTP-Server eingerichtet: `buchex smtp set --host … --sender …`")
        return EXIT_OK
    out("[SMTP Postausgangsserver]")
    _show(SMTP_FIELDS, smtp)
    return EXIT_OK


def cmd_smtp_test(svc: Service, args: argparse.Namespace) -> int:
    if svc.smtp_settings() is None:
        err("Kein SMTP-Server eingerichtet: `buchex smtp set --host … --sender …`")
        return EXIT_FAILED
    try:
        check_email(args.address)
        summary = svc.send_test_mail(args.address)
    except Invalid as exc:
        err(f"E-Mail: {exc}")
        return EXIT_INVALID
    except MailError as exc:
        err(f"Test-E-Mail fehlgeschlagen: {exc.reason}")
        if exc.detail:
            err(f"Server: {exc.detail}")
        return EXIT_FAILED
    out(f"{summary}.")
    return EXIT_OK


def cmd_settings_set(svc: Service, args: argparse.Namespace) -> int:
    raw = merged(
        model_to_json(svc.chain_settings(), CHAIN_FIELDS), given_field_values(args, CHAIN_FIELDS)
    )
    if args.ledger_url_stdin:
        raw["ledger_url"] = read_secret("Datenbank-URL: ") or ""
    svc.save_chain_settings(raw)
    out("Einstellungen gespeichert.")
    return EXIT_OK


def cmd_reset_key(svc: Service, args: argparse.Namespace) -> int:
    if not args.yes:
        err(
            "Verwirft alle gespeicherten Passwörter (FTP/SFTP, SMTP, Datenbank-URL) und legt "
            f"einen neuen Schlüssel an. Zuerst lieber {svc.paths.key_path} aus der Sicherung "
            "wiederherstellen. Wenn es keine gibt: buchex settings reset-key --yes"
        )
        return EXIT_INVALID
    forgotten, kept = svc.reset_key()
    out(f"Neuer Schlüssel angelegt: {svc.paths.key_path}.")
    if kept:
        out(f"Der bisherige Schlüssel liegt als {kept} daneben.")
    out(
        f"{forgotten} gespeicherte Passwörter verworfen; bitte neu eingeben "
        "(Schnittstellen: Passwort; buchex smtp set)."
    )
    if svc.chain_settings().ledger_url:
        out(
            "Die Datenbank-URL ist mit dem alten Schlüssel gespeichert und nicht mehr lesbar; "
            "bis sie neu eingegeben ist, schlagen Läufe fehl: "
            "buchex settings set --ledger-url-stdin"
        )
    return EXIT_OK


def cmd_settings_show(svc: Service, args: argparse.Namespace) -> int:
    out("[Filialkette]")
    _show(CHAIN_FIELDS, svc.chain_settings())
    return EXIT_OK
