"""An opened data directory and the operations on it that the CLI, daemon and TUI share.

Configs, settings and users live in one TinyDB store (`buchex.json`); secrets in it are
encrypted; every change is audited. Validation happens here, before anything is written:
nothing invalid is ever saved.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tinydb import Query

from engine.audit import AuditLog
from engine.cipher import PREFIX, Cipher
from engine.clock import resolve_tz
from engine.config import (
    ExportConfig,
    changed_fields,
    config_to_json,
    parse_config,
    with_id,
)
from engine.errors import CipherError, KeyMissing, NotFound
from engine.fields import (
    FieldSpec,
    Invalid,
    Problem,
    ValidationError,
    build_flat,
    changed_paths,
    model_to_json,
    parse_values,
    unknown_keys,
)
from engine.journal import Journal
from engine.paths import DataDir
from engine.settings import CHAIN_FIELDS, SMTP_FIELDS, ChainSettings, SmtpSettings
from engine.store import DocCache, Stamp, Store
from engine.users import User, check_name, check_password, hash_password, verify_password

if TYPE_CHECKING:
    # engine.ledger loads SQLAlchemy: imported where used, so that opening a workspace
    # (the TUI's start, the CLI) does not pay for it.
    from engine.ledger import Catalog, Ledger

CONFIGS = "configs"
SETTINGS = "settings"
USERS = "users"
_STORE_ONLY = ("created_at", "updated_at")
_SECTION_LABELS = {"smtp": "SMTP Postausgangsserver", "chain": "Einstellungen"}
#: The audit action of a config file's import; such a save is strict (see `save_configs`).
IMPORT = "config.import"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class Workspace:
    def __init__(self, data_dir: DataDir) -> None:
        self.data_dir = data_dir
        self.store = Store(data_dir.store_path)
        self.audit = AuditLog(data_dir.audit_path)
        self._settings_cache: tuple[Stamp | None, dict[str, Any]] | None = None
        self._tz_cache: tuple[Stamp | None, ZoneInfo] | None = None
        self._configs_cache: tuple[Stamp, dict[str, ExportConfig]] | None = None
        #: per stored doc id: the doc as last read and its parsed config; a reload after
        #: one edit parses only the docs that differ (the same object when unchanged)
        self._parsed: dict[str, tuple[Mapping[str, Any], ExportConfig]] = {}
        self._doc_cache: DocCache = {}  # Store.read: unchanged documents are not parsed
        self._snapshot_cache: tuple[Stamp, dict[str, Mapping[str, Any]], dict[str, Any]] | None = (
            None
        )

    @classmethod
    def open(cls, home: str | None = None) -> Workspace:
        return cls(DataDir.open(home))

    @cached_property
    def runs(self) -> Journal:
        """The export journal: run history, watermarks, delivered bookings. Run files of
        older versions (`runs/*.json`) are moved into it on first use."""
        from engine.journal_migrate import migrate_legacy_runs

        journal = Journal(self.data_dir.journal_path, self.data_dir.locks_dir)
        migrate_legacy_runs(self.data_dir.runs_dir, journal)
        return journal

    @cached_property
    def cipher(self) -> Cipher:
        """The key for stored passwords. A missing `secret.key` is only created while no
        encrypted value is stored; otherwise KeyMissing says which file to restore."""
        return Cipher.for_key_file(self.data_dir.key_path, may_create=self._nothing_encrypted)

    def _nothing_encrypted(self) -> bool:
        try:
            return f'"{PREFIX}'.encode() not in self.store.path.read_bytes()
        except FileNotFoundError:
            return True

    # The cipher is looked up when a secret is used, not when a config or setting is read:
    # `config list`, `runs`, `schedule` work without the key (item: a deleted secret.key).

    def _decrypt_stored(self, token: str) -> str:
        return self.cipher.decrypt(token)

    def _encrypt(self, text: str) -> str:
        return self.cipher.encrypt(text)

    def _decrypt_input(self, token: str) -> str:
        """An `enc:` value in a config file or form: it must be one this data directory
        encrypted; anything else is invalid input naming the field, not an internal error."""
        try:
            return self.cipher.decrypt(token)
        except KeyMissing:
            raise
        except CipherError:
            raise Invalid(
                "beginnt mit „enc:“ wie ein verschlüsselter Wert, lässt sich mit dem Schlüssel "
                "dieses Datenverzeichnisses aber nicht entschlüsseln; das Passwort im Klartext "
                "angeben (oder null: gespeichertes Passwort behalten)"
            ) from None

    def reset_key(self) -> tuple[int, str | None]:
        """For a lost `secret.key` without a backup: forget the stored FTP/SFTP and SMTP
        passwords and start a new key. An existing key file is kept beside as
        `secret.key.alt-<time>`. Returns (passwords forgotten, the old key's new name).
        Audited; the admin enters the passwords again afterwards.

        The database URL is not dropped: without it buchex would read the embedded
        ledger.sqlite instead of the chain's database. It stays unreadable (every run fails
        saying so) until it is entered again."""
        forgotten = 0
        with self.store.transaction() as db:
            configs = db.table(CONFIGS)
            for doc in configs.all():
                target = dict(doc.get("target") or {})
                if target.get("password"):
                    forgotten += 1
                    target["password"] = None
                    configs.update({"target": target}, doc_ids=[doc.doc_id])
            settings = db.table(SETTINGS)
            chain: dict[str, Any] = dict(settings.get(doc_id=1) or {})
            for section, key in (("smtp", "password"),):
                values = dict(chain.get(section) or {})
                if values.get(key):
                    forgotten += 1
                    values[key] = None
                    chain[section] = values
            if settings.get(doc_id=1) is not None:
                settings.update(_replace_doc(chain), doc_ids=[1])
            # Still inside the store's lock: no other process writes a token meanwhile.
            kept: str | None = None
            key_path = self.data_dir.key_path
            if key_path.exists():
                stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
                kept = f"{key_path.name}.alt-{stamp}"
                key_path.rename(key_path.with_name(kept))
        self.__dict__.pop("cipher", None)
        Cipher.for_key_file(key_path)  # a new key, now that nothing refers to the old one
        self.audit.record("secret.reset_key", detail=f"{forgotten} Passwörter verworfen")
        return forgotten, kept

    # --- ledger --------------------------------------------------------------------------

    def ledger(self) -> Ledger:
        from engine.ledger import Ledger

        url = self.chain_settings().ledger_url
        return Ledger.open(self.data_dir, url.reveal() if url else None)

    def catalog(self) -> Catalog:
        ledger = self.ledger()
        try:
            return ledger.catalog()
        finally:
            ledger.close()

    # --- configs -------------------------------------------------------------------------

    def _load_config(self, doc: Mapping[str, Any]) -> ExportConfig:
        fields = {k: v for k, v in doc.items() if k not in _STORE_ONLY}
        return parse_config(
            fields, catalog=None, decrypt=self._decrypt_stored, lazy_secrets=True, stored=True
        )

    def _configs(self) -> dict[str, ExportConfig]:
        """Every stored config by id, parsed once per store version: the list reloads on
        every change, and parsing 1000 configs takes a while. ExportConfig is frozen, so
        the parsed objects are shared safely."""
        stamp = self.store.stamp()
        cached = self._configs_cache
        if cached is not None and stamp is not None and cached[0] == stamp:
            return cached[1]
        docs, _settings = self._snapshot(stamp)
        parsed: dict[str, tuple[Mapping[str, Any], ExportConfig]] = {}
        known = self._parsed
        for doc_id, doc in docs.items():
            hit = known.get(doc_id)
            if hit is None or (hit[0] is not doc and hit[0] != doc):
                hit = (doc, self._load_config(doc))
            parsed[doc_id] = hit
        self._parsed = parsed
        configs = [cfg for _doc, cfg in parsed.values()]
        configs.sort(key=lambda c: ((c.name or "").casefold(), c.id))
        by_id = {c.id: c for c in configs}
        if stamp is not None:
            self._configs_cache = (stamp, by_id)
        return by_id

    def _snapshot(self, stamp: Stamp | None) -> tuple[dict[str, Mapping[str, Any]], dict[str, Any]]:
        """The config docs (by stored doc id) and the settings doc of one read of the
        store, kept per store version: a reload after an edit asks for both (time zone,
        configs). Read-only, so the parsed JSON is used as it is (no TinyDB documents), and
        a document unchanged since the last read is the same object (`Store.read`)."""
        cached = self._snapshot_cache
        if cached is not None and stamp is not None and cached[0] == stamp:
            return cached[1], cached[2]
        data = self.store.read(self._doc_cache)
        docs: dict[str, Mapping[str, Any]] = data.get(CONFIGS, {})
        doc = data.get(SETTINGS, {}).get("1")
        settings = dict(doc) if doc else {}
        if stamp is not None:
            self._snapshot_cache = (stamp, docs, settings)
        return docs, settings

    def list_configs(self) -> list[ExportConfig]:
        return list(self._configs().values())

    def get_config(self, cfg_id: str) -> ExportConfig:
        cached = self._configs_cache
        if cached is not None and cached[0] == self.store.stamp():
            cfg = cached[1].get(cfg_id)
        else:  # parse just this one (one broken config does not hide the others)
            with self.store.snapshot() as db:
                doc = db.table(CONFIGS).get(Query().id == cfg_id)
            cfg = None if doc is None else self._load_config(doc)
        if cfg is None:
            raise NotFound(f"Schnittstelle „{cfg_id}“ gibt es nicht")
        return cfg

    def validate_configs(
        self, raws: Sequence[Mapping[str, Any]], catalog: Catalog | None = None
    ) -> list[ExportConfig]:
        """Validate config files without saving, as an import would (strict: a value for a
        field that does not apply is refused); raises ValidationError naming each problem."""
        catalog = catalog if catalog is not None else self.catalog()
        with self.store.snapshot() as db:
            existing = {d["id"]: d for d in db.table(CONFIGS).all()}
        return self._parse_all(raws, catalog, existing, strict=True)

    def _parse_all(
        self,
        raws: Sequence[Mapping[str, Any]],
        catalog: Catalog,
        existing: Mapping[str, Mapping[str, Any]],
        *,
        strict: bool = False,
    ) -> list[ExportConfig]:
        parsed: list[ExportConfig] = []
        problems: list[Problem] = []
        seen_ids: set[str] = set()
        for n, raw in enumerate(raws, start=1):
            prefix = f"Schnittstelle {n}: " if len(raws) > 1 else ""
            try:
                cfg_id = _check_id(raw)
                if cfg_id and cfg_id in seen_ids:
                    raise ValidationError([Problem("id", "ID", f"„{cfg_id}“ doppelt in der Datei")])
                seen_ids.add(cfg_id)
                prev = self._load_config(existing[cfg_id]) if cfg_id in existing else None
                parsed.append(
                    parse_config(
                        raw,
                        catalog=catalog,
                        previous=prev,
                        decrypt=self._decrypt_input,
                        strict=strict,
                    )
                )
            except ValidationError as exc:
                problems.extend(Problem(p.path, prefix + p.label, p.message) for p in exc.problems)
        if problems:
            raise ValidationError(problems)
        return parsed

    def save_configs(
        self,
        raws: Sequence[Mapping[str, Any]],
        *,
        action: str = "config.save",
        catalog: Catalog | None = None,
    ) -> list[ExportConfig]:
        """Create or replace configs, all or nothing (an existing `id` is replaced).

        A form's save drops values of fields that do not apply; an import
        (`action="config.import"`, a config file) refuses them (`parse_config(strict=True)`)."""
        catalog = catalog if catalog is not None else self.catalog()
        audit: list[tuple[str, list[str]]] = []
        with self.store.transaction() as db:
            table = db.table(CONFIGS)
            existing: dict[str, dict[str, Any]] = {d["id"]: dict(d) for d in table.all()}
            configs = self._parse_all(raws, catalog, existing, strict=action == IMPORT)
            saved: list[ExportConfig] = []
            now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
            for cfg in configs:
                old = self._load_config(existing[cfg.id]) if cfg.id in existing else None
                if not cfg.id:
                    cfg = with_id(cfg, _new_id(existing))
                doc = config_to_json(cfg, secrets="encrypt", encrypt=self._encrypt)
                doc["updated_at"] = now
                doc["created_at"] = existing.get(cfg.id, {}).get("created_at", now)
                if old is None:
                    table.insert(doc)
                else:
                    table.update(_replace_doc(doc), Query().id == cfg.id)
                existing[cfg.id] = doc
                audit.append(("config.create" if old is None else action, changed_fields(old, cfg)))
                saved.append(cfg)
        for cfg, (act, fields) in zip(saved, audit, strict=True):
            if fields:
                self.audit.record(act, config_id=cfg.id, fields=fields)
        return saved

    def save_config(self, raw: Mapping[str, Any], catalog: Catalog | None = None) -> ExportConfig:
        return self.save_configs([raw], catalog=catalog)[0]

    def delete_config(self, cfg_id: str) -> None:
        with self.store.transaction() as db:
            removed = db.table(CONFIGS).remove(Query().id == cfg_id)
        if not removed:
            raise NotFound(f"Schnittstelle „{cfg_id}“ gibt es nicht")
        self.audit.record("config.delete", config_id=cfg_id)

    # --- settings ------------------------------------------------------------------------

    def _settings_doc(self) -> dict[str, Any]:
        # Every run asks for the settings; with 1000 configs in the file a fresh parse each
        # time dominated a run. The cache is valid as long as the file is unchanged.
        stamp = self.store.stamp()
        cached = self._settings_cache
        if cached is not None and cached[0] == stamp:
            return dict(cached[1])
        _docs, result = self._snapshot(stamp)
        self._settings_cache = (stamp, result)
        return dict(result)

    def smtp_settings(self) -> SmtpSettings | None:
        raw = self._settings_doc().get("smtp")
        if not raw:
            return None
        values, _ = parse_values(SMTP_FIELDS, raw, None, self._decrypt_stored, lazy_secrets=True)
        result: SmtpSettings = build_flat(SmtpSettings, values)
        return result

    def time_zone(self) -> ZoneInfo:
        """The configured zone (system zone if none), cached like the settings: the list
        asks once per config on every reload, and the system zone means reading files."""
        stamp = self.store.stamp()
        cached = self._tz_cache
        if cached is not None and cached[0] == stamp:
            return cached[1]
        tz = resolve_tz(self.chain_settings().timezone)
        self._tz_cache = (stamp, tz)
        return tz

    def chain_settings(self) -> ChainSettings:
        raw = self._settings_doc().get("chain", {})
        values, _ = parse_values(CHAIN_FIELDS, raw, None, self._decrypt_stored, lazy_secrets=True)
        result: ChainSettings = build_flat(ChainSettings, values)
        return result

    def save_smtp_settings(self, raw: Mapping[str, Any]) -> SmtpSettings:
        saved: SmtpSettings = self._save_section("smtp", SmtpSettings, SMTP_FIELDS, raw)
        return saved

    def save_chain_settings(self, raw: Mapping[str, Any]) -> ChainSettings:
        saved: ChainSettings = self._save_section("chain", ChainSettings, CHAIN_FIELDS, raw)
        return saved

    def _save_section(
        self, key: str, model: type[Any], specs: Sequence[FieldSpec], raw: Mapping[str, Any]
    ) -> Any:
        with self.store.transaction() as db:
            table = db.table(SETTINGS)
            doc = dict(table.get(doc_id=1) or {})
            old = None
            if doc.get(key):
                old_values, _ = parse_values(
                    specs, doc[key], None, self._decrypt_stored, lazy_secrets=True
                )
                old = build_flat(model, old_values)
            problems = unknown_keys(specs, raw, owner=_SECTION_LABELS.get(key, key))
            values, found = parse_values(specs, raw, old, self._decrypt_input)
            problems.extend(found)
            if problems:
                raise ValidationError(problems)
            new = build_flat(model, values)
            doc[key] = model_to_json(new, specs, secrets="encrypt", encrypt=self._encrypt)
            if table.get(doc_id=1) is None:
                table.insert(doc)
            else:
                table.update(_replace_doc(doc), doc_ids=[1])
        fields = changed_paths(specs, old, new)
        if fields:
            self.audit.record(f"settings.{key}", fields=fields)
        return new

    # --- users ---------------------------------------------------------------------------

    def list_users(self) -> list[User]:
        with self.store.snapshot() as db:
            docs = db.table(USERS).all()
        users = [User(d["name"], bool(d["admin"]), d["password_hash"]) for d in docs]
        return sorted(users, key=lambda u: u.name)

    def get_user(self, name: str) -> User | None:
        return next((u for u in self.list_users() if u.name == name), None)

    def add_user(self, name: str, password: str, *, admin: bool = False) -> User:
        _user_checks(name, password)
        user = User(name, admin, hash_password(password))
        with self.store.transaction() as db:
            table = db.table(USERS)
            if table.contains(Query().name == name):
                raise ValidationError([Problem("name", "Benutzer", f"„{name}“ gibt es schon")])
            table.insert({"name": name, "admin": admin, "password_hash": user.password_hash})
        self.audit.record("user.add", detail=f"{name}{' (Administrator)' if admin else ''}")
        return user

    def set_password(self, name: str, password: str) -> None:
        _user_checks(name, password)
        digest = hash_password(password)
        with self.store.transaction() as db:
            if not db.table(USERS).update({"password_hash": digest}, Query().name == name):
                raise NotFound(f"Benutzer „{name}“ gibt es nicht")
        self.audit.record("user.passwd", detail=name)

    def check_user_password(self, name: str, password: str) -> bool:
        user = self.get_user(name)
        return user is not None and verify_password(password, user.password_hash)


def _user_checks(name: str, password: str) -> None:
    problems = []
    for label, check, value in (
        ("Benutzer", check_name, name),
        ("Passwort", check_password, password),
    ):
        try:
            check(value)
        except Invalid as exc:
            problems.append(Problem(label.lower(), label, str(exc)))
    if problems:
        raise ValidationError(problems)


def _check_id(raw: Mapping[str, Any]) -> str:
    cfg_id = raw.get("id") if isinstance(raw, Mapping) else None
    if cfg_id in (None, ""):
        return ""
    if not isinstance(cfg_id, str) or not _ID.fullmatch(cfg_id):
        raise ValidationError(
            [Problem("id", "ID", "Buchstaben, Ziffern, _ und -, höchstens 64 Zeichen")]
        )
    return cfg_id


def _new_id(existing: Mapping[str, Any]) -> str:
    while True:
        cfg_id = secrets.token_hex(4)
        if cfg_id not in existing:
            return cfg_id


def _replace_doc(new: Mapping[str, Any]) -> Callable[[MutableMapping[Any, Any]], None]:
    """TinyDB update that replaces the whole document (update() alone merges keys)."""

    def transform(doc: MutableMapping[Any, Any]) -> None:
        doc.clear()
        doc.update(new)

    return transform
