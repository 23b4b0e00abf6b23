"""A client's own Automatikkonten: the optional ledger table `automatic_accounts`.

An advisor's chart may flag accounts as automatic (DATEV "AM"/"AV") that the standard table
(`engine.formats.automatic_accounts`) does not list, e.g. an individual revenue account
84010 "Erlöse 19 % Filiale Süd". The chain names them in its ledger:

    automatic_accounts(client_id, account, tax_key)

`account` as the client's books write it (digits, the client's Sachkontenlänge), `tax_key`
the BU-Schlüssel its automatic function implies (NULL: tax-free, no key). The table (or a
view) is optional: without it only the standard table applies. It is read once per client
and run. A row that is not usable fails the export with a German message naming it.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, Final

from engine.errors import LedgerError

if TYPE_CHECKING:
    from engine.ledger import Ledger

TABLE: Final = "automatic_accounts"
COLUMNS: Final = ("client_id", "account", "tax_key")


def _exists(ledger: Ledger) -> bool:
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    assert ledger.engine is not None
    try:
        inspector = sa.inspect(ledger.engine)
        return bool(inspector.has_table(TABLE)) or TABLE in inspector.get_view_names()
    except SQLAlchemyError as exc:
        raise LedgerError(f"Buchhaltungsdatenbank nicht lesbar: {ledger.display} ({exc})") from exc


def _text(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return str(value).strip() if value is not None else ""


def own_automatic_accounts(ledger: Ledger, client_id: str) -> dict[str, int | None]:
    """The client's own Automatikkonten: account (no leading zeros) → implied key or None.

    Raises LedgerError (German) when the table cannot be read or holds an unusable row."""
    rows = _rows(ledger)
    found: dict[str, int | None] = {}
    for raw_client, raw_account, raw_key in rows:
        if _text(raw_client) != client_id:
            continue
        account, key = _text(raw_account), _text(raw_key)
        where = f"Tabelle {TABLE}, Mandant {client_id}, Konto „{account}“"
        if not (account.isascii() and account.isdigit() and account.strip("0")):
            raise LedgerError(f"{where}: Konto muss aus Ziffern bestehen")
        if key and not (key.isascii() and key.isdigit() and len(key) <= 4):
            raise LedgerError(f"{where}: BU-Schlüssel (tax_key) „{key}“ muss 1 bis 4 Ziffern haben")
        found[account.lstrip("0")] = int(key) if key else None
    return found


def _rows(ledger: Ledger) -> list[Any]:
    """All rows of the table (none without it): stdlib sqlite3 for the embedded file,
    SQLAlchemy for any other database."""
    sql = f"SELECT {TABLE}.client_id, {TABLE}.account, {TABLE}.tax_key FROM {TABLE}"
    connect = ledger._sqlite
    if connect is not None:
        try:
            db = connect()
            try:
                exists = db.execute(
                    "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view')"
                    " AND name = ? COLLATE NOCASE",
                    (TABLE,),
                ).fetchone()
                if exists is None:
                    return []
                try:
                    return db.execute(sql).fetchall()
                except sqlite3.Error as exc:
                    raise LedgerError(
                        f"Tabelle {TABLE} nicht lesbar: {ledger.display} ({exc})"
                    ) from exc
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise LedgerError(
                f"Buchhaltungsdatenbank nicht lesbar: {ledger.display} ({exc})"
            ) from exc
    if not _exists(ledger):
        return []
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    table = sa.table(TABLE, *(sa.column(c) for c in COLUMNS))
    try:
        assert ledger.engine is not None
        with ledger.engine.connect() as conn:
            return list(
                conn.execute(sa.select(table.c.client_id, table.c.account, table.c.tax_key))
            )
    except SQLAlchemyError as exc:
        raise LedgerError(
            f"Tabelle {TABLE} nicht lesbar: {ledger.display} ({str(exc).splitlines()[0]})"
        ) from exc
