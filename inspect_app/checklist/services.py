"""Checklists for inspections: the current catalogue, and pinning the version an inspection used."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from ..audit.services import record_event
from ..extensions import db
from ..util import now_utc
from .catalogue import Checklist, ChecklistCatalogue, ViolationType, content_version, violation_types_from_content
from .models import ChecklistVersion, ViolationCatalogueVersion


class UnknownChecklist(LookupError):
    """No checklist (or no pinned version of it) has this code."""


class PinnedContentChanged(RuntimeError):
    """A pinned row's content no longer hashes to its version: the row was edited in the database."""


def current_catalogue() -> ChecklistCatalogue:
    """The checklists loaded at start-up."""
    return current_app.extensions["inspect_checklists"]


def current_checklist(code: str) -> Checklist:
    checklist = current_catalogue().checklists.get(code)
    if checklist is None:
        raise UnknownChecklist(code)
    return checklist


def pin_checklist(code: str) -> ChecklistVersion:
    """The pinned row of the checklist's current version, created on first use (idempotent, race-free).

    Flushes, never commits. Concurrent first pins of one version insert once: the unique (code, version)
    constraint decides and the loser reads the winner's row.
    """
    checklist = current_checklist(code)
    row = _pinned_row(code, checklist.version)
    if row is not None:
        return row
    values = {"code": code, "version": checklist.version, "content": checklist.content,
              "item_count": len(checklist.items), "created_dt": now_utc()}
    result = _insert_once(ChecklistVersion.__table__, values, ["code", "version"])
    row = _pinned_row(code, checklist.version)
    if result.rowcount:
        record_event(db.session, "create", ChecklistVersion.__tablename__, row.id,
                     after={"code": code, "version": checklist.version, "item_count": row.item_count})
    return row


def _insert_once(table, values: dict, unique: list[str]):
    """INSERT ... ON CONFLICT DO NOTHING on the unique columns (the first of concurrent pins wins)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return db.session.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=unique))


def _pinned_row(code: str, version: str) -> ChecklistVersion | None:
    stmt = sa.select(ChecklistVersion).where(ChecklistVersion.code == code, ChecklistVersion.version == version)
    return db.session.scalar(stmt)


def load_pinned(code: str, version: str) -> Checklist:
    """A pinned version exactly as it was pinned; raises UnknownChecklist, or PinnedContentChanged
    when the stored content no longer matches its hash."""
    row = _pinned_row(code, version)
    if row is None:
        raise UnknownChecklist(f"{code}@{version}")
    if content_version(row.content) != row.version:
        raise PinnedContentChanged(f"{code}@{version}: the stored content does not match its version")
    return Checklist.from_content(row.content, source=f"checklist_versions/{row.id}")


def checklist_at(code: str, version: str | None = None) -> Checklist:
    """The current checklist, or the given version of it (current or pinned)."""
    if version is None:
        return current_checklist(code)
    checklist = current_catalogue().checklists.get(code)
    if checklist is not None and checklist.version == version:
        return checklist
    return load_pinned(code, version)


def pinned_versions(code: str) -> list[ChecklistVersion]:
    return list(db.session.scalars(sa.select(ChecklistVersion).where(ChecklistVersion.code == code)
                                   .order_by(ChecklistVersion.created_dt)))


# --------------------------------------------------------------------------------------------
# The violation catalogue an inspection pinned

_pinned_catalogues: dict[str, dict[str, ViolationType]] = {}


def pin_violation_catalogue() -> ViolationCatalogueVersion:
    """The pinned row of the current violation catalogue, created on first use (idempotent, race-free,
    audited like a checklist pin). Flushes, never commits."""
    catalogue = current_catalogue()
    version = catalogue.violation_version
    row = _pinned_catalogue_row(version)
    if row is not None:
        return row
    values = {"version": version, "content": catalogue.violation_content,
              "entry_count": len(catalogue.violation_types), "created_dt": now_utc()}
    result = _insert_once(ViolationCatalogueVersion.__table__, values, ["version"])
    row = _pinned_catalogue_row(version)
    if result.rowcount:
        record_event(db.session, "create", ViolationCatalogueVersion.__tablename__, row.id,
                     after={"version": version, "entry_count": row.entry_count})
    return row


def _pinned_catalogue_row(version: str) -> ViolationCatalogueVersion | None:
    return db.session.scalar(sa.select(ViolationCatalogueVersion).where(ViolationCatalogueVersion.version == version))


def pinned_violation_types(version: str) -> dict[str, ViolationType]:
    """The violation catalogue of a pinned version, by code (read once per process, its content checked
    against its hash); raises UnknownChecklist or PinnedContentChanged."""
    current = current_catalogue()
    if current.violation_version == version:
        return current.violation_types
    if version not in _pinned_catalogues:
        row = _pinned_catalogue_row(version)
        if row is None:
            raise UnknownChecklist(f"violation catalogue @{version}")
        if content_version(row.content) != row.version:
            raise PinnedContentChanged(f"violation catalogue @{version}: the stored content does not match its version")
        _pinned_catalogues[version] = violation_types_from_content(row.content)
    return _pinned_catalogues[version]
