"""The shared TinyDB store: transactions, atomic commits, damage detection, real processes."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.errors import StoreError
from engine.store import Store
from tests.conftest import ROOT


def test_transaction_commits_and_bumps_revision(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.json")
    assert store.stamp() is None and store.revision() == 0
    with store.transaction() as db:
        db.table("t").insert({"a": 1})
    first = store.stamp()
    with store.transaction() as db:
        db.table("t").insert({"a": 2})
    assert store.revision() == 2
    assert store.stamp() != first
    with store.snapshot() as db:
        assert [d["a"] for d in db.table("t").all()] == [1, 2]


def test_read_only_transaction_writes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.json")
    with store.transaction() as db:
        db.table("t").insert({"a": 1})
    before = store.stamp()
    with store.transaction() as db:
        assert db.table("t").all()
    assert store.stamp() == before


def test_exception_discards_the_whole_transaction(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.json")
    with store.transaction() as db:
        db.table("t").insert({"a": 1})
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.table("t").insert({"a": 2})
        db.table("t").truncate()
        raise RuntimeError("mid-way")
    with store.snapshot() as db:
        assert [d["a"] for d in db.table("t").all()] == [1]


def test_files_are_private(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.json")
    with store.transaction() as db:
        db.table("t").insert({"a": 1})
    for name in ("s.json", "s.json.lock"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["s.json", "s.json.lock"]  # no temp files left


@pytest.mark.parametrize("content", [b'{"configs": {"1": {"id": "a"', b"", b"[1, 2]", b"\xff\xfe"])
def test_damaged_file_is_reported_and_never_replaced(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(content)
    store = Store(path)
    with pytest.raises(StoreError, match=str(path)) as info, store.transaction() as db:
        db.table("t").insert({"a": 1})
    assert "beschädigt" in str(info.value)
    assert path.read_bytes() == content
    with pytest.raises(StoreError):
        store.snapshot().__enter__()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"_meta": {"1": {"schema": 99, "revision": 5}}}))
    with pytest.raises(StoreError, match="Schema-Version 99"):
        Store(path).revision()


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store_worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_300_changes_each(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    start = tmp_path / "go"
    procs = [_spawn("concurrent", str(path), tag, "300", str(start)) for tag in ("tui", "daemon")]
    for p in procs:  # both are importing and waiting: now they really start together
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    t0 = time.monotonic()
    start.touch()
    for p in procs:
        _, errors = p.communicate(timeout=240)
        assert p.returncode == 0, errors
    elapsed = time.monotonic() - t0
    data = json.loads(path.read_text())  # the file parses
    changes = list(data["changes"].values())
    for tag in ("tui", "daemon"):
        assert sorted(c["n"] for c in changes if c["writer"] == tag) == list(range(300))
    assert data["counter"]["1"]["value"] == 600  # no lost update
    assert data["_meta"]["1"]["revision"] == 600
    print(f"600 concurrent transactions in {elapsed:.2f} s")


def test_sigkill_at_random_moments_leaves_last_committed_state(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    rng = random.Random(20261124)
    last_reported = 0
    for _ in range(50):
        proc = _spawn("committer", str(path))
        assert proc.stdout is not None
        # wait (with a deadline) until it has committed at least once, then pick a moment
        first = proc.stdout.readline().strip()
        assert first.isdigit(), proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0, 0.03))  # the random moment to kill at, not a sync
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        reported = [int(x) for x in [first, *rest.split()] if x.isdigit()]
        last_reported = max(reported)
        store = Store(path)
        with store.snapshot() as db:
            value = db.table("state").all()[0]["value"]
        # Every commit reported as done is there; at most the one in flight beyond it.
        assert last_reported <= value <= last_reported + 1
        assert store.revision() == value
    assert last_reported > 50
    # A killed writer may leave its temp file behind; the next commit sweeps it.
    with Store(path).transaction() as db:
        db.table("state").insert({"key": "after"})
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_one_document_per_line_and_only_changed_lines_are_parsed(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.json")
    with store.transaction() as db:
        db.table("t").insert_multiple([{"a": 1, "s": "x\ny"}, {"a": 2}, {"a": 3}])
        db.table("empty")
    text = (tmp_path / "s.json").read_text()
    assert json.loads(text)["t"] == {"1": {"a": 1, "s": "x\ny"}, "2": {"a": 2}, "3": {"a": 3}}
    assert text.count("\n") >= 3  # the documents' lines; the one inside a string is escaped
    cache: dict[bytes, object] = {}
    first = store.read(cache)
    with store.transaction() as db:
        db.table("t").update({"a": 20}, doc_ids=[2])
    second = store.read(cache)
    assert second["t"] == {"1": {"a": 1, "s": "x\ny"}, "2": {"a": 20}, "3": {"a": 3}}
    assert second["t"]["1"] is first["t"]["1"] and second["t"]["3"] is first["t"]["3"]
    assert second == json.loads((tmp_path / "s.json").read_text())


def test_a_file_in_the_former_one_line_layout_is_read(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    data = {"_meta": {"1": {"schema": 1, "revision": 4}}, "t": {"1": {"a": 1}, "7": {"b": [2]}}}
    path.write_text(json.dumps(data, separators=(",", ":")))
    store = Store(path)
    assert store.read({}) == data
    assert store.revision() == 4
    with store.snapshot() as db:
        assert [d["b"] for d in db.table("t").all() if "b" in d] == [[2]]
