"""Document images with the bookings (issue 17), end to end: real PDFs in the ledger (fpdf2),
a real run through the FTP and the SFTP test servers, the package read with the independent
reader (tests/datev_package_reader.py) and document.xml validated against DATEV's published
XSD, the Buchungsstapel read with the independent DATEV reader, the control file with csv.

The bookings' links are checked from the delivered files alone: every row whose Beleglink
reads `BEDI "<GUID>"` must find that GUID in the package, and the image's bytes there must
be the bytes in the ledger."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import random
import re
import sqlite3
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from fpdf import FPDF

from engine.config import parse_config
from engine.export import export
from engine.formats.datev_documents import MAX_BYTES
from engine.paths import DataDir
from engine.redelivery import redeliver
from engine.runner import RunOptions, run_config
from engine.transports.known_hosts import KnownHosts
from engine.workspace import Workspace
from tests import datev_reader
from tests.datev_package_reader import read_package
from tests.servers import FTPServer, sftp_server

NOON = dt.datetime(2026, 11, 24, 12, 0).astimezone()
OPTS = RunOptions(trigger="manual", backoff=0)
XSD = Path(__file__).parent / "xsd" / "datev" / "Document_v050.xsd"
LINK = re.compile(r'^BEDI "([0-9A-F-]{36})"$')


def at(moment: dt.datetime) -> Any:
    return lambda: moment


def pdf(text: str) -> bytes:
    """A real one-page PDF (fpdf2), as a till or an ERP would store it."""
    doc = FPDF()
    doc.set_creation_date(dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(text=text)
    return bytes(doc.output())


def raw_config(target: dict[str, Any], **changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "stb",
        "name": "Steuerbüro",
        "target": target,
        "clients": ["1", "2"],
        "document_types": ["KR", "KT", "GS", "BV", "EA", "ZA"],
        "incoming_export": True,
        "incoming_format": "datev",
        "format": "datev",
        "time": "06:30",
        "interval": {"kind": "daily"},
        "document_images": True,
    }
    raw.update(changes)
    return raw


def ftp_target(ftp: FTPServer) -> dict[str, Any]:
    return {"host": ftp.host, "port": ftp.port, "user": ftp.user, "password": ftp.password,
            "directory": "kanzlei"}  # fmt: skip


def exported_bookings(ledger: Path, count: int) -> list[tuple[int, int]]:
    """(client, journal number) of bookings the config above delivers: selected document
    types or incoming ones, both clients."""
    with sqlite3.connect(ledger) as db:
        rows = db.execute(
            "SELECT b.client_id, b.journal_no FROM bookings b "
            "JOIN document_types d ON d.code = b.document_type "
            "WHERE b.document_type IN ('KR','KT','GS','BV','EA','ZA') OR d.incoming = 1 "
            "ORDER BY b.journal_no"
        ).fetchall()
    picked = random.Random(17).sample(rows, count)
    return sorted((int(c), int(n)) for c, n in picked)


class Books:
    """The documents put into the ledger, and what the run must make of each."""

    def __init__(self, home: Path) -> None:
        self.ledger = home / "ledger.sqlite"
        self.good: dict[int, bytes] = {}  # journal number → the image's bytes
        self.bad: dict[int, str] = {}  # journal number → the file name a warning must name
        self.second: tuple[int, str] = (0, "")  # a booking's second image, not delivered

    def add(self, client: int, jn: int, name: str, media: str, *, content: bytes | None = None,
            path: Path | None = None) -> None:  # fmt: skip
        with sqlite3.connect(self.ledger) as db:
            db.execute(
                "INSERT INTO documents (client_id, journal_no, file_name, media_type, content, "
                "path) VALUES (?, ?, ?, ?, ?, ?)",
                (client, jn, name, media, content, str(path) if path else None),
            )


@pytest.fixture
def books(demo_home: Path, tmp_path: Path) -> Books:
    """Four good images (BLOBs and a file on disk) and three a user will meet: a missing
    file, a type DATEV does not take, a file larger than DATEV accepts."""
    books = Books(demo_home)
    picked = exported_bookings(books.ledger, 7)
    files = tmp_path / "belege"
    files.mkdir()
    for client, jn in picked[:3]:
        data = pdf(f"Rechnung zu Journalnummer {jn}")
        books.add(client, jn, f"Rechnung {jn} Müller.pdf", "application/pdf", content=data)
        books.good[jn] = data
    client, jn = picked[0]  # a second image of one booking: one Beleglink, so a warning
    books.add(client, jn, f"Rechnung {jn} Seite 2.pdf", "application/pdf", content=pdf("2"))
    books.second = (jn, f"Rechnung {jn} Seite 2.pdf")
    client, jn = picked[3]
    on_disk = files / f"quittung-{jn}.pdf"
    on_disk.write_bytes(pdf(f"Quittung {jn}"))
    books.add(client, jn, on_disk.name, "application/pdf", path=on_disk)
    books.good[jn] = on_disk.read_bytes()
    client, jn = picked[4]
    books.add(client, jn, f"fehlt-{jn}.pdf", "application/pdf", path=files / f"fehlt-{jn}.pdf")
    books.bad[jn] = f"fehlt-{jn}.pdf"
    client, jn = picked[5]
    books.add(client, jn, f"notiz-{jn}.txt", "text/plain", content=b"nur eine Notiz")
    books.bad[jn] = f"notiz-{jn}.txt"
    client, jn = picked[6]
    big = files / f"scan-{jn}.pdf"
    with big.open("wb") as fh:  # sparse: larger than DATEV accepts, no real disk use
        fh.write(b"%PDF-1.4\n")
        fh.truncate(MAX_BYTES + 1)
    books.add(client, jn, big.name, "application/pdf", path=big)
    books.bad[jn] = big.name
    return books


def links_in(root: Path) -> dict[int, str]:
    """Journal number → GUID of every Buchungsstapel row below `root` with a Beleglink;
    every row is read, and a Beleglink that is not `BEDI "<GUID>"` fails."""
    found: dict[int, str] = {}
    for path in sorted(root.rglob("EXTF_Buchungsstapel*.csv")):
        for rec in datev_reader.read(path).records():
            link = rec["Beleglink"]
            if link:
                match = LINK.match(link)
                assert match, link
                found[int(rec["Beleginfo - Inhalt 1"])] = match.group(1)
    return found


def all_journal_numbers(root: Path) -> set[int]:
    return {
        int(rec["Beleginfo - Inhalt 1"])
        for path in root.rglob("EXTF_Buchungsstapel*.csv")
        for rec in datev_reader.read(path).records()
    }


def check_delivery(root: Path, books: Books) -> dict[int, str]:
    """The delivered files below `root` against the books: returns jn → GUID."""
    [package_path] = [p for p in root.rglob("Belegbilder_*.zip")]
    package = read_package(package_path)
    xmlschema.XMLSchema(str(XSD)).validate(io.BytesIO(package.xml))
    links = links_in(root)
    assert set(links) == set(books.good)  # every good image linked, no other row
    delivered = all_journal_numbers(root)
    assert set(books.bad) <= delivered  # the bookings still went out, without a link
    members = package.members
    assert set(members) == set(links.values())
    with zipfile.ZipFile(package_path) as archive:
        for jn, guid in links.items():
            assert archive.read(members[guid]) == books.good[jn]
    return links


def control_images(root: Path) -> list[list[str]]:
    [control] = list(root.rglob("Kontrolldatei_*.csv"))
    rows = list(csv.reader(io.StringIO(control.read_bytes()[3:].decode(), newline=""),
                           delimiter=";"))  # fmt: skip
    start = rows.index(["Datei", "Belegbild", "Mandant", "Journalnummer", "GUID", "Bytes",
                        "SHA-256"])  # fmt: skip
    return rows[start + 1 :]


def test_images_go_out_linked_over_ftp_and_again_in_a_redelivery(
    demo_home: Path, books: Books, ftp: FTPServer
) -> None:
    ws = Workspace(DataDir.open(demo_home))
    cfg = ws.save_config(raw_config(ftp_target(ftp)))
    record = run_config(ws, cfg, OPTS, clock=at(NOON))
    assert record.status == "ok", (record.step, record.reason)
    links = check_delivery(ftp.root, books)

    # Limits a user meets: a warning naming journal number and file, never a silent drop.
    for jn, name in [*books.bad.items(), books.second]:
        assert any(str(jn) in w and name in w for w in record.warnings), (jn, record.warnings)

    # The control file lists every image with its SHA-256, recomputed here from the ZIP.
    [package_path] = list(ftp.root.rglob("Belegbilder_*.zip"))
    listed = control_images(ftp.root)
    assert {int(row[3]) for row in listed} == set(books.good)
    with zipfile.ZipFile(package_path) as archive:
        for name, member, _client, jn, guid, size, sha in listed:
            assert name == package_path.name and guid == links[int(jn)]
            data = archive.read(member)
            assert (int(size), sha) == (len(data), hashlib.sha256(data).hexdigest())

    # The run record counts them; the journal keeps which images went with which run.
    [package_doc] = [f for f in record.files if f["kind"] == "documents"]
    assert package_doc["rows"] == len(books.good) and "images" not in package_doc
    journaled = ws.runs.delivered_images(record.id)
    assert {(row[2], row[3]) for row in journaled} == set(links.items())

    # A second run has nothing new: no second package.
    again = run_config(ws, cfg, OPTS, clock=at(NOON + dt.timedelta(minutes=5)))
    assert again.status == "nothing"
    assert len(list(ftp.root.rglob("Belegbilder_*.zip"))) == 1

    # The redelivery sends the same images under the same GUIDs, marked as such.
    redo = redeliver(ws, record.id, OPTS, clock=at(NOON + dt.timedelta(minutes=10)))
    assert redo.status == "ok", (redo.step, redo.reason)
    [tagged] = list(ftp.root.rglob("Belegbilder_*_Nachlieferung.zip"))
    package = read_package(tagged)
    assert set(package.members) == set(links.values())
    with zipfile.ZipFile(tagged) as archive:
        assert {archive.read(package.members[g]) for g in links.values()} == set(
            books.good.values()
        )


def test_images_go_out_over_sftp(demo_home: Path, books: Books, tmp_path: Path) -> None:
    ws = Workspace(DataDir.open(demo_home))
    with sftp_server("auto", tmp_path / "sftp") as server:
        KnownHosts(ws.data_dir.known_hosts_path).add(
            server.host, server.port, "ssh-ed25519", server.host_key.blob
        )
        target: dict[str, Any] = {"protocol": "sftp", "host": server.host, "port": server.port,
                                  "user": server.user, "directory": "kanzlei",
                                  "key_file": str(server.client_key.private_file)}  # fmt: skip
        cfg = ws.save_config(raw_config(target))
        record = run_config(ws, cfg, OPTS, clock=at(NOON))
        assert record.status == "ok", (record.step, record.reason)
        check_delivery(server.root, books)


def test_off_by_default_and_only_with_datev(demo_home: Path, books: Books, ftp: FTPServer) -> None:
    ws = Workspace(DataDir.open(demo_home))
    raw = raw_config(ftp_target(ftp))
    del raw["document_images"]
    cfg = ws.save_config(raw)
    assert cfg.document_images is False
    record = run_config(ws, cfg, OPTS, clock=at(NOON))
    assert record.status == "ok", (record.step, record.reason)
    assert not list(ftp.root.rglob("*.zip"))
    assert links_in(ftp.root) == {}
    # The field does not apply to another format: not stored, so nothing to surprise anyone.
    csv_cfg = ws.save_config(raw_config(ftp_target(ftp), id="csv", format="csv",
                                        incoming_format="csv"))  # fmt: skip
    assert csv_cfg.document_images is False


@pytest.fixture
def many_large(demo_home: Path) -> Iterator[int]:
    """Twelve images of 6 MB each (random bytes: nothing compresses), written into the
    ledger as BLOBs piece by piece."""
    ledger = demo_home / "ledger.sqlite"
    picked = exported_bookings(ledger, 12)
    size = 6_000_000
    rng = random.Random(5)
    with sqlite3.connect(ledger) as db:
        for client, jn in picked:
            cur = db.execute(
                "INSERT INTO documents (client_id, journal_no, file_name, media_type, content) "
                "VALUES (?, ?, ?, 'application/pdf', zeroblob(?))",
                (client, jn, f"scan-{jn}.pdf", size),
            )
            with db.blobopen("documents", "content", cur.lastrowid) as blob:
                for _ in range(size // 1_000_000):
                    blob.write(rng.randbytes(1_000_000))
    yield size * len(picked)


def test_memory_stays_flat_with_many_large_images(
    demo_home: Path, many_large: int, tmp_path: Path
) -> None:
    ws = Workspace(DataDir.open(demo_home))
    cfg = parse_config(
        raw_config({"host": "127.0.0.1", "user": "u", "password": "p"}), catalog=None
    )
    tracemalloc.start()
    try:
        with ws.ledger() as ledger:
            result = export(cfg, ledger, {}, tmp_path / "out", now=NOON)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    packages = [f for f in result.files if f.kind == "documents"]  # one per client
    assert sum(len(p.images) for p in packages) == 12
    assert sum(p.size for p in packages) > many_large
    assert peak < 24_000_000, peak  # 72 MB of images went through a few MB of buffers
    for package in packages:
        assert os.path.getsize(package.path) == package.size
        assert hashlib.sha256(package.path.read_bytes()).hexdigest() == package.sha256
