"""Export of entity lists as CSV and XLSX, and the import template.

An export has the import template's columns (plus a few export-only ones the import ignores),
so a file exported from one list can be imported again. The CSV is UTF-8 with a BOM, which
Chinese Excel opens without garbling. Text that a spreadsheet would run as a formula (starting
with = + - @, tab or carriage return) is escaped with a leading apostrophe; the import removes it.
The legal representative's identity number is never exported, only its masked form.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any, Iterable, Iterator

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ..extensions import db
from .imports import FORMULA_START, UNLICENSED_WORD, Column, columns, template_example
from .models import Entity, Licence
from .services import STATUS_LABELS, reference

BATCH = 1000
NUMBER_RE = re.compile(r"^[+-]?\d+(\.\d+)?$")
BOM = "\ufeff"
_FORMULA_FIRST = frozenset(FORMULA_START)


def escape_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets an apostrophe in front; plain numbers
    (-3, +1.5) stay as they are (a spreadsheet reads them as numbers, not formulas)."""
    if isinstance(value, str) and value[:1] in FORMULA_START and value and not NUMBER_RE.match(value):
        return "'" + value
    return value


def _xlsx_value(value: Any) -> Any:
    value = escape_cell(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _csv_value(value: Any) -> str:
    if value.__class__ is str:
        return "'" + value if value[:1] in _FORMULA_FIRST and not NUMBER_RE.match(value) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- entity rows -----------------------------------------------------------------------------

def export_columns() -> list[Column]:
    return columns(with_export_only=True)


def _current_licence(licences: list, today: date):
    """The licence of a type to show: a current one first, then the one that runs longest."""
    return max(licences, key=lambda lic: (lic.status == "valid" and (lic.expires_on is None or lic.expires_on >= today),
                                          lic.expires_on or date.max, lic.id))


def entity_values(entity, licences: list, ref, today: date, status_labels: dict[str, str]) -> dict[str, Any]:
    """One entity (an Entity or a row of its table) as template values: Chinese names for kinds,
    sub-types and counties, as the template has them."""
    kind = ref.kinds.get(entity.kind)
    subtype = kind.subtype(entity.subtype) if kind and entity.subtype else None
    region = ref.regions.get(entity.region_code)
    values: dict[str, Any] = {
        "kind": kind.name_zh if kind else entity.kind,
        "subtype": subtype["name_zh"] if subtype else (entity.subtype or ""),
        "name": entity.name,
        "credit_code": entity.credit_code or "",
        "status": UNLICENSED_WORD if entity.status == "unlicensed" or not entity.credit_code else "",
        "legal_representative": entity.legal_representative or "",
        "legal_rep_id_number": "",  # never exported: only the masked form, in its own column
        "phone": entity.phone or "",
        "address": entity.address,
        "region_code": region.name_zh if region else entity.region_code,
        "lat": entity.lat if entity.lat is not None else "",
        "lon": entity.lon if entity.lon is not None else "",
        "crs": "wgs84" if entity.lat is not None else "",  # stored as WGS-84, whatever the client sent
        "id": entity.id,
        "current_status": status_labels.get(entity.status, entity.status),
        "legal_rep_id_masked": entity.legal_rep_id_masked or "",
        "risk_score": entity.risk_score,
    }
    for code, value in (entity.attributes or {}).items():
        values[f"attributes.{code}"] = ("是" if value else "否") if isinstance(value, bool) else value
    by_type: dict[str, list] = {}
    for licence in licences:
        by_type.setdefault(licence.type, []).append(licence)
    for licence_type, held in by_type.items():
        licence = _current_licence(held, today)
        values[f"licences.{licence_type}.number"] = licence.number
        values[f"licences.{licence_type}.issued_on"] = licence.issued_on.isoformat() if licence.issued_on else ""
        values[f"licences.{licence_type}.expires_on"] = licence.expires_on.isoformat() if licence.expires_on else ""
    return values


def entity_rows(stmt, cols: list[Column], today: date | None = None) -> Iterator[list[Any]]:
    """The rows of a SELECT of entities (the list page's query), in batches, in the query's order.

    Plain rows, not ORM objects: a long export neither fills the session nor pays for identity."""
    today = today or date.today()
    ref = reference()
    status_labels = {status: str(label) for status, label in STATUS_LABELS.items()}
    entities, licences = Entity.__table__, Licence.__table__
    ids = list(db.session.scalars(stmt.with_only_columns(Entity.id)))
    keys = [c.key for c in cols]
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        found = {row.id: row for row in db.session.execute(sa.select(entities).where(entities.c.id.in_(batch)))}
        held: dict[int, list] = {}
        for licence in db.session.execute(sa.select(licences).where(licences.c.entity_id.in_(batch))):
            held.setdefault(licence.entity_id, []).append(licence)
        for entity_id in batch:
            values = entity_values(found[entity_id], held.get(entity_id, []), ref, today, status_labels)
            yield [values.get(key, "") for key in keys]


# --- writers ---------------------------------------------------------------------------------

def csv_chunks(header: list[str], rows: Iterable[list[Any]], chunk: int = 500) -> Iterator[bytes]:
    """CSV in UTF-8 with a BOM (what Chinese Excel opens correctly), CRLF, cells escaped."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([_csv_value(h) for h in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([_csv_value(v) for v in row])
        if count % chunk == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_bytes(sheets: list[tuple[str, list[str], Iterable[list[Any]]]]) -> bytes:
    """A workbook of ``(title, header, rows)`` sheets (write-only: any number of rows), cells escaped."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    book = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.freeze_panes = "A2"
        bold = []
        for text in header:
            cell = WriteOnlyCell(sheet, value=_xlsx_value(text))
            cell.font = Font(bold=True)
            bold.append(cell)
        sheet.append(bold)
        for row in rows:
            sheet.append([_xlsx_value(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the template ----------------------------------------------------------------------------

def template_notes(max_size: str, max_rows: int) -> list[str]:
    """The general explanation at the top of the template's second sheet."""
    rows = f"{max_rows:,}"
    return [str(note) for note in (
        _l("One row per entity; row 1 holds the headers. Delete the example row before importing."),
        _l("All or nothing: if any row has an error, nothing is imported and every error is listed by row and "
           "column. Correct the file and import it again."),
        _l("Columns may come in any order and may be left out when not needed (except the required ones). The "
           "API field names (kind, name, credit_code ...) are accepted as headers too."),
        _l("Files: XLSX, or CSV in UTF-8 (with or without BOM) or GBK/GB18030. At most %(size)s and %(rows)s "
           "rows. Formulas are not accepted: paste values only.", size=max_size, rows=rows),
        _l("Each row gets the same checks as the registration form, including the entry gate's blocking rules "
           "(blacklists, distance to schools, premises). Imported entities are pending applications (or "
           "unlicensed operators): approve them on each entity's page."),
        _l("Licences: one group of columns per licence type (number, date of issue, valid until). Fill in the "
           "licences the entity holds; the issuing department follows from the licence type."),
        _l("An export of the registry list has the same columns and can be imported again; its export-only "
           "columns are ignored."),
    )]


def template_xlsx(max_size: str, max_rows: int) -> bytes:
    """The import template: headers and one example row, and a sheet explaining each column."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    cols = columns()
    book = Workbook()
    sheet = book.active
    sheet.title = str(_l("Entities"))[:31]
    sheet.append([c.header for c in cols])
    sheet.append(template_example(cols))
    sheet.freeze_panes = "A2"
    fill = PatternFill("solid", fgColor="FCE8E6")
    for index, col in enumerate(cols, start=1):
        letter = get_column_letter(index)
        header = sheet.cell(row=1, column=index)
        header.font = Font(bold=True)
        if col.required:
            header.fill = fill
        sheet.column_dimensions[letter].width = max(12, min(40, len(col.header) * 2 + 4))
        if col.text:  # codes keep their leading zeros and all 18 characters
            sheet.column_dimensions[letter].number_format = "@"
            sheet.cell(row=2, column=index).number_format = "@"
    notes = book.create_sheet(str(_l("Explanation"))[:31])
    for note in template_notes(max_size, max_rows):
        notes.append([note])
    notes.append([])
    notes.append([str(_l("Column")), str(_l("Field name (API)")), str(_l("Required")), str(_l("What to enter")),
                  str(_l("Example"))])
    title_row = notes.max_row
    for cell in notes[title_row]:
        cell.font = Font(bold=True)
    example = dict(zip([c.key for c in cols], template_example(cols)))
    for col in columns(with_export_only=True):
        notes.append([col.header, col.key, str(col.required), str(col.help), example.get(col.key, "")])
    for letter, width in zip("ABCDE", (28, 34, 22, 90, 30)):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=title_row + 1):
        row[3].alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_csv() -> bytes:
    cols = columns()
    return b"".join(csv_chunks([c.header for c in cols], [template_example(cols)]))
