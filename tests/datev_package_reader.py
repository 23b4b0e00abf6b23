"""An independent reader of DATEV Document-Packages (Belegbilder), for the tests.

Written from DATEV's description of the DATEV XML-Schnittstelle online and from
Document_v050.xsd (tests/xsd/datev/), not from the writer: it imports nothing from
``engine.formats.datev_documents``. What it knows:

- the package is one ZIP without nesting: no folders, no paths in member names;
- exactly one member is called ``document.xml``;
- document.xml has the root ``archive`` in namespace
  ``http://xml.datev.de/bedi/tps/document/v05.0`` with ``header/date`` and
  ``content/document`` elements; a document carries an optional ``guid`` attribute and
  ``extension`` elements, those of ``xsi:type="File"`` naming a file of the package;
- every named file exists in the ZIP, and every file in the ZIP is named.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

DATEV = "http://xml.datev.de/bedi/tps/document/v05.0"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


class PackageInvalid(AssertionError):
    """The ZIP breaks a rule of the Document-Package."""


@dataclass
class Package:
    version: str
    generating_system: str | None
    header: dict[str, str]
    documents: dict[str, list[str]]  # guid → file names (extension xsi:type="File")
    types: dict[str, str | None]  # guid → document type attribute
    xml: bytes  # document.xml as stored
    sha256: dict[str, str] = field(default_factory=dict)  # member → hex digest
    compress_types: dict[str, int] = field(default_factory=dict)

    @property
    def members(self) -> dict[str, str]:
        """guid → its single file (buchex writes one file per document)."""
        out = {}
        for guid, names in self.documents.items():
            if len(names) != 1:
                raise PackageInvalid(f"document {guid} has {len(names)} files, expected 1")
            out[guid] = names[0]
        return out


def _local(tag: str) -> str:
    if not tag.startswith("{" + DATEV + "}"):
        raise PackageInvalid(f"element outside the DATEV namespace: {tag}")
    return tag.split("}", 1)[1]


def read_package(source: Path | IO[bytes]) -> Package:
    with zipfile.ZipFile(source) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        for info in infos:
            if info.is_dir() or "/" in info.filename or "\\" in info.filename:
                raise PackageInvalid(f"sub-folder or path in the ZIP: {info.filename!r}")
            if info.filename in ("", ".", "..") or info.filename.startswith(".."):
                raise PackageInvalid(f"bad member name: {info.filename!r}")
        if len(set(names)) != len(names):
            raise PackageInvalid("a member name occurs twice")
        if names.count("document.xml") != 1:
            raise PackageInvalid("document.xml must occur exactly once")
        xml = archive.read("document.xml")
        digests = {}
        for info in infos:
            if info.filename == "document.xml":
                continue
            digest = hashlib.sha256()
            with archive.open(info) as member:  # checks the CRC while reading
                while chunk := member.read(1 << 20):
                    digest.update(chunk)
            digests[info.filename] = digest.hexdigest()
        compress = {info.filename: info.compress_type for info in infos}

    root = ElementTree.fromstring(xml)
    if _local(root.tag) != "archive":
        raise PackageInvalid(f"root element is {root.tag}, not archive")
    version = root.get("version")
    if version is None:
        raise PackageInvalid("archive has no version")
    children = [_local(child.tag) for child in root]
    if children != ["header", "content"]:
        raise PackageInvalid(f"archive must hold header and content, holds {children}")
    header_el, content_el = list(root)
    header = {_local(child.tag): (child.text or "") for child in header_el}
    if not header.get("date"):
        raise PackageInvalid("header/date is missing")

    documents: dict[str, list[str]] = {}
    types: dict[str, str | None] = {}
    referenced: list[str] = []
    for number, document in enumerate(content_el, start=1):
        if _local(document.tag) != "document":
            raise PackageInvalid(f"content holds {document.tag}")
        guid = document.get("guid") or f"(ohne GUID #{number})"
        if guid in documents:
            raise PackageInvalid(f"guid {guid} occurs twice")
        files = []
        for child in document:
            if _local(child.tag) != "extension":
                continue
            kind = (child.get(XSI_TYPE) or "").rsplit(":", 1)[-1]
            if kind == "File":
                name = child.get("name")
                if not name:
                    raise PackageInvalid(f"File extension without name in {guid}")
                files.append(name)
        if not files:
            raise PackageInvalid(f"document {guid} names no file")
        documents[guid] = files
        types[guid] = document.get("type")
        referenced.extend(files)
    if not documents:
        raise PackageInvalid("content holds no document")

    present = set(digests)
    missing = [name for name in referenced if name not in present]
    if missing:
        raise PackageInvalid(f"document.xml names files not in the ZIP: {missing}")
    unreferenced = sorted(present - set(referenced))
    if unreferenced:
        raise PackageInvalid(f"files in the ZIP not named in document.xml: {unreferenced}")
    if len(referenced) != len(set(referenced)):
        raise PackageInvalid("a file is named by more than one extension")
    return Package(
        version=version,
        generating_system=root.get("generatingSystem"),
        header=header,
        documents=documents,
        types=types,
        xml=xml,
        sha256=digests,
        compress_types=compress,
    )
