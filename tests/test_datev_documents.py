"""DATEV Belegbilder (engine/formats/datev_documents.py): the Document-Package.

document.xml is validated against DATEV's published XSD (tests/xsd/datev/), and the ZIP is
read back with tests/datev_package_reader.py, which shares no code with the writer.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import xmlschema

from engine.formats import datev_documents as d
from engine.formats.datev_spec import BUCHUNGSSTAPEL_COLUMNS, field_ok, render_field
from tests.datev_package_reader import PackageInvalid, read_package

XSD = Path(__file__).parent / "xsd" / "datev" / "Document_v050.xsd"
CREATED = datetime(2026, 11, 27, 21, 5, 9)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def _package(target: io.BytesIO | Path, **header: object) -> d.DocumentPackage:
    return d.DocumentPackage(target, created=CREATED, **header)  # type: ignore[arg-type]


def _three(target: io.BytesIO | Path) -> list[d.AddedImage]:
    with _package(target, consultant_no=29098, client_no=55003, client_name="Filiale Süd") as p:
        added = [
            p.add(d.document_guid("1", "RE-1"), "RE-1.pdf", [PDF], incoming=False),
            p.add(
                d.document_guid("1", "ER-7"),
                "scans/Quittung März & Co.jpg",
                [b"\xff\xd8\xff", b"jpeg"],
                incoming=True,
                keywords="ER-7 <Bäckerei>",
            ),
            p.add(d.document_guid("1", "K-3"), "k3.tiff", iter([b"II*\x00" * 500])),
        ]
    assert p.count == 3
    return added


# -- document.xml against DATEV's schema


def test_document_xml_is_valid_against_datev_xsd(schema: xmlschema.XMLSchema) -> None:
    buf = io.BytesIO()
    _three(buf)
    package = read_package(io.BytesIO(buf.getvalue()))
    schema.validate(package.xml)  # raises with the reason when invalid
    assert package.version == "5.0"
    assert package.generating_system == "buchex"
    assert package.header == {
        "date": "2026-11-27T21:05:09",
        "description": "Belegbilder aus buchex",
        "consultantNumber": "29098",
        "clientNumber": "55003",
        "clientName": "Filiale Süd",
    }


def test_the_schema_really_rejects_a_broken_document(schema: xmlschema.XMLSchema) -> None:
    buf = io.BytesIO()
    _three(buf)
    good = read_package(io.BytesIO(buf.getvalue())).xml
    assert schema.is_valid(good)
    guid = d.document_guid("1", "RE-1")
    broken = {
        "guid not a GUID": good.replace(guid.encode(), b"RE-1"),
        "no header date": re.sub(rb"<date>[^<]*</date>", b"", good),
        "wrong version": good.replace(b'version="5.0"', b'version="6.0"'),
        "extension without xsi:type": good.replace(b'xsi:type="File" ', b"", 1),
        "time zone in date": good.replace(b"21:05:09<", b"21:05:09Z<"),
    }
    for reason, xml in broken.items():
        assert not schema.is_valid(xml), reason


def test_header_is_minimal_without_client_data(schema: xmlschema.XMLSchema) -> None:
    buf = io.BytesIO()
    aware = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    with d.DocumentPackage(buf, created=aware, description="Lauf 17") as p:
        p.add(d.document_guid("x"), "a.png", [b"\x89PNG"])
    package = read_package(io.BytesIO(buf.getvalue()))
    schema.validate(package.xml)
    # The wall-clock time, without zone or fraction (the schema allows neither).
    assert package.header == {"date": "2026-03-01T08:00:00", "description": "Lauf 17"}


def test_long_client_name_is_cut_to_the_schema(schema: xmlschema.XMLSchema) -> None:
    buf = io.BytesIO()
    name = "Einzelhandelskette Müller & Söhne GmbH & Co. KG Filiale Süd"
    with _package(buf, client_name=name) as p:
        p.add(d.document_guid("n"), "n.pdf", [PDF])
    package = read_package(io.BytesIO(buf.getvalue()))
    schema.validate(package.xml)
    assert package.header["clientName"] == name[:36]


def test_header_values_outside_the_schema_are_refused() -> None:
    for header in (
        {"description": ""},
        {"description": "x" * 256},
        {"consultant_no": 999},
        {"client_no": 100_000},
        {"client_name": " "},
    ):
        with pytest.raises(ValueError):
            _package(io.BytesIO(), **header)


# -- the ZIP, read back independently


def test_round_trip_through_the_independent_reader(tmp_path: Path) -> None:
    target = tmp_path / "Belegbilder.zip"
    added = _three(target)
    package = read_package(target)
    assert package.members == {image.guid: image.member for image in added}
    assert package.sha256 == {image.member: image.sha256 for image in added}
    assert [image.member for image in added] == ["RE-1.pdf", "Quittung_Maerz_Co.jpg", "k3.tiff"]
    assert added[0].sha256 == hashlib.sha256(PDF).hexdigest()
    assert added[0].size == len(PDF)
    assert added[1].size == 7
    assert package.types == {added[0].guid: "2", added[1].guid: "1", added[2].guid: None}
    with zipfile.ZipFile(target) as archive:
        assert archive.read("RE-1.pdf") == PDF
        assert archive.testzip() is None
        # No ZIP64 records: a plain ZIP that every importer reads.
        assert all(not info.extra for info in archive.infolist())


def test_compression_per_type(tmp_path: Path) -> None:
    target = tmp_path / "p.zip"
    _three(target)
    types = read_package(target).compress_types
    assert types == {
        "RE-1.pdf": zipfile.ZIP_STORED,
        "Quittung_Maerz_Co.jpg": zipfile.ZIP_STORED,
        "k3.tiff": zipfile.ZIP_DEFLATED,
        "document.xml": zipfile.ZIP_DEFLATED,
    }


def test_same_input_same_bytes() -> None:
    first, second = io.BytesIO(), io.BytesIO()
    _three(first)
    _three(second)
    assert first.getvalue() == second.getvalue()


class _Pipe(io.RawIOBase):
    """A write-only, unseekable stream, like an upload socket."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        chunk = bytes(b)  # type: ignore[call-overload]
        self.data += chunk
        return len(chunk)


