"""One-time move of the former per-config run files (`runs/<id>.json`) into the journal.

Data directories from before the export journal kept run history, watermarks and the
failure-mail state in TinyDB files under `runs/`. On first open they are imported into
`journal.sqlite` (idempotent: a cut migration simply runs again) and the folder is renamed
to `runs.vor-journal/`, kept as a backup. Imported watermarks also become the look-back's
baseline: the bookings below them were delivered before the journal could record them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from filelock import FileLock

from engine.journal import Journal
from engine.runs import RunRecord
from engine.store import Store

log = logging.getLogger("buchex.journal")

BACKUP_NAME = "runs.vor-journal"


def migrate_legacy_runs(runs_dir: Path, journal: Journal) -> int:
    """Import every `runs/*.json`; returns the number of configs imported (0: nothing to
    do). A damaged file raises StoreError naming it, and nothing is renamed."""
    if not runs_dir.is_dir():
        return 0
    journal.locks_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with FileLock(journal.locks_dir / "migrate.lock", mode=0o600, timeout=120):
        if not runs_dir.is_dir():  # another process finished it meanwhile
            return 0
        paths = sorted(runs_dir.glob("*.json"))
        for path in paths:
            with Store(path).snapshot() as db:
                docs = db.table("runs").all()
                state: dict[str, Any] = dict(db.table("state").get(doc_id=1) or {})
            records = [RunRecord.from_doc(d) for d in docs]
            watermarks = {str(k): int(v) for k, v in state.get("watermarks", {}).items()}
            journal.import_legacy(path.stem, records, watermarks, state.get("alert"))
        backup = runs_dir.with_name(BACKUP_NAME)
        n = 1
        while backup.exists():
            n += 1
            backup = runs_dir.with_name(f"{BACKUP_NAME}-{n}")
        runs_dir.rename(backup)
        log.info("Laufhistorie aus %s ins Exportjournal übernommen (%d Schnittstellen)",
                 runs_dir, len(paths))  # fmt: skip
        return len(paths)
