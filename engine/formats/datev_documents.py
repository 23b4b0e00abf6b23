"""DATEV Belegbilder: the document-image package next to the Buchungsstapel.

DATEV imports document images as a "Document-Package" of the DATEV XML-Schnittstelle
online: one flat ZIP (no sub-folders) with the image files and exactly one
``document.xml`` that lists every file under a GUID. A Buchungsstapel row links its image
through field 20 "Beleglink" as ``BEDI "<GUID>"``. Sources, limits and the decisions taken
where the sources are silent: docs/datev.md ("DATEV Belegbilder").

This module only writes; the tests read packages with an independent reader
(tests/datev_package_reader.py) and validate ``document.xml`` against DATEV's XSD.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import IO, Final
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from engine.formats.datev_spec import TRANSLITERATION

# -- the format (Document_v050.xsd; docs/datev.md, "DATEV Belegbilder") ----------------------

NAMESPACE: Final = "http://xml.datev.de/bedi/tps/document/v05.0"
SCHEMA_VERSION: Final = "5.0"
SCHEMA_FILE: Final = "Document_v050.xsd"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
DOCUMENT_XML: Final = "document.xml"
GENERATING_SYSTEM: Final = "buchex"

# Data type p10037 of Document_types_v050.xsd; DATEV's own examples are upper case.
GUID_PATTERN: Final = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)

# Extension → media type of the images buchex delivers: the formats DATEV recommends for
# Belege online (PDF, TIF/TIFF, JPG, PNG). Belege online stores more (Office files, XML),
# but an advisor opens the Beleglink as an image, so buchex stays with these.
ACCEPTED: Final[Mapping[str, str]] = MappingProxyType(
    {
        ".pdf": "application/pdf",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".png": "image/png",
        ".tif": "image/tiff",
        ".tiff": "image/tiff",
    }
)
# Spellings seen in the wild for the same types (browsers, old scanners).
_MEDIA_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/tif": "image/tiff"}
)
# The extension buchex gives a file whose name lacks the right one.
_CANONICAL_EXTENSION: Final[Mapping[str, str]] = MappingProxyType(
    {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif"}
)

# DATEV accepts at most 20 MB per document file. Counted in decimal megabytes: if DATEV
# means MiB, buchex refuses a few files DATEV would take; the other way round DATEV would
# refuse files buchex sent.
MAX_BYTES: Final = 20_000_000
# A Document-Package has a technical limit of 465 MB (DATEV: "keinesfalls ausreizen").
MAX_PACKAGE_BYTES: Final = 465_000_000
# content/document maxOccurs in Document_v050.xsd.
MAX_DOCUMENTS: Final = 4999

# ZIP member names: flat (DATEV: no nesting inside the ZIP), ASCII letters, digits, ".",
# "_" and "-" only. DATEV itself allows more (blank, & ( ) + and Latin-1 letters), but
# non-ASCII ZIP names depend on the reader honouring the UTF-8 flag, and Windows tools
# that do not show "Rechnung_MÃ¤rz.pdf"; ASCII is read the same everywhere.
MEMBER_NAME_CHARS: Final = re.compile(r"[A-Za-z0-9._-]+")
# The XSD allows 255 (p20); DATEV's Belegtransfer unpacks into a Windows folder, where the
# whole path counts against MAX_PATH (260), so names stay short.
MEMBER_NAME_MAX: Final = 100
# Windows device names: a file called CON.pdf cannot be created there.
_WINDOWS_RESERVED: Final = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)
#: The letters of the Buchungsstapel's spelling table (umlauts, ß, æ, ł, …); its blanks
#: and dashes are not for file names (those become "_" below).
_TRANSLITERATION: Final[Mapping[str, str]] = MappingProxyType(
    {ch: spelled for ch, spelled in TRANSLITERATION.items() if ch.isalpha()}
)

# Fixed namespace of buchex's document GUIDs, uuid5(NAMESPACE_URL,
# "urn:buchex:datev-belegbilder"). Never change it: a redelivery must produce the GUIDs
# the advisor's DATEV already links to.
GUID_NAMESPACE: Final = uuid.UUID("da80b815-05eb-55de-9010-1e3f11680abb")

# Images are written as they are: PDF and JPEG gained 0.2-2.5 % with DEFLATE in a
# measurement (docs/datev.md) at ~60 MB/s of CPU, PNG is DEFLATE already.
# TIFF may hold uncompressed pixels, so it is deflated. document.xml is text: deflated.
_COMPRESSION: Final[Mapping[str, int]] = MappingProxyType(
    {
        "application/pdf": zipfile.ZIP_STORED,
        "image/jpeg": zipfile.ZIP_STORED,
        "image/png": zipfile.ZIP_STORED,
        "image/tiff": zipfile.ZIP_DEFLATED,
    }
)
# No ZIP64: every member is capped at MAX_BYTES and the package at MAX_PACKAGE_BYTES, far
# below the 4 GiB where ZIP64 starts, and a plain ZIP is readable by every importer.
_FORCE_ZIP64: Final = False
_CHUNK: Final = 1 << 20


class DocumentPackageError(Exception):
    """The package cannot take this image or is unusable after a failed add()."""


@dataclass(frozen=True)
class AddedImage:
    """One image written into the package."""

    guid: str
    member: str  # its name inside the ZIP (and in document.xml)
    size: int  # bytes
    sha256: str  # hex digest of the content


# -- GUIDs and the Beleglink ---------------------------------------------------------------


def document_guid(*parts: str) -> str:
    """The GUID of a document image, the same for the same parts on every run.

    A uuid5 over buchex's fixed namespace and the parts (e.g. client, document number,
    file name), upper case as in DATEV's examples: a redelivery links the same image.
    """
    if not parts:
        raise ValueError("document_guid braucht mindestens einen Bestandteil")
    # A separator that does not occur in keys, so ("a", "bc") and ("ab", "c") differ.
    return str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join(parts))).upper()


def beleglink(guid: str) -> str:
    """Buchungsstapel field 20 "Beleglink" for an image in Belege online: ``BEDI "<GUID>"``.

    The raw value; the CSV writer quotes the field and doubles the inner quotes.
    """
    if not GUID_PATTERN.fullmatch(guid):
        raise ValueError(f"keine gültige Beleg-GUID: {guid!r}")
    return f'BEDI "{guid}"'


# -- checks before packing -----------------------------------------------------------------


def media_type_of(file_name: str, media_type: str | None) -> str | None:
    """The accepted media type of an image, from the ledger's type or else the extension.

    None when neither names a type buchex delivers.
    """
    if media_type:
        base = media_type.split(";", 1)[0].strip().lower()
        base = _MEDIA_ALIASES.get(base, base)
        return base if base in _CANONICAL_EXTENSION else None
    return ACCEPTED.get(_extension(file_name))


def _extension(file_name: str) -> str:
    base = _last_part(file_name)
    _, dot, ext = base.rpartition(".")
    return f".{ext.lower()}" if dot and ext else ""


def _last_part(file_name: str) -> str:
    # Ledger paths may come from Windows or Unix; only the last part names the file.
    return re.split(r"[/\\]", file_name)[-1]


def _megabytes(size: int) -> str:
    # Rounded up, so a file just over the limit never reads as "20,0 MB".
    return f"{math.ceil(size / 100_000) / 10:.1f}".replace(".", ",")


def image_problem(
    journal_no: int | str, file_name: str, media_type: str | None, size: int | None
) -> str | None:
    """None when DATEV takes the image, else a German warning for the run record.

    ``size`` None means the content is missing (no BLOB, unreadable path). The booking
    goes out without a Beleglink in every case; the warning says so and what to do.
    """
    name = _last_part(file_name) or file_name
    tail = "Die Buchung wird ohne Beleglink übertragen."
    if size is None:
        return (
            f"Buchung {journal_no}: Belegbild „{name}“ fehlt (kein Inhalt im Ledger oder "
            f"Datei nicht lesbar). {tail} Bitte die Datei im Ledger nachtragen."
        )
    if size == 0:
        return (
            f"Buchung {journal_no}: Belegbild „{name}“ ist leer (0 Byte). {tail} "
            "Bitte die Datei im Ledger ersetzen."
        )
    if media_type_of(file_name, media_type) is None:
        accepted = ", ".join(sorted({e.lstrip(".").upper() for e in ACCEPTED}))
        given = media_type or (_extension(file_name) or "ohne Dateiendung")
        return (
            f"Buchung {journal_no}: Belegbild „{name}“ hat ein Format, das buchex nicht an "
            f"DATEV liefert ({given}); möglich sind {accepted}. {tail} Bitte den Beleg "
            "als PDF speichern und im Ledger ersetzen."
        )
    if size > MAX_BYTES:
        return (
            f"Buchung {journal_no}: Belegbild „{name}“ ist mit {_megabytes(size)} MB zu "
            f"groß; DATEV nimmt höchstens {MAX_BYTES // 1_000_000} MB je Beleg an. {tail} "
            "Bitte den Beleg verkleinern (z. B. mit 300 dpi in Graustufen scannen) und im "
            "Ledger ersetzen."
        )
    return None


# -- ZIP member names ----------------------------------------------------------------------


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    spelled = "".join(_TRANSLITERATION.get(ch, ch) for ch in text)
    folded = unicodedata.normalize("NFKD", spelled)
    out = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^A-Za-z0-9._-]+", "_", out)


def member_name(
    file_name: str, guid: str, taken: set[str], *, media_type: str | None = None
) -> str:
    """A safe, flat ZIP member name for an image, unique among ``taken``.

    Keeps only the last path part (no directories, no ``..``), spells umlauts and accents
    in ASCII, replaces other characters by ``_``, keeps (lower-cased) the extension, or
    adds the one of ``media_type`` when the name lacks or contradicts it, and shortens to
    MEMBER_NAME_MAX. Unique ignoring case (Windows file systems): a clash gets the
    GUID's first block, then a counter. ``taken`` is not changed; the caller adds the
    result. ``document.xml`` is always taken.
    """
    base = _last_part(unicodedata.normalize("NFC", file_name))
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = re.sub(r"[^a-z0-9]", "", _ascii(ext).lower())
    extension = f".{ext}" if ext else ""
    wanted = media_type_of(file_name, media_type) if media_type else None
    if wanted is not None and ACCEPTED.get(extension) != wanted:
        # Keep what the name said ("scan.jpg" holding a PDF → "scan.jpg.pdf").
        stem = f"{stem}{extension}" if extension else stem
        extension = _CANONICAL_EXTENSION[wanted]
    clean = re.sub(r"_{2,}", "_", _ascii(stem)).strip("._-")
    short = guid[:8].upper()
    if not clean or clean.split(".", 1)[0].lower() in _WINDOWS_RESERVED:
        clean = f"Beleg_{clean}" if clean else f"Beleg_{short}"
    clean = clean[: MEMBER_NAME_MAX - len(extension)].rstrip("._-") or f"Beleg_{short}"

    used = {name.casefold() for name in taken} | {DOCUMENT_XML}
    candidate = f"{clean}{extension}"
    counter = 1
    while candidate.casefold() in used:
        suffix = f"_{short}" if counter == 1 else f"_{short}_{counter}"
        candidate = f"{clean[: MEMBER_NAME_MAX - len(extension) - len(suffix)]}{suffix}{extension}"
        counter += 1
    return candidate


# -- the package ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    image: AddedImage
    incoming: bool | None
    keywords: str | None


class DocumentPackage:
    """A Document-Package written as a stream: images one by one, document.xml on close.

    ``target`` is a binary file object (seekable or not) or a Path. The ZIP is opened on
    the first add(): a package without images writes nothing at all (no file for a Path),
    because DATEV's schema requires at least one document. Check ``count`` after close()
    to know whether there is a package to deliver.

    ``created`` is the header date (wall-clock time; a time zone is dropped, the schema
    takes none); it also stamps the ZIP entries, so the same input gives the same bytes.
    On an exception inside ``with`` nothing usable remains: a Path target is removed.
    """

    def __init__(
        self,
        target: IO[bytes] | Path,
        *,
        created: datetime,
        description: str = "Belegbilder aus buchex",
        consultant_no: int | None = None,
        client_no: int | None = None,
        client_name: str | None = None,
    ) -> None:
        # Value ranges of Document_types_v050.xsd (p10051, p10049, p10050, p17).
        if not 1 <= len(description) <= 255:
            raise ValueError("Beschreibung des Belegpakets: 1 bis 255 Zeichen")
        if consultant_no is not None and not 1000 <= consultant_no <= 9_999_999:
            raise ValueError(f"Beraternummer außerhalb 1000-9999999: {consultant_no}")
        if client_no is not None and not 0 <= client_no <= 99_999:
            raise ValueError(f"Mandantennummer außerhalb 0-99999: {client_no}")
        if client_name is not None and not client_name.strip():
            raise ValueError("Mandantenname im Belegpaket darf nicht leer sein")
        self._target = target
        self._created = created.replace(tzinfo=None, microsecond=0)
        self._description = description
        self._consultant_no = consultant_no
        self._client_no = client_no
        # Only a label in the header (p17: 36 characters); longer names are cut there.
        self._client_name = client_name.strip()[:36] if client_name is not None else None
        self._zip: zipfile.ZipFile | None = None
        self._entries: list[_Entry] = []
        self._members: set[str] = set()
        self._guids: set[str] = set()
        self._bytes = 0
        self._broken = False
        self._closed = False

    # -- state

    @property
    def count(self) -> int:
        """Images added so far; 0 after close() means nothing was written."""
        return len(self._entries)

    @property
    def images(self) -> tuple[AddedImage, ...]:
        return tuple(entry.image for entry in self._entries)

    def __contains__(self, guid: object) -> bool:
        return isinstance(guid, str) and guid.upper() in self._guids

    def fits(self, size: int) -> bool:
        """Whether an image of ``size`` bytes still fits (document count, package size).

        When not, close this package and start the next one.
        """
        return (
            self.count < MAX_DOCUMENTS
            and self._bytes + size + self._overhead(self.count + 1) <= MAX_PACKAGE_BYTES
        )

    @staticmethod
    def _overhead(documents: int) -> int:
        # ZIP headers and the document.xml line per image, generously counted.
        return 64_000 + 1_000 * documents

    # -- writing

    def add(
        self,
        guid: str,
        file_name: str,
        chunks: Iterable[bytes],
        *,
        media_type: str | None = None,
        incoming: bool | None = None,
        keywords: str | None = None,
    ) -> AddedImage:
        """Stream one image into the ZIP, chunk by chunk, and list it in document.xml.

        Check the image with image_problem() first. ``incoming`` sets the document's
        ``type`` (1 Rechnungseingang, 2 Rechnungsausgang); ``keywords`` (up to 255
        characters, e.g. the document number) helps the advisor search in Belege online.
        A duplicate GUID, an unsupported type or a full package raises before writing;
        content beyond MAX_BYTES raises while writing and leaves the package unusable.
        """
        self._usable()
        if not GUID_PATTERN.fullmatch(guid):
            raise ValueError(f"keine gültige Beleg-GUID: {guid!r}")
        if guid.upper() in self._guids:
            raise DocumentPackageError(f"Beleg-GUID {guid} ist schon im Belegpaket")
        if keywords is not None and not 1 <= len(keywords) <= 255:
            raise ValueError("Schlüsselwörter eines Belegs: 1 bis 255 Zeichen")
        kind = media_type_of(file_name, media_type)
        if kind is None:
            raise DocumentPackageError(f"Belegbild „{file_name}“: Format wird nicht geliefert")
        if self.count >= MAX_DOCUMENTS:
            raise DocumentPackageError(
                f"Belegpaket voll: höchstens {MAX_DOCUMENTS} Belege je Paket"
            )
        name = member_name(file_name, guid, self._members, media_type=kind)
        info = zipfile.ZipInfo(name, date_time=self._stamp())
        info.compress_type = _COMPRESSION[kind]
        info.external_attr = 0o644 << 16
        digest = hashlib.sha256()
        size = 0
        archive = self._open()
        try:
            with archive.open(info, "w", force_zip64=_FORCE_ZIP64) as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise DocumentPackageError(
                            f"Belegbild „{file_name}“ ist größer als {MAX_BYTES // 1_000_000}"
                            " MB; das Belegpaket ist unbrauchbar"
                        )
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            # A member is half written and cannot be taken back out of the ZIP.
            self._broken = True
            raise
        self._bytes += info.compress_size
        if self._bytes + self._overhead(self.count + 1) > MAX_PACKAGE_BYTES:
            self._broken = True
            raise DocumentPackageError(
                "Belegpaket größer als 465 MB; vorher mit fits() ein neues Paket beginnen"
            )
        image = AddedImage(guid=guid, member=name, size=size, sha256=digest.hexdigest())
        self._entries.append(_Entry(image, incoming, keywords))
        self._members.add(name)
        self._guids.add(guid.upper())
        return image

    def close(self) -> None:
        """Write document.xml and finish the ZIP; nothing at all when no image was added."""
        if self._closed:
            return
        self._usable()
        self._closed = True
        if self._zip is None:
            return
        info = zipfile.ZipInfo(DOCUMENT_XML, date_time=self._stamp())
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        self._zip.writestr(info, self.document_xml())
        self._zip.close()

    def document_xml(self) -> bytes:
        """document.xml for the images added so far (UTF-8, with XML declaration)."""
        out = io.BytesIO()
        # XMLGenerator escapes text and attribute values. DATEV's namespace is the default
        # one, so xsi:type="File" resolves to DATEV's File type.
        xml = XMLGenerator(out, encoding="utf-8", short_empty_elements=True)
        xml.startDocument()
        _start(
            xml,
            "archive",
            {
                "xmlns": NAMESPACE,
                "xmlns:xsi": XSI,
                "xsi:schemaLocation": f"{NAMESPACE} {SCHEMA_FILE}",
                "version": SCHEMA_VERSION,
                "generatingSystem": GENERATING_SYSTEM,
            },
        )
        _start(xml, "header")
        _text(xml, "date", self._created.strftime("%Y-%m-%dT%H:%M:%S"))
        _text(xml, "description", self._description)
        if self._consultant_no is not None:
            _text(xml, "consultantNumber", str(self._consultant_no))
        if self._client_no is not None:
            _text(xml, "clientNumber", str(self._client_no))
        if self._client_name is not None:
            _text(xml, "clientName", self._client_name)
        xml.endElement("header")
        _start(xml, "content")
        for entry in self._entries:
            attributes = {"guid": entry.image.guid}
            if entry.incoming is not None:
                attributes["type"] = "1" if entry.incoming else "2"
            _start(xml, "document", attributes)
            if entry.keywords is not None:
                _text(xml, "keywords", entry.keywords)
            _start(xml, "extension", {"xsi:type": "File", "name": entry.image.member})
            xml.endElement("extension")
            xml.endElement("document")
        xml.endElement("content")
        xml.endElement("archive")
        xml.endDocument()
        return out.getvalue()

    # -- helpers

    def _stamp(self) -> tuple[int, int, int, int, int, int]:
        moment = max(self._created, datetime(1980, 1, 1))  # ZIP dates start in 1980
        return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            self._zip = zipfile.ZipFile(self._target, "w", allowZip64=True)
        return self._zip

    def _usable(self) -> None:
        if self._broken:
            raise DocumentPackageError("Belegpaket nach einem Fehler unbrauchbar")
        if self._closed:
            raise DocumentPackageError("Belegpaket ist schon abgeschlossen")

    def _discard(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._closed = True
        if isinstance(self._target, Path) and self._zip is not None:
            self._target.unlink(missing_ok=True)

    def __enter__(self) -> DocumentPackage:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and not self._broken:
            self.close()
        else:
            self._discard()


def _start(xml: XMLGenerator, name: str, attributes: dict[str, str] | None = None) -> None:
    xml.startElement(name, AttributesImpl(attributes or {}))


def _text(xml: XMLGenerator, name: str, value: str) -> None:
    _start(xml, name)
    xml.characters(value)
    xml.endElement(name)


def read_in_chunks(stream: IO[bytes], size: int = _CHUNK) -> Iterable[bytes]:
    """Chunks of a binary stream for DocumentPackage.add() (a BLOB stream or open file)."""
    while chunk := stream.read(size):
        yield chunk