def test_unseekable_target(schema: xmlschema.XMLSchema) -> None:
    pipe = _Pipe()
    with d.DocumentPackage(pipe, created=CREATED) as p:  # type: ignore[arg-type]
        p.add(d.document_guid("p"), "a.pdf", [PDF, PDF])
    package = read_package(io.BytesIO(bytes(pipe.data)))
    schema.validate(package.xml)
    assert package.sha256 == {"a.pdf": hashlib.sha256(PDF + PDF).hexdigest()}


def test_reader_rejects_sub_folders_and_unlisted_files() -> None:
    def zip_with(members: dict[str, bytes]) -> io.BytesIO:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        buf.seek(0)
        return buf

    good = io.BytesIO()
    _three(good)
    xml = read_package(io.BytesIO(good.getvalue())).xml
    files = {"RE-1.pdf": PDF, "Quittung_Maerz_Co.jpg": b"x", "k3.tiff": b"y"}
    assert read_package(zip_with({**files, "document.xml": xml})).members
    for members in (
        {**files, "document.xml": xml, "extra.pdf": PDF},  # not listed
        {"RE-1.pdf": PDF, "k3.tiff": b"y", "document.xml": xml},  # listed, missing
        {**files, "sub/document.xml": xml},  # nested
        {**files, "document.xml": xml, "scans/": b""},  # a folder
        files,  # no document.xml
    ):
        with pytest.raises(PackageInvalid):
            read_package(zip_with(members))


# -- memory stays flat


