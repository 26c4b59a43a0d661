"""Import of entities from CSV and XLSX files (issue 3 item 9; design.md 4.2).

1. Reading (:func:`read_table`): the upload is identified by its content, never by its name. An
   XLSX is a zip holding ``xl/workbook.xml``; anything else must be text in UTF-8 (with or
   without BOM) or else GB18030 (a superset of GBK: what Chinese Excel writes). PDFs, images,
   archives and old .xls files are refused (415); so are files over ``IMPORT_MAX_BYTES`` or
   ``IMPORT_MAX_ROWS`` (413). XLSX formulas are never evaluated: a cached value is read when the
   file has one, otherwise the cell is an error.
2. Headers (:func:`columns`): the template's Chinese headers or the API field names, in any
   order. Export-only columns (系统编号, 当前状态 ...) are ignored, so an export imports again.
3. Checking (:func:`check_table`): every row through the registry's own rules --
   ``clean_entity_data``, the status rule of ``register_entity``, ``clean_licence_data`` and the
   entry gate's blocking rules -- plus the user's county scope and duplicate credit codes and
   licence numbers, within the file and against the database.
4. All or nothing (:func:`import_entities`): one error and nothing is created; every error is
   reported as ``{"row", "field", "column", "message"}`` (``row`` is the row number the
   spreadsheet shows, the header usually being row 1; ``field`` the API field name; ``column``
   the header as written in the file). Otherwise every row is created in the caller's transaction
   with bulk inserts (entities, their first status change, their licences) and one audit event
   per entity (bulk inserts bypass the ORM's flush listener, so the events are recorded here).

Statuses: a row is a pending application, unless its 状态 (status) column says 无照经营
(unlicensed): an operator found without a licence, whose credit code may be empty. Other
statuses are reached through the lifecycle, never by import.

Large files from the desk run in a background thread (:func:`start_job`) that reports its
progress in ``import_jobs`` on its own connection, so that any worker can answer the page's
polling on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import threading
import time
import unicodedata
import zipfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.services import record_event, record_events, set_actor
from ..bulk import allocate_ids, bulk_insert
from ..extensions import db
from ..sqlite import reading
from ..util import UTCDateTime, now_utc, paused_gc
from .models import ENTITY_STATUSES, BlacklistEntry, Entity, Licence, SensitiveSite, StatusChange
from .services import (ADDRESS_MAX, NAME_MAX, STATUS_LABELS, clean_entity_data, clean_licence_data, locale_code,
                       reference, refresh_risk)

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_ROWS = 100_000
DEFAULT_MAX_ERRORS = 20_000  # beyond this the file is the wrong file; the count stays exact
MAX_UNPACKED_BYTES = 512 * 1024 * 1024  # an XLSX's parts once unzipped (zip bombs)
LOOKUP_CHUNK = 500  # values per IN (...) when checking against the database
PROGRESS_EVERY = 500  # rows between progress reports
# A spreadsheet runs a cell starting with one of these as a formula; exports escape it with an
# apostrophe, which the import removes again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = frozenset(FORMULA_START)
EXAMPLE_NAME = "示例：朔州市某某人力资源服务有限公司（导入前请删除本行）"


class ImportFileError(Exception):
    """The upload as a whole cannot be imported; ``status`` is the HTTP status (413, 415, 422)."""

    def __init__(self, status: int, message: Any, code: str | None = None):
        super().__init__(str(message))
        self.status = status
        self.message = str(message)
        self.code = code


# --- progress of a background import ---------------------------------------------------------

JOB_STATUSES = ("queued", "reading", "checking", "creating", "done", "rejected", "failed")
JOB_FINAL = ("done", "rejected", "failed")
JOB_STALE_AFTER = timedelta(minutes=10)


class ImportJob(db.Model):
    """One upload from the desk, imported in the background; the page polls its progress.

    Written on its own connection (see :func:`update_job`) while the import runs, so that every
    worker sees the progress at once; the final ``done`` is written in the import's own
    transaction, so that it is true exactly when the entities exist.
    """

    __tablename__ = "import_jobs"
    __audit__ = False  # bookkeeping: the import itself is audited, one event per entity

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    file_size: Mapped[int]
    file_format: Mapped[str | None] = mapped_column(sa.String(10))
    locale: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    rows_total: Mapped[int] = mapped_column(default=0, server_default="0")
    rows_checked: Mapped[int] = mapped_column(default=0, server_default="0")
    rows_created: Mapped[int] = mapped_column(default=0, server_default="0")
    error_count: Mapped[int] = mapped_column(default=0, server_default="0")
    errors: Mapped[list] = mapped_column(sa.JSON, default=list)
    message: Mapped[str | None] = mapped_column(sa.String(1000))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    finished_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_finished(self) -> bool:
        return self.status in JOB_FINAL

    def is_stale(self, now: datetime | None = None) -> bool:
        """Unfinished and silent for a long time: the worker that ran it has gone (nothing was
        created: the import commits all at once or not at all)."""
        return not self.is_finished and (now or now_utc()) - self.updated_dt > JOB_STALE_AFTER

    def can_view(self, user) -> bool:
        return user.id == self.user_id or "admin" in user.roles


# --- columns ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """One column of the template: its API field name, its Chinese header, and its explanation."""

    key: str
    header: str
    help: Any = ""
    example: Any = ""
    required: Any = ""
    export_only: bool = False
    aliases: tuple[str, ...] = ()
    text: bool = False  # formatted as text in the template (codes and numbers with leading zeros)


BASE_HEADERS = {
    "kind": "类别", "subtype": "子类", "name": "名称", "credit_code": "统一社会信用代码", "status": "状态",
    "legal_representative": "法定代表人", "legal_rep_id_number": "法定代表人身份证号", "phone": "联系电话",
    "address": "地址", "region_code": "所属区县", "lat": "纬度", "lon": "经度", "crs": "坐标系",
}
EXPORT_ONLY_HEADERS = {
    "id": "系统编号", "current_status": "当前状态", "legal_rep_id_masked": "法定代表人身份证号（已隐去）",
    "risk_score": "风险分",
}
REQUIRED_COLUMNS = ("kind", "name", "credit_code", "address", "region_code")
LICENCE_PARTS = {"number": "编号", "issued_on": "发证日期", "expires_on": "有效期至"}
UNLICENSED_WORD = "无照经营"  # what the template and the export write in the status column
PENDING_WORDS = ("pending", "待审核")
UNLICENSED_WORDS = ("unlicensed", UNLICENSED_WORD, "无证经营", "无证无照经营")


def _name(obj: dict | Any, english: bool) -> str:
    if isinstance(obj, dict):
        return obj["name_en"] if english else obj["name_zh"]
    return obj.name_en if english else obj.name_zh


def columns(ref=None, *, with_export_only: bool = False) -> list[Column]:
    """Every column the import reads, in template order (kinds' own fields and licences from the YAML)."""
    ref = ref or reference()
    english = locale_code().startswith("en")
    kinds = list(ref.kinds.values())
    sep = ", " if english else "、"
    kind_choices = sep.join(f"{_name(k, english)} ({k.code})" for k in kinds)
    subtype_choices = "; ".join(f"{_name(k, english)}: " + sep.join(_name(s, english) for s in k.subtypes)
                                for k in kinds if k.subtypes)
    county_choices = sep.join(f"{_name(r, english)} ({r.code})" for r in ref.counties)
    cols = [
        Column("kind", BASE_HEADERS["kind"], _l("Kind of business, by name or code: %(choices)s.",
                                                choices=kind_choices), "职业中介机构", _l("Required")),
        Column("subtype", BASE_HEADERS["subtype"], _l("Sub-type, by name or code: %(choices)s.",
                                                      choices=subtype_choices or "—"), "职业中介"),
        Column("name", BASE_HEADERS["name"], _l("Name as on the business licence (at most %(n)d characters).",
                                                n=NAME_MAX), EXAMPLE_NAME, _l("Required")),
        Column("credit_code", BASE_HEADERS["credit_code"],
               _l("Unified social credit code, 18 characters (spaces, dashes and full-width characters are "
                  "accepted). Leave it empty only for an operator found without a licence."),
               "", _l("Required, except for unlicensed operators"), text=True),
        Column("status", BASE_HEADERS["status"],
               _l("Leave empty for an application: it is registered as pending. Write %(word)s (or unlicensed) "
                  "for an operator found without a licence.", word=UNLICENSED_WORD), ""),
        Column("legal_representative", BASE_HEADERS["legal_representative"],
               _l("Name of the legal representative."), "张三"),
        Column("legal_rep_id_number", BASE_HEADERS["legal_rep_id_number"],
               _l("Identity card number of the legal representative: checked against the blacklists, then kept "
                  "only masked and as a keyed hash. Never exported."), "", text=True),
        Column("phone", BASE_HEADERS["phone"], _l("Contact telephone."), "0349-1234567", text=True),
        Column("address", BASE_HEADERS["address"], _l("Business address (at most %(n)d characters).",
                                                      n=ADDRESS_MAX), "朔城区民福东街12号", _l("Required")),
        Column("region_code", BASE_HEADERS["region_code"],
               _l("County-level region, by name or code: %(choices)s. A county desk imports rows of its own "
                  "county only.", choices=county_choices), "朔城区", _l("Required"), text=True),
        Column("lat", BASE_HEADERS["lat"], _l("Latitude in decimal degrees (optional)."), "39.331"),
        Column("lon", BASE_HEADERS["lon"], _l("Longitude in decimal degrees (optional)."), "112.432"),
        Column("crs", BASE_HEADERS["crs"],
               _l("Coordinate system of the latitude and longitude: wgs84 (GPS, the default), gcj02 (AMap, "
                  "Tencent) or bd09 (Baidu). Stored as WGS-84."), "wgs84"),
    ]
    cols += _attribute_columns(kinds, english, sep)
    cols += _licence_columns(kinds, ref, english, sep)
    if with_export_only:
        note = _l("Export only: ignored by the import.")
        cols += [
            Column("id", EXPORT_ONLY_HEADERS["id"], _l("%(note)s The entity's number in the system.", note=note),
                   export_only=True),
            Column("current_status", EXPORT_ONLY_HEADERS["current_status"],
                   _l("%(note)s The status at the time of the export.", note=note), export_only=True),
            Column("legal_rep_id_masked", EXPORT_ONLY_HEADERS["legal_rep_id_masked"],
                   _l("%(note)s The identity card number, masked.", note=note), export_only=True, text=True),
            Column("risk_score", EXPORT_ONLY_HEADERS["risk_score"],
                   _l("%(note)s The risk score at the time of the export.", note=note), export_only=True),
        ]
    return cols


FIELD_FORMATS = {
    "string": _l("text"), "text": _l("text"), "integer": _l("whole number"), "number": _l("number"),
    "boolean": _l("是 or 否"), "date": _l("date, YYYY-MM-DD"),
}


def _attribute_columns(kinds, english: bool, sep: str) -> list[Column]:
    by_code: dict[str, list] = {}
    for kind in kinds:
        for f in kind.fields:
            by_code.setdefault(f.code, []).append((kind, f))
    labels: dict[str, set[str]] = {}
    for code, pairs in by_code.items():
        for _kind, f in pairs:
            labels.setdefault(_norm_header(f.label_zh), set()).add(code)
    cols = []
    for code, pairs in by_code.items():
        kind, first = pairs[0]
        header = first.label_zh
        if len(labels[_norm_header(header)]) > 1:  # two kinds use one label for different fields
            header = f"attributes.{code}"
        if first.type == "choice":
            fmt = _l("one of: %(values)s", values=sep.join(c["value"] for c in first.choices))
        else:
            fmt = FIELD_FORMATS.get(first.type, first.type)
        kind_names = sep.join(_name(k, english) for k, _f in pairs)
        required = [_name(k, english) for k, f in pairs if f.required]
        aliases = tuple({f.label_zh for _k, f in pairs if len(labels[_norm_header(f.label_zh)]) == 1}
                        | {f.label_en for _k, f in pairs})
        cols.append(Column(f"attributes.{code}", header,
                           _l("%(kinds)s: %(label)s (%(format)s).", kinds=kind_names,
                              label=first.label_en if english else first.label_zh, format=fmt),
                           _ATTRIBUTE_EXAMPLES.get(code, ""),
                           _l("Required for %(kinds)s", kinds=sep.join(required)) if required else "",
                           aliases=aliases))
    return cols


_ATTRIBUTE_EXAMPLES = {"staff_count": "6", "service_items": "职业介绍、招聘信息发布"}
_LICENCE_EXAMPLES = {
    "business_licence": ("140602000000001", "2024-01-05", ""),
    "hr_service_licence": ("晋人服证字〔2024〕第0001号", "2024-03-01", "2029-02-28"),
}


def _licence_columns(kinds, ref, english: bool, sep: str) -> list[Column]:
    specs: dict[str, dict] = {}
    holders: dict[str, list] = {}
    for kind in kinds:
        for spec in kind.licences:
            specs.setdefault(spec["type"], spec)
            holders.setdefault(spec["type"], []).append(_name(kind, english))
    cols = []
    for licence_type, spec in specs.items():
        department = ref.departments.get(spec["department"])
        name = _name(spec, english)
        examples = _LICENCE_EXAMPLES.get(licence_type, ("", "", ""))
        for (part, suffix), example in zip(LICENCE_PARTS.items(), examples):
            if part == "number":
                help_ = _l("%(licence)s (%(kinds)s; issued by %(department)s): number. Fill in the columns of each "
                           "licence the entity holds and leave the others empty.", licence=name,
                           kinds=sep.join(holders[licence_type]),
                           department=_name(department, english) if department else spec["department"])
            elif part == "issued_on":
                help_ = _l("%(licence)s: date of issue (YYYY-MM-DD).", licence=name)
            else:
                help_ = _l("%(licence)s: valid until (YYYY-MM-DD; empty when it does not expire).", licence=name)
            cols.append(Column(f"licences.{licence_type}.{part}", spec["name_zh"] + suffix, help_, example,
                               text=part == "number"))
    return cols


def template_example(cols: Iterable[Column]) -> list[str]:
    """The example row of the template (a job agency with a valid credit code and two licences)."""
    from .codes import make_credit_code
    values = {"credit_code": make_credit_code("140602", 1)}
    return [str(values.get(c.key, c.example)) for c in cols]


def _norm_header(text: Any) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).replace("\ufeff", "")
    return "".join(text.split()).replace("*", "").casefold()


