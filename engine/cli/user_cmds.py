"""`buchex user add / passwd / list`: users for the password eye."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from engine.cli.common import EXIT_OK, out, read_secret, table
from engine.fields import Problem, ValidationError

if TYPE_CHECKING:
    from engine.service import Service


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("user", help="Benutzer für das Passwort-Auge")
    us = p.add_subparsers(dest="user_cmd", required=True, metavar="BEFEHL")
    c = us.add_parser("add", help="Benutzer anlegen (Passwort wird abgefragt oder von stdin)")
    c.add_argument("name")
    c.add_argument("--admin", action="store_true", help="Mitglied der Administratoren-Gruppe")
    c.set_defaults(func=cmd_add)
    c = us.add_parser("passwd", help="Passwort ändern")
    c.add_argument("name")
    c.set_defaults(func=cmd_passwd)
    c = us.add_parser("list", help="alle Benutzer")
    c.set_defaults(func=cmd_list)


def _password() -> str:
    password = read_secret("Passwort: ", confirm=True)
    if not password:
        raise ValidationError([Problem("password", "Passwort", "Pflichtfeld")])
    return password


def cmd_add(svc: Service, args: argparse.Namespace) -> int:
    svc.add_user(args.name, _password(), admin=args.admin)
    out(f"angelegt: {args.name}{' (Administrator)' if args.admin else ''}")
    return EXIT_OK


def cmd_passwd(svc: Service, args: argparse.Namespace) -> int:
    svc.set_password(args.name, _password())
    out(f"Passwort geändert: {args.name}")
    return EXIT_OK


def cmd_list(svc: Service, args: argparse.Namespace) -> int:
    users = svc.list_users()
    if not users:
        out("Keine Benutzer. Anlegen mit `buchex user add NAME [--admin]`.")
        return EXIT_OK
    out(table([[u.name, "ja" if u.admin else "nein"] for u in users], ["Name", "Administrator"]))
    return EXIT_OK