def _lazy_random(total: int, chunk: int, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for _ in range(total // chunk):
        yield rng.randbytes(chunk)


def test_streaming_keeps_memory_flat(tmp_path: Path) -> None:
    images, size, chunk = 20, 5_000_000, 1_000_000
    target = tmp_path / "gross.zip"
    tracemalloc.start()
    try:
        with _package(target) as p:
            for n in range(images):
                p.add(d.document_guid("big", str(n)), f"scan-{n}.pdf", _lazy_random(size, chunk, n))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    total = images * size
    assert p.count == images
    assert target.stat().st_size > total
    # A few chunks in flight at most, never an image or the package.
    assert peak < 4 * chunk, f"peak {peak} bytes for {total} bytes of images"
    package = read_package(target)
    assert len(package.members) == images
    expected = hashlib.sha256(b"".join(_lazy_random(size, chunk, 7))).hexdigest()
    assert package.sha256["scan-7.pdf"] == expected


# -- empty, broken and full packages


def test_empty_package_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "leer.zip"
    with _package(target) as p:
        pass
    assert p.count == 0
    assert not target.exists()
    buf = io.BytesIO()
    with _package(buf) as p:
        pass
    assert buf.getvalue() == b""


def test_failure_inside_with_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "kaputt.zip"
    with pytest.raises(RuntimeError), _package(target) as p:
        p.add(d.document_guid("a"), "a.pdf", [PDF])
        raise RuntimeError("Abbruch")
    assert not target.exists()


def test_content_beyond_the_limit_spoils_the_package(tmp_path: Path) -> None:
    target = tmp_path / "zu-gross.zip"
    with pytest.raises(d.DocumentPackageError), _package(target) as p:
        p.add(d.document_guid("a"), "a.pdf", [PDF])
        p.add(d.document_guid("b"), "b.pdf", _lazy_random(d.MAX_BYTES + 1_000_000, 1_000_000, 1))
    assert not target.exists()
    with pytest.raises(d.DocumentPackageError):
        p.add(d.document_guid("c"), "c.pdf", [PDF])


def test_add_refuses_duplicates_and_unsupported_types() -> None:
    with _package(io.BytesIO()) as p:
        guid = d.document_guid("a")
        p.add(guid, "a.pdf", [PDF])
        assert guid in p and guid.lower() in p
        with pytest.raises(d.DocumentPackageError):
            p.add(guid, "b.pdf", [PDF])
        with pytest.raises(d.DocumentPackageError):
            p.add(d.document_guid("b"), "b.docx", [b"PK"])
        with pytest.raises(ValueError):
            p.add("kein-guid", "c.pdf", [PDF])
        assert p.count == 1


def test_read_in_chunks_feeds_add() -> None:
    data = bytes(range(256)) * 10
    chunks = list(d.read_in_chunks(io.BytesIO(data), 1000))
    assert [len(c) for c in chunks] == [1000, 1000, 560]
    buf = io.BytesIO()
    with _package(buf) as p:
        image = p.add(d.document_guid("c"), "c.pdf", d.read_in_chunks(io.BytesIO(data), 1000))
    assert image.size == len(data)
    assert read_package(io.BytesIO(buf.getvalue())).sha256 == {"c.pdf": image.sha256}


def test_fits_counts_documents_and_bytes() -> None:
    p = _package(io.BytesIO())
    assert p.fits(d.MAX_BYTES)
    assert not p.fits(d.MAX_PACKAGE_BYTES)
    assert d.MAX_DOCUMENTS == 4999


# -- GUIDs and the Beleglink


def test_document_guid_is_deterministic_and_datev_shaped() -> None:
    guid = d.document_guid("55003", "RE-2026-001", "rechnung.pdf")
    assert guid == d.document_guid("55003", "RE-2026-001", "rechnung.pdf")
    assert guid != d.document_guid("55003", "RE-2026-002", "rechnung.pdf")
    assert d.document_guid("a", "bc") != d.document_guid("ab", "c")
    assert re.fullmatch(r"[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", guid)
    assert guid[14] == "5"  # a name-based (version 5) UUID
    # Pinned: a changed namespace would break the links an advisor's DATEV already holds.
    assert d.document_guid("1") == "9A13B7E2-B1B1-5432-A13E-C5B0AC823D18"
    with pytest.raises(ValueError):
        d.document_guid()


def test_beleglink_text_and_column() -> None:
    guid = d.document_guid("x")
    link = d.beleglink(guid)
    assert link == f'BEDI "{guid}"'
    column = next(c for c in BUCHUNGSSTAPEL_COLUMNS if c.name == "Beleglink")
    assert BUCHUNGSSTAPEL_COLUMNS.index(column) == 19  # field 20
    assert field_ok(column, link)
    assert len(link) == 43 <= column.max_len  # type: ignore[operator]
    assert render_field(column, link) == f'"BEDI ""{guid}"""'
    for bad in ("", "BEDI", guid[:-1], guid + "0", "{" + guid + "}"):
        with pytest.raises(ValueError):
            d.beleglink(bad)


# -- member names


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("rechnung.pdf", "rechnung.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\Windows\\evil.PDF", "evil.pdf"),
        ("C:\\Scans\\Rechnung März 2026.pdf", "Rechnung_Maerz_2026.pdf"),
        ("/abs/Straße Öl Übung.jpg", "Strasse_Oel_Uebung.jpg"),
        ("Café Crème.png", "Cafe_Creme.png"),
        ("Beleg #1 (Kopie) €.tif", "Beleg_1_Kopie.tif"),
        ("收据.pdf", "Beleg_ABCDEF12.pdf"),
        (".pdf", "Beleg_ABCDEF12.pdf"),
        ("...", "Beleg_ABCDEF12"),
        ("CON.pdf", "Beleg_CON.pdf"),
        ("lpt1.pdf", "Beleg_lpt1.pdf"),
        ("document.xml", "document_ABCDEF12.xml"),
        ("a\x00b\r\n.pdf", "a_b.pdf"),
    ],
)
def test_member_name_is_flat_and_plain(file_name: str, expected: str) -> None:
    guid = "abcdef12-3456-5789-8abc-def012345678"
    name = d.member_name(file_name, guid, set())
    assert name == expected
    assert d.MEMBER_NAME_CHARS.fullmatch(name)
    assert "/" not in name and "\\" not in name and not name.startswith(".")