def _norm_value(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


@dataclass
class Layout:
    """How the file's columns map onto fields."""

    headers: list[str]
    keys: list[str | None]  # per column: field key; "" for ignored (export-only) columns; None: no header
    header_of: dict[str, str]
    errors: list[dict] = field(default_factory=list)

    def column_for(self, key: str, fallback: dict[str, str]) -> str:
        return self.header_of.get(key) or fallback.get(key, key)


def map_headers(headers: list[Any], cols: list[Column], header_row: int = 1) -> Layout:
    """Match the header row against the template's headers and the API field names."""
    lookup: dict[str, Column] = {}
    for col in cols:
        for name in (col.key, col.header, *col.aliases):
            lookup.setdefault(_norm_header(name), col)
    texts = [str(h).strip() if h is not None else "" for h in headers]
    layout = Layout(headers=texts, keys=[], header_of={})
    for text in texts:
        if not text:
            layout.keys.append(None)
            continue
        col = lookup.get(_norm_header(text))
        if col is None:
            layout.keys.append(None)
            layout.errors.append({"row": header_row, "field": text, "column": text, "message": str(
                _l("Unknown column. Use the template's headers or the API field names."))})
        elif col.key in layout.header_of:
            layout.keys.append(None)
            layout.errors.append({"row": header_row, "field": col.key, "column": text, "message": str(
                _l("This column appears twice (also as “%(other)s”).", other=layout.header_of[col.key]))})
        else:
            layout.keys.append("" if col.export_only else col.key)
            layout.header_of[col.key] = text
    template_headers = {c.key: c.header for c in cols}
    for key in REQUIRED_COLUMNS:
        if key not in layout.header_of:
            layout.errors.append({"row": header_row, "field": key, "column": template_headers[key], "message": str(
                _l("Required column missing: %(header)s (or %(key)s).", header=template_headers[key], key=key))})
    return layout


# --- reading ---------------------------------------------------------------------------------

class _Formula:
    """A formula cell without a cached value."""

    def __repr__(self) -> str:
        return "FORMULA"


FORMULA = _Formula()

_MAGIC = (
    (b"%PDF", _l("a PDF document")), (b"\x89PNG", _l("a PNG image")), (b"\xff\xd8\xff", _l("a JPEG image")),
    (b"GIF87a", _l("a GIF image")), (b"GIF89a", _l("a GIF image")), (b"II*\x00", _l("a TIFF image")),
    (b"MM\x00*", _l("a TIFF image")), (b"\xd0\xcf\x11\xe0", _l("an old Excel (.xls) or Word file")),
    (b"Rar!", _l("a RAR archive")), (b"\x1f\x8b", _l("a gzip archive")), (b"7z\xbc\xaf", _l("a 7-Zip archive")),
    (b"{\\rtf", _l("an RTF document")),
)


@dataclass
class Table:
    """The rows of an upload: ``rows`` are ``(spreadsheet row number, cells)``, header excluded.

    Row numbers are the spreadsheet's own (what Excel shows at the left), blank rows included.
    """

    file_format: str
    encoding: str | None
    headers: list[Any]
    rows: list[tuple[int, list[Any]]]
    header_row: int = 1


def limits() -> tuple[int, int, int]:
    config = current_app.config
    return (int(config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)),
            int(config.get("IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)),
            int(config.get("IMPORT_MAX_ERRORS", DEFAULT_MAX_ERRORS)))


def size_text(size: int) -> str:
    """20 MB, 512 KB."""
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{max(size // 1024, 1)} KB"


def _too_large(max_bytes: int) -> ImportFileError:
    return ImportFileError(413, _l("The file is larger than %(size)s: split it into several files.",
                                   size=size_text(max_bytes)), "file_too_large")


def read_upload(stream) -> bytes:
    """The uploaded bytes, refused (413) beyond ``IMPORT_MAX_BYTES`` without reading further."""
    max_bytes = limits()[0]
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def sniff(data: bytes) -> tuple[str, str | None]:
    """``("xlsx", None)`` or ``("csv", encoding)`` judged by content; ImportFileError otherwise."""
    if len(data) > limits()[0]:
        raise _too_large(limits()[0])
    if not data.strip():
        raise ImportFileError(422, _l("The file is empty."), "empty_file")
    head = data[:16]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise ImportFileError(415, _l("This file is %(what)s, not a table: upload an XLSX workbook or a CSV "
                                          "file.", what=what), "unsupported_file")
    if head[8:12] == b"WEBP" or head[4:8] == b"ftyp":
        raise ImportFileError(415, _l("This file is %(what)s, not a table: upload an XLSX workbook or a CSV file.",
                                      what=_l("an image or video")), "unsupported_file")
    if head.startswith(b"PK\x03\x04"):
        _check_xlsx(data)
        return "xlsx", None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(415, _l("UTF-16 text (Excel's “Unicode text”) is not accepted: save the table as "
                                      "“CSV UTF-8” or as an XLSX workbook."), "unsupported_encoding")
    if b"\x00" in data:
        raise ImportFileError(415, _l("This is not a text file: upload an XLSX workbook or a CSV file."),
                              "unsupported_file")
    return "csv", _detect_encoding(data)


def _detect_encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        try:
            data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            try:
                data.decode("gb18030")
                encoding = "gb18030"
            except UnicodeDecodeError:
                raise ImportFileError(415, _l("The text is neither UTF-8 nor GBK/GB18030: save the table as "
                                              "“CSV UTF-8” or as an XLSX workbook."), "unsupported_encoding") \
                    from None
    return encoding


def _check_xlsx(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ImportFileError(415, _l("The file looks like an XLSX workbook but is damaged: save it again and "
                                      "retry."), "unsupported_file") from None
    if "xl/workbook.xml" not in names:
        raise ImportFileError(415, _l("This zip archive is not an XLSX workbook: upload an XLSX workbook or a CSV "
                                      "file."), "unsupported_file")
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportFileError(413, _l("The workbook is too large once unpacked: split it into several files."),
                              "file_too_large")


def read_table(data: bytes) -> Table:
    """Read an upload into a :class:`Table` (refusing what is not a table of an accepted size)."""
    file_format, encoding = sniff(data)
    max_rows = limits()[1]
    if file_format == "xlsx":
        header_row, headers, rows = _read_xlsx(data, max_rows)
    else:
        header_row, headers, rows = _read_csv(data.decode(encoding).lstrip("\ufeff"), max_rows)
    if headers is None:
        raise ImportFileError(422, _l("The file is empty."), "empty_file")
    return Table(file_format, "utf-8" if encoding == "utf-8-sig" else encoding, headers, rows, header_row)


def _too_many_rows(max_rows: int) -> ImportFileError:
    rows = f"{max_rows:,}"
    return ImportFileError(413, _l("The file has more than %(n)s rows: split it into several files.", n=rows),
                           "too_many_rows")


def _blank(cells: list) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _read_csv(text: str, max_rows: int) -> tuple[int, list | None, list]:
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count) if first_line.count(",") == 0 else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers, rows, header_row = None, [], 1
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if _blank(cells):
                continue
            if headers is None:
                headers, header_row = cells, number
                continue
            if len(rows) >= max_rows:
                raise _too_many_rows(max_rows)
            rows.append((number, cells))
    except csv.Error as exc:
        raise ImportFileError(422, _l("The CSV cannot be read after row %(row)d: %(problem)s",
                                      row=number, problem=str(exc)), "bad_csv") from None
    return header_row, headers, rows


def _read_xlsx(data: bytes, max_rows: int) -> tuple[int, list | None, list]:
    import openpyxl
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheet_xml = _first_sheet_part(archive)
            has_formulas = sheet_xml is None or _has_formulas(archive, sheet_xml)
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except ImportFileError:
        raise
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file
        raise ImportFileError(415, _l("The file looks like an XLSX workbook but is damaged: save it again and "
                                      "retry."), "unsupported_file") from None
    try:
        if not book.worksheets:
            return 1, None, []
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some programs write a wrong size into the file: read every row there is
        if has_formulas:
            cached = _cached_values(data)
            source = _rows_with_formulas(sheet, cached)
        else:
            source = ((number, list(values)) for number, values in
                      enumerate(sheet.iter_rows(values_only=True), start=1))
        headers, rows, header_row = None, [], 1
        for number, cells in source:
            if _blank(cells):
                continue
            if headers is None:
                if any(c is FORMULA for c in cells):
                    raise ImportFileError(422, _l("The header row contains formulas: type the headers."),
                                          "formula_in_header")
                headers, header_row = cells, number
                continue
            if len(rows) >= max_rows:
                raise _too_many_rows(max_rows)
            rows.append((number, cells))
        return header_row, headers, rows
    finally:
        book.close()


def _first_sheet_part(archive: zipfile.ZipFile) -> str | None:
    """The zip part of the workbook's first sheet (by the workbook's relationships)."""
    try:
        workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        return None
    sheet = re.search(r"<(?:\w+:)?sheet\b[^>]*\br:id=\"([^\"]+)\"", workbook) or \
        re.search(r"<(?:\w+:)?sheet\b[^>]*\bid=\"([^\"]+)\"", workbook)
    if not sheet:
        return None
    for rel in re.finditer(r"<(?:\w+:)?Relationship\b[^>]*>", rels):
        tag = rel.group(0)
        if f'Id="{sheet.group(1)}"' in tag:
            target = re.search(r'Target="([^"]+)"', tag)
            if target:
                path = target.group(1).lstrip("/")
                return path if path.startswith("xl/") else "xl/" + path
    return None


def _has_formulas(archive: zipfile.ZipFile, part: str) -> bool:
    try:
        with archive.open(part) as handle:
            tail = b""
            while chunk := handle.read(1 << 20):
                if re.search(rb"<(?:\w+:)?f[ >/]", tail + chunk):
                    return True
                tail = chunk[-16:]
    except KeyError:
        return True  # unknown layout: take the careful path
    return False


def _cached_values(data: bytes) -> dict[tuple[int, int], Any]:
    """The values the spreadsheet program cached for the first sheet's formula cells."""
    import openpyxl
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        values = {}
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            for index, value in enumerate(row):
                if value is not None:
                    values[(number, index)] = value
        return values
    finally:
        book.close()


def _rows_with_formulas(sheet, cached: dict) -> Iterable[tuple[int, list]]:
    for number, row in enumerate(sheet.iter_rows(), start=1):
        cells = []
        for index, cell in enumerate(row):
            value = getattr(cell, "value", None)
            if getattr(cell, "data_type", None) == "f":
                value = cached.get((number, index), FORMULA)
            cells.append(value)
        yield number, cells


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious .0, dates as ISO 8601, an export's escape removed."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    else:
        text = str(value).strip()
    if text[:1] == "'" and text[1:2] in FORMULA_START and text[1:2]:
        text = text[1:]
    return text


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def _iso_date(text: str) -> str:
    """2024/1/5, 2024.1.5, 2024年1月5日 -> 2024-01-05; anything else unchanged (the rule reports it)."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        return text  # already ISO 8601 (or near enough for the rule to say what is wrong)
    text = unicodedata.normalize("NFKC", text).strip()
    match = _DATE_RE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return text
    return text


# --- checking --------------------------------------------------------------------------------

class _Lookups:
    """Names and codes a cell may use for kinds, sub-types, regions, statuses, coordinate systems."""

    def __init__(self, ref):
        self.ref = ref
        self.kinds: dict[str, str] = {}
        self.subtypes: dict[str, dict[str, str]] = {}
        self.fields: dict[str, dict[str, str]] = {}
        self.licence_types: dict[str, set[str]] = {}
        for kind in ref.kinds.values():
            for name in (kind.code, kind.name_zh, kind.name_en):
                self.kinds.setdefault(_norm_value(name), kind.code)
            self.subtypes[kind.code] = {_norm_value(n): s["code"] for s in kind.subtypes
                                        for n in (s["code"], s["name_zh"], s["name_en"])}
            self.fields[kind.code] = {f.code: f.type for f in kind.fields}
            self.licence_types[kind.code] = {spec["type"] for spec in kind.licences}
        self.regions: dict[str, str] = {}
        for region in ref.regions.values():
            for name in (region.code, region.name_zh, region.name_en, *region.former_codes):
                self.regions.setdefault(_norm_value(name), region.code)
        self.statuses: dict[str, str] = {}
        for word in PENDING_WORDS:
            self.statuses[_norm_value(word)] = "pending"
        for word in UNLICENSED_WORDS:
            self.statuses[_norm_value(word)] = "unlicensed"
        for locale in current_app.config.get("LANGUAGES", ["zh_CN", "en"]):
            with force_locale(locale):
                for status in ENTITY_STATUSES:
                    self.statuses.setdefault(_norm_value(str(STATUS_LABELS[status])), status)
        for status in ENTITY_STATUSES:
            self.statuses.setdefault(_norm_value(status), status)

        self._seen: dict[tuple[str, str], str | None] = {}  # a file repeats its kinds and counties
        self._stand_ins: dict[str, SimpleNamespace] = {}

    def _find(self, table: dict[str, str], name: str, text: str) -> str:
        try:
            return self._seen[(name, text)]
        except KeyError:
            found = self._seen[(name, text)] = table.get(_norm_value(text), text)
            return found

    def kind(self, text: str) -> str:
        return self._find(self.kinds, "kind", text) if text else ""

    def subtype(self, kind: str, text: str) -> str:
        return self._find(self.subtypes.get(kind, {}), "subtype:" + kind, text) if text else ""

    def region(self, text: str) -> str:
        return self._find(self.regions, "region", text) if text else ""

    def stand_in(self, kind: str) -> SimpleNamespace:
        """What clean_licence_data reads of an entity (its kind), before the entity exists."""
        return self._stand_ins.setdefault(kind, SimpleNamespace(kind=kind))

    def status(self, text: str) -> str | None:
        return self._find(self.statuses, "status", text)

    def crs(self, text: str) -> str:
        if not text:
            return "wgs84"
        try:
            return self._seen[("crs", text)]
        except KeyError:
            found = self._seen[("crs", text)] = _norm_value(text).replace("-", "").replace("_", "")
            return found


class _Draft:
    """A checked row on its way into the database: what ``Entity`` will hold, and its licences.

    Also the stand-in the risk providers score before the row exists: they read the same
    attributes as on an Entity (``status``, ``kind``, ``licences``, ``status_changes`` ...).
    """

    def __init__(self, row: int, clean: dict, status: str, licences: list):
        self.row = row
        self.id = None
        self.__dict__.update(clean)
        self.clean = clean
        self.status = status
        self.licences = licences
        self.status_changes: list = []
        self.risk_score = 0
        self.risk_factors: list = []
        self.is_outside_city = bool(clean.get("is_outside_city"))
        self.ok = True


class _LicenceDraft(SimpleNamespace):
    """A checked licence before it exists (read by the risk providers like a Licence)."""

    status = "valid"
    is_current = Licence.is_current


@dataclass
class Checked:
    drafts: list[_Draft]
    errors: list[dict]
    error_count: int
    rows: int
    layout: Layout | None = None
    cols: list[Column] | None = None


class _Errors:
    """Errors by row and field, with the column as written in the file; at most ``limit`` kept."""

    def __init__(self, layout: Layout, cols: list[Column], limit: int):
        self.layout = layout
        self.fallback = {c.key: c.header for c in cols}
        self.order = {key: index for index, key in enumerate(layout.keys) if key}
        self.items: list[tuple[int, int, dict]] = []
        self.count = 0
        self.limit = limit
        self.bad_rows: set[int] = set()

    def add(self, row: int, key: str, message: Any) -> None:
        self.count += 1
        self.bad_rows.add(row)
        if len(self.items) < self.limit:
            self.items.append((row, self.order.get(key, len(self.order)), {
                "row": row, "field": key, "column": self.layout.column_for(key, self.fallback),
                "message": str(message)}))

    def sorted(self) -> list[dict]:
        return [item for _row, _col, item in sorted(self.items, key=lambda i: (i[0], i[1]))]


def check_table(table: Table, user, progress: Callable | None = None) -> Checked:
    """Check every row (nothing is written); the drafts of a file without errors, or its errors."""
    ref = reference()
    cols = columns(ref, with_export_only=True)  # an export's own columns are known, and ignored
    layout = map_headers(table.headers, cols, table.header_row)
    limit = limits()[2]
    errors = _Errors(layout, cols, limit)
    for problem in layout.errors:
        errors.count += 1
        errors.items.append((table.header_row, -1, problem))
    if layout.errors:  # a missing or unknown column would turn into an error on every row
        return Checked([], errors.sorted(), errors.count, len(table.rows))
    look = _Lookups(ref)
    total = len(table.rows)
    # what each column holds, worked out once: the entity's own fields, and (attribute or licence) extras
    width = len(layout.keys)
    base_plan, extra_plan = [], []
    for index, key in enumerate(layout.keys):
        if not key:
            continue
        if key.startswith("attributes."):
            extra_plan.append((index, key, "attributes", key[len("attributes."):]))
        elif key.startswith("licences."):
            _prefix, licence_type, part = key.split(".", 2)
            extra_plan.append((index, key, "licences", (licence_type, part)))
        else:
            base_plan.append((index, key))
    unnamed = [index for index, key in enumerate(layout.keys) if key is None]
    formula_cells = table.file_format == "xlsx" and any(c is FORMULA for _row, cells in table.rows for c in cells)
    codes: dict[str, int] = {}
    licence_numbers: dict[tuple[str, str], int] = {}
    drafts: list[_Draft] = []
    scope = user.region_code
    blank = [""] * width
    for done, (row, cells) in enumerate(table.rows, start=1):
        formulas = set()
        if formula_cells and any(c is FORMULA for c in cells):
            for index, key in enumerate(layout.keys):
                if index < len(cells) and cells[index] is FORMULA:
                    errors.add(row, key or "", _l("Formulas are not accepted: type the value itself (or paste "
                                                  "values only)."))
                    formulas.add(key or "")
            cells = ["" if c is FORMULA else c for c in cells]
        if table.file_format == "xlsx":
            texts = [cell_text(c) for c in cells]
        else:
            texts = [c.strip() for c in cells]
            if "'" in "".join(texts):  # an export's escaped cells: '=..., '+..., '-..., '@...
                texts = [t[1:] if t[:1] == "'" and t[1:2] in _ESCAPED else t for t in texts]
        if len(texts) < width:
            texts += blank[len(texts):]
        elif len(texts) > width and any(texts[width:]):
            errors.add(row, "", _l("There are values in a column without a header."))
        if unnamed and any(texts[index] for index in unnamed):
            errors.add(row, "", _l("There are values in a column without a header."))
        base = {key: texts[index] for index, key in base_plan}
        extra = [(what, key, target, texts[index]) for index, key, what, target in extra_plan if texts[index]]
        draft = _check_row(row, base, extra, look, scope, errors, formulas)
        code = draft.clean.get("credit_code")
        if code:
            first = codes.setdefault(code, row)
            if first != row:
                errors.add(row, "credit_code", _l("The same credit code is already in row %(row)d of this file.",
                                                  row=first))
        for licence in draft.licences:
            first = licence_numbers.setdefault((licence.type, licence.number), row)
            if first != row:
                errors.add(row, f"licences.{licence.type}.number",
                           _l("The same licence number is already in row %(row)d of this file.", row=first))
        drafts.append(draft)
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress("checking", done, total)
    _check_database(drafts, errors)
    _check_entry_gate([d for d in drafts if d.ok and d.status == "pending" and d.row not in errors.bad_rows], errors)
    if progress is not None:
        progress("checking", total, total)
    if errors.count:
        return Checked([], errors.sorted(), errors.count, total)
    return Checked(drafts, [], 0, total, layout, cols)


def recheck_database(checked: Checked) -> Checked:
    """The checks that read the database, again, for drafts checked in an earlier transaction: codes
    and licence numbers registered, blacklists and sites added meanwhile. The rows' own rules do not
    change and are not repeated."""
    errors = _Errors(checked.layout, checked.cols, limits()[2])
    _check_database(checked.drafts, errors)
    _check_entry_gate([d for d in checked.drafts if d.status == "pending" and d.row not in errors.bad_rows], errors)
    if errors.count:
        return Checked([], errors.sorted(), errors.count, checked.rows, checked.layout, checked.cols)
    return checked


def _nfkc(text: str) -> str:
    """Full-width digits and letters to ASCII (numbers, codes, dates); plain ASCII as it is."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _check_row(row: int, raw: dict[str, str], extra: list, look: _Lookups, scope: str, errors: _Errors,
               formulas: set[str]) -> _Draft:
    """One row through the registry's rules; its draft (``ok`` when no rule objected)."""
    kind_code = look.kind(raw.get("kind", ""))
    data: dict[str, Any] = {"kind": kind_code, "subtype": look.subtype(kind_code, raw.get("subtype", "")),
                            "region_code": look.region(raw.get("region_code", ""))}
    for key in ("name", "address", "legal_representative", "phone", "credit_code"):
        if key in raw:
            data[key] = raw[key]
    if raw.get("name") == EXAMPLE_NAME:
        errors.add(row, "name", _l("This is the template's example row: delete it before importing."))
    if raw.get("legal_rep_id_number"):
        data["legal_rep_id_number"] = raw["legal_rep_id_number"]
    lat, lon = raw.get("lat", ""), raw.get("lon", "")
    if lat or lon:
        data.update(lat=_nfkc(lat), lon=_nfkc(lon), crs=look.crs(raw.get("crs", "")), location_source="import")
    kind_fields = look.fields.get(kind_code)
    attributes = {}
    licence_data: dict[str, dict] = {}
    for what, key, target, text in extra:
        if what == "attributes":
            if kind_fields is None:
                continue  # the unknown kind is reported
            field_type = kind_fields.get(target)
            if field_type is None:
                errors.add(row, key, _l("This column does not apply to this kind."))
            elif field_type == "date":
                attributes[target] = _iso_date(text)
            elif field_type in ("integer", "number"):
                attributes[target] = _nfkc(text)
            else:
                attributes[target] = text
        else:
            licence_type, part = target
            value = _nfkc(text) if part == "number" else _iso_date(text)
            licence_data.setdefault(licence_type, {"type": licence_type})[part] = value
    data["attributes"] = attributes
    status = "pending"
    status_text = raw.get("status", "")
    if status_text:
        found = look.status(status_text)
        if found in ("pending", "unlicensed"):
            status = found
        else:
            errors.add(row, "status", _l("An import registers applications (empty) or unlicensed operators "
                                         "(%(word)s); other statuses follow the lifecycle.", word=UNLICENSED_WORD))
    clean, problems = clean_entity_data(data)
    # register_entity's status rule: a code is required except for an unlicensed operator
    if not clean.get("credit_code") and status != "unlicensed" and "credit_code" not in problems:
        problems["credit_code"] = [_l("A credit code is required, except for an unlicensed operator.")]
    region = clean.get("region_code")
    if region and not look.ref.region_contains(scope, region):
        problems["region_code"] = [_l("Outside your region scope.")]
    licences = []
    if licence_data and kind_fields is not None:
        stand_in = look.stand_in(kind_code)
        for licence_type, values in licence_data.items():
            values.setdefault("number", "")
            licence_clean, licence_problems = clean_licence_data(stand_in, values)
            for name, messages in licence_problems.items():
                part = name if name in LICENCE_PARTS else "number"
                problems.setdefault(f"licences.{licence_type}.{part}", []).extend(messages)
            if not licence_problems:
                licences.append(_LicenceDraft(**licence_clean))
    for key, messages in problems.items():
        if key in formulas:
            continue  # the formula is the error; "required" on top of it would say nothing new
        for message in messages:
            errors.add(row, key, message)
    draft = _Draft(row, clean, status, licences)
    draft.ok = not problems and "kind" in clean
    return draft


def _chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _check_database(drafts: list[_Draft], errors: _Errors) -> None:
    """Credit codes and licence numbers already registered (what register_entity and add_licence check)."""
    by_code = {d.clean["credit_code"]: d for d in drafts if d.clean.get("credit_code")}
    taken_message = _l("This credit code is already registered.")
    for chunk in _chunks(list(by_code)):
        for code in db.session.scalars(sa.select(Entity.credit_code).where(Entity.credit_code.in_(chunk))):
            errors.add(by_code[code].row, "credit_code", taken_message)
    by_licence: dict[str, dict[str, _Draft]] = {}
    for draft in drafts:
        for licence in draft.licences:
            by_licence.setdefault(licence.type, {})[licence.number] = draft
    for licence_type, numbers in by_licence.items():
        for chunk in _chunks(list(numbers)):
            taken = sa.select(Licence.number).where(Licence.type == licence_type, Licence.number.in_(chunk))
            for number in db.session.scalars(taken):
                errors.add(numbers[number].row, f"licences.{licence_type}.number",
                           _l("A licence of this type with this number is already registered."))


def _check_entry_gate(drafts: list[_Draft], errors: _Errors, today: date | None = None) -> None:
    """The entry gate's blocking rules, in bulk (the gate itself asks the database once per application):
    blacklisted entity or person, a school or kindergarten too close to a venue, barred premises.
    Warnings (no coordinates, no ID number, first basement ...) do not stop an import."""
    from . import geo
    from .gate import _active_blacklist, _attribute_findings
    today = today or date.today()
    ref = reference()
    by_code: dict[str, list[_Draft]] = {}
    by_person: dict[str, list[_Draft]] = {}
    for draft in drafts:
        if draft.clean.get("credit_code"):
            by_code.setdefault(draft.clean["credit_code"], []).append(draft)
        if draft.clean.get("legal_rep_id_hmac"):
            by_person.setdefault(draft.clean["legal_rep_id_hmac"], []).append(draft)
    for chunk in _chunks(list(by_code)):
        for entry in db.session.scalars(sa.select(BlacklistEntry).where(
                BlacklistEntry.subject_type == "entity", BlacklistEntry.credit_code.in_(chunk),
                _active_blacklist(today))):
            for draft in by_code[entry.credit_code]:
                errors.add(draft.row, "credit_code",
                           _l("The entity is on the blacklist: %(reason)s", reason=entry.reason))
    for chunk in _chunks(list(by_person)):
        for entry in db.session.scalars(sa.select(BlacklistEntry).where(
                BlacklistEntry.subject_type == "person", BlacklistEntry.person_id_hmac.in_(chunk),
                _active_blacklist(today))):
            for draft in by_person[entry.person_id_hmac]:
                rules = ref.kinds[draft.kind].entry_rules
                if entry.bars_venue_work and not rules.get("barred_persons"):
                    continue  # a venue-work bar (条例 Art 5) does not apply to other kinds
                errors.add(draft.row, "legal_rep_id_number",
                           _l("The legal representative (%(masked)s) is barred: %(reason)s",
                              masked=entry.person_id_masked or "", reason=entry.reason))
    indexes: dict[str, Any] = {}
    for draft in drafts:
        kind = ref.kinds[draft.kind]
        if kind.entry_rules.get("attribute_rules"):
            for finding in _attribute_findings(kind, draft.clean):
                if finding.decision == "block":
                    errors.add(draft.row, finding.field, finding.message)
        rule = kind.entry_rules.get("sensitive_sites")
        if not rule or rule.get("decision") != "block" or draft.clean.get("lat") is None:
            continue
        if kind.code not in indexes:
            sites = db.session.execute(sa.select(SensitiveSite.id, SensitiveSite.name, SensitiveSite.lat,
                                                 SensitiveSite.lon)
                                       .where(SensitiveSite.site_kind.in_(rule["site_kinds"]))).all()
            names = {site.id: site.name for site in sites}
            indexes[kind.code] = (geo.GridIndex([(s.id, s.lat, s.lon) for s in sites], cell_m=rule["distance_m"]),
                                  names)
        index, names = indexes[kind.code]
        if not names:
            continue  # no school or kindergarten registered
        distance = rule["distance_m"]
        for site_id, metres in index.near(draft.clean["lat"], draft.clean["lon"], distance):
            note = str(_l(" (the distance %(m)d m is a configurable default, not a confirmed provincial figure)",
                          m=int(distance))) if rule.get("distance_unconfirmed") else ""
            errors.add(draft.row, "lat", str(_l("%(site)s is %(m)d m away; the minimum distance is %(min)d m.",
                                                site=names[site_id], m=round(metres), min=int(distance))) + note)


# --- creating --------------------------------------------------------------------------------

_ENTITY_COLUMNS = [c.key for c in Entity.__table__.columns]
# The audit event of an imported entity names it and where it came from (the job, whose own event
# holds the file's SHA-256, and the row); the id, the actor and the time are the event's columns.
# Its other values are the entity's own, and any later change to them is audited with before and
# after. Fewer values keep 50,000 hash-chained events affordable (bench/bench_import.py).
_AUDIT_KEYS = ("kind", "name", "credit_code", "region_code", "status")


def create_entities(drafts: list[_Draft], user_id: int | None, *, filename: str = "", job_id: int | None = None,
                    file_sha256: str | None = None, today: date | None = None) -> list[int]:
    """Create checked drafts in the current transaction (nothing through the ORM's unit of work,
    never commits): entities, their first status change, their licences, one audit event each."""
    session = db.session
    today = today or date.today()
    now = now_utc()
    ids = allocate_ids(session, Entity.__table__, len(drafts))
    reason = str(_l("Registered by import (%(file)s)", file=(filename or "-")[:200]))
    entity_rows, change_rows, licence_rows = [], [], []
    defaults = dict.fromkeys(_ENTITY_COLUMNS)
    defaults.update(is_outside_city=False, attributes={}, risk_factors=[], risk_score=0, created_dt=now,
                    updated_dt=now, created_by_id=user_id)
    for entity_id, draft in zip(ids, drafts):
        draft.id = entity_id
        refresh_risk(draft, today)
        values = dict(defaults)
        values.update(draft.clean)
        values.update(id=entity_id, status=draft.status, risk_score=draft.risk_score, risk_factors=draft.risk_factors)
        entity_rows.append(values)
        change_rows.append({"entity_id": entity_id, "from_status": None, "to_status": draft.status,
                            "reason": reason, "legal_basis": None, "actor_id": user_id, "created_dt": now})
        for licence in draft.licences:
            licence_rows.append({"entity_id": entity_id, "type": licence.type, "number": licence.number,
                                 "department": licence.department, "issued_on": licence.issued_on,
                                 "expires_on": licence.expires_on, "status": "valid", "status_reason": None,
                                 "created_dt": now})
    bulk_insert(session, Entity.__table__, entity_rows)
    bulk_insert(session, StatusChange.__table__, change_rows)
    bulk_insert(session, Licence.__table__, licence_rows)
    events = []
    for values, draft in zip(entity_rows, drafts):
        after = {key: values[key] for key in _AUDIT_KEYS}  # strings, set by the checks
        after.update(import_job_id=job_id, row=draft.row, licences=[lic.number for lic in draft.licences])
        events.append({"action": "create", "object_type": "entities", "object_id": str(values["id"]),
                       "before": None, "after": after})
    record_events(session, events)
    record_event(session, "entities.import", "import_jobs", job_id, None,
                 {"file": filename, "sha256": file_sha256, "created": len(ids),
                  "first_id": ids[0] if ids else None, "last_id": ids[-1] if ids else None})
    return ids


@dataclass
class ImportResult:
    created: int
    errors: list[dict]
    error_count: int
    rows: int
    file_format: str | None = None
    encoding: str | None = None
    ids: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"created": self.created, "errors": self.errors, "error_count": self.error_count, "rows": self.rows}


def import_entities(data: bytes, user, *, filename: str = "", progress: Callable | None = None,
                    job_id: int | None = None, read_first: bool = False) -> ImportResult:
    """Read, check and -- only when every row is valid -- create (in the caller's transaction).

    With ``read_first`` (a background job that reports its progress on other connections) the
    checks run in a transaction of their own that only reads, which ends before the creating one
    begins and repeats the checks that read the database: on SQLite a transaction that may write
    holds the only write lock from its start (inspect_app/sqlite.py), which would keep the
    progress from being written."""
    with paused_gc():
        return _import_entities(data, user, filename=filename, progress=progress, job_id=job_id,
                                read_first=read_first)


def _import_entities(data: bytes, user, *, filename: str, progress: Callable | None,
                     job_id: int | None, read_first: bool) -> ImportResult:
    timings = {}
    started = time.perf_counter()
    if progress is not None:
        progress("reading", 0, 0)
    table = read_table(data)
    timings["read"] = time.perf_counter() - started
    if not table.rows:
        raise ImportFileError(422, _l("The file has no rows below the headers."), "no_rows")
    with reading() if read_first else nullcontext():
        checked = check_table(table, user, progress)
    if read_first:
        db.session.rollback()  # end the readers' transaction (nothing was written in it)
    timings["check"] = time.perf_counter() - started - timings["read"]
    result = ImportResult(0, checked.errors, checked.error_count, checked.rows, table.file_format, table.encoding,
                          timings=timings)
    if checked.error_count:
        return result
    if progress is not None:
        progress("creating", checked.rows, checked.rows)
    if read_first:
        checked = recheck_database(checked)  # the creating transaction begins here
        if checked.error_count:
            result.errors, result.error_count = checked.errors, checked.error_count
            return result
    mark = time.perf_counter()
    result.ids = create_entities(checked.drafts, user.id, filename=filename, job_id=job_id,
                                 file_sha256=hashlib.sha256(data).hexdigest())
    result.created = len(result.ids)
    timings["create"] = time.perf_counter() - mark
    return result


# --- background jobs -------------------------------------------------------------------------

def prune_jobs(older_than_days: int, now: datetime | None = None) -> int:
    """Delete the records of imports last updated more than ``older_than_days`` ago (finished, or stale).

    The entities an import created stay, with their audit events (which name the file's SHA-256):
    only the progress rows and their error lists go. Returns how many were deleted.
    """
    if older_than_days < 1:
        raise ValueError("keep at least one day: a running import writes its progress every half second")
    # An unfinished job silent for a day is stale (JOB_STALE_AFTER): its worker has gone.
    cutoff = (now or now_utc()) - timedelta(days=older_than_days)
    result = db.session.execute(sa.delete(ImportJob).where(ImportJob.updated_dt < cutoff))
    if result.rowcount:
        record_event(db.session, "delete", ImportJob.__tablename__, None,
                     after={"pruned": result.rowcount, "older_than_days": older_than_days})
    return result.rowcount


def create_job(user_id: int, filename: str, data: bytes, locale: str) -> int:
    """Record an upload about to be imported (committed at once, with what the request did before)."""
    now = now_utc()
    result = db.session.execute(sa.insert(ImportJob.__table__).values(
        user_id=user_id, filename=(filename or "upload")[:255], file_sha256=hashlib.sha256(data).hexdigest(),
        file_size=len(data), locale=locale[:10], status="queued", rows_total=0, rows_checked=0, rows_created=0,
        error_count=0, errors=[], created_dt=now, updated_dt=now))
    db.session.commit()
    return result.inserted_primary_key[0]


def update_job(job_id: int, **values) -> None:
    """Write a job's progress on its own connection, so that every worker sees it at once."""
    values["updated_dt"] = now_utc()
    with db.engine.begin() as conn:
        conn.execute(sa.update(ImportJob.__table__).where(ImportJob.__table__.c.id == job_id).values(**values))


class JobProgress:
    """The progress callback of a background import: at most one write per ``interval`` seconds."""

    def __init__(self, job_id: int, interval: float = 0.5):
        self.job_id = job_id
        self.interval = interval
        self.phase = None
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == self.phase and done < total and now - self.last < self.interval:
            return
        self.phase, self.last = phase, now
        values: dict[str, Any] = {"status": phase, "rows_total": total}
        if phase in ("checking", "creating"):
            values["rows_checked"] = done
        update_job(self.job_id, **values)


_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


def start_job(job_id: int, data: bytes) -> threading.Thread:
    """Run the import of ``data`` in a background thread with its own app context."""
    app = current_app._get_current_object()
    thread = threading.Thread(target=run_job, args=(app, job_id, data), name=f"import-job-{job_id}", daemon=True)
    with _threads_lock:
        _threads.add(thread)
    thread.start()
    return thread


def wait_for_jobs(timeout: float = 60.0) -> bool:
    """Wait for the background imports of this process (tests, shutdown); True when none is left."""
    deadline = time.monotonic() + timeout
    with _threads_lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread in threads)


def run_job(app, job_id: int, data: bytes) -> None:
    """The body of the background thread: import, then record the outcome on the job."""
    from ..auth.models import User
    try:
        with app.app_context():
            job = db.session.get(ImportJob, job_id)
            user = db.session.get(User, job.user_id) if job else None
            if user is None:
                return
            with force_locale(job.locale):
                _run(job, user, data)
    finally:
        with _threads_lock:
            _threads.discard(threading.current_thread())


def _run(job: ImportJob, user, data: bytes) -> None:
    job_id, filename = job.id, job.filename
    actor = (user.id, user.username)
    # the job's own reads end here, and nothing may read again before the import begins its transactions
    # itself: on SQLite that would begin a writer's, which holds the lock the progress must write with
    db.session.rollback()
    set_actor(db.session, *actor)
    try:
        result = import_entities(data, user, filename=filename, progress=JobProgress(job_id), job_id=job_id,
                                 read_first=True)
    except ImportFileError as exc:
        db.session.rollback()
        update_job(job_id, status="failed", message=exc.message[:1000], finished_dt=now_utc())
        return
    except sa.exc.IntegrityError:
        db.session.rollback()
        update_job(job_id, status="failed", finished_dt=now_utc(), message=str(
            _l("A credit code or licence number of the file was registered by someone else meanwhile; nothing was "
               "created. Import the file again to see which."))[:1000])
        return
    except Exception:  # noqa: BLE001 - recorded on the job and logged; nothing was created
        db.session.rollback()
        log.exception("import job %s failed", job_id)
        update_job(job_id, status="failed", finished_dt=now_utc(), message=str(
            _l("The import stopped on an unexpected error; nothing was created. The error has been logged."))[:1000])
        return
    if result.error_count:
        db.session.rollback()
        update_job(job_id, status="rejected", rows_total=result.rows, rows_checked=result.rows,
                   error_count=result.error_count, errors=result.errors, file_format=result.file_format,
                   finished_dt=now_utc())
        return
    try:
        # "done" is written in the import's own transaction: true exactly when the entities exist
        db.session.execute(sa.update(ImportJob.__table__).where(ImportJob.__table__.c.id == job_id).values(
            status="done", rows_total=result.rows, rows_checked=result.rows, rows_created=result.created,
            file_format=result.file_format, updated_dt=now_utc(), finished_dt=now_utc()))
        db.session.commit()
    except Exception:  # noqa: BLE001 - e.g. a credit code registered meanwhile by someone else
        db.session.rollback()
        log.exception("import job %s failed at commit", job_id)
        update_job(job_id, status="failed", finished_dt=now_utc(), message=str(
            _l("The import could not be saved (another change got in the way); nothing was created. Import the "
               "file again."))[:1000])
