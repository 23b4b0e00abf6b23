"""Child process for the store tests (run with `python -m tests.store_worker MODE ...`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tinydb import Query

from engine.store import Store


def wait_for(path: Path, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while not path.exists():
        if time.monotonic() > end:
            raise SystemExit("start signal never came")
        time.sleep(0.001)


def concurrent(store_path: Path, tag: str, count: int, start: Path) -> None:
    """Each change is a read-modify-write: append to a per-writer list and bump a shared
    counter, so a lost update shows up as a missing item or a wrong counter."""
    store = Store(store_path)
    print("ready", flush=True)
    wait_for(start)
    for i in range(count):
        with store.transaction() as db:
            db.table("changes").insert({"writer": tag, "n": i})
            counter = db.table("counter")
            doc = counter.get(doc_id=1)
            if doc is None:
                counter.insert({"value": 1})
            else:
                counter.update({"value": doc["value"] + 1}, doc_ids=[1])


def committer(store_path: Path) -> None:
    """Commits value 1, 2, 3, … forever and reports each value after its commit returned."""
    store = Store(store_path)
    q = Query()
    n = store.revision()
    while True:
        n += 1
        with store.transaction() as db:
            table = db.table("state")
            table.upsert({"key": "n", "value": n, "pad": "x" * (n % 997)}, q.key == "n")
        print(n, flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "concurrent":
        concurrent(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), Path(sys.argv[5]))
    elif mode == "committer":
        committer(Path(sys.argv[2]))