def test_member_name_unique_ignoring_case() -> None:
    guid_a, guid_b = d.document_guid("a"), d.document_guid("b")
    taken: set[str] = set()
    first = d.member_name("Beleg.pdf", guid_a, taken)
    taken.add(first)
    second = d.member_name("BELEG.PDF", guid_b, taken)
    taken.add(second)
    third = d.member_name("beleg.pdf", guid_b, taken)
    assert first == "Beleg.pdf"
    assert second == f"BELEG_{guid_b[:8]}.pdf"
    assert third == f"beleg_{guid_b[:8]}_2.pdf"
    assert len({n.casefold() for n in (first, second, third)}) == 3


def test_member_name_length_and_extension() -> None:
    guid = d.document_guid("long")
    name = d.member_name("x" * 300 + ".jpeg", guid, set())
    assert len(name) == d.MEMBER_NAME_MAX and name.endswith(".jpeg")
    clash = d.member_name("x" * 300 + ".jpeg", guid, {name})
    assert len(clash) == d.MEMBER_NAME_MAX and clash.endswith(f"_{guid[:8]}.jpeg")
    # The media type gives the extension a name lacks or gets wrong.
    assert d.member_name("scan", guid, set(), media_type="application/pdf") == "scan.pdf"
    assert d.member_name("scan.jpg", guid, set(), media_type="application/pdf") == "scan.jpg.pdf"
    assert d.member_name("scan.JPG", guid, set(), media_type="image/jpg") == "scan.jpg"


def test_package_names_clashing_files_apart() -> None:
    buf = io.BytesIO()
    with _package(buf) as p:
        a = p.add(d.document_guid("1"), "ordner1/beleg.pdf", [PDF])
        b = p.add(d.document_guid("2"), "ordner2/Beleg.pdf", [PDF])
        c = p.add(d.document_guid("3"), "document.xml", [PDF], media_type="application/pdf")
    members = read_package(io.BytesIO(buf.getvalue())).members
    assert members[a.guid] == "beleg.pdf"
    assert members[b.guid] == f"Beleg_{b.guid[:8]}.pdf"
    assert members[c.guid] == "document.xml.pdf"


# -- what DATEV does not take


def test_image_problem_none_when_accepted() -> None:
    assert d.image_problem(1, "a.pdf", "application/pdf", 1) is None
    assert d.image_problem(1, "a.PDF", None, d.MAX_BYTES) is None
    assert d.image_problem(1, "scan", "image/jpeg", 10) is None
    assert d.image_problem(1, "x.bin", "application/pdf; qs=0.9", 10) is None
    for ext in d.ACCEPTED:
        assert d.image_problem(1, f"a{ext}", None, 10) is None


def test_image_problem_missing() -> None:
    text = d.image_problem(4711, "C:\\Belege\\RE-1.pdf", "application/pdf", None)
    assert text is not None
    assert "Buchung 4711" in text and "„RE-1.pdf“" in text and "fehlt" in text
    assert "ohne Beleglink" in text and "nachtragen" in text
    empty = d.image_problem(4711, "RE-1.pdf", None, 0)
    assert empty is not None and "leer" in empty and "Buchung 4711" in empty


def test_image_problem_too_large() -> None:
    text = d.image_problem("4712", "scan.pdf", "application/pdf", 23_456_789)
    assert text is not None
    assert "Buchung 4712" in text and "„scan.pdf“" in text
    assert "23,5 MB" in text and "höchstens 20 MB" in text and "verkleinern" in text
    just_over = d.image_problem(1, "scan.pdf", None, d.MAX_BYTES + 1)
    assert just_over is not None and "20,1 MB" in just_over


def test_image_problem_unsupported_type() -> None:
    for file_name, media_type, shown in (
        ("brief.docx", None, ".docx"),
        ("bild.gif", "image/gif", "image/gif"),
        ("ohne-endung", None, "ohne Dateiendung"),
        ("rechnung.pdf", "text/html", "text/html"),  # the ledger's type wins
    ):
        text = d.image_problem(9, file_name, media_type, 100)
        assert text is not None, file_name
        assert "Buchung 9" in text and f"„{file_name}“" in text and shown in text
        assert "PDF" in text and "JPG" in text and "PNG" in text and "TIFF" in text


def test_image_problem_order_missing_before_type_before_size() -> None:
    missing = d.image_problem(1, "a.gif", None, None)
    assert missing is not None and "fehlt" in missing
    wrong = d.image_problem(1, "a.gif", None, d.MAX_BYTES * 2)
    assert wrong is not None and "Format" in wrong
