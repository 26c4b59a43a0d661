"""``registries/notices.yaml``: number formats, department titles, review bodies; validated at start-up.

A wrong number format would print wrong numbers on legal documents for a year, so a bad file stops the
application like any other registry, naming the file, the department and the field.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ..reference import ReferenceDataError, _flatten, _read_mapping

# type -> default Chinese title (design.md 4.2 codes; domain.md 6.2 documents)
NOTICE_TYPES: dict[str, str] = {
    "inspection_record": "现场检查笔录",
    "rectification_order": "责令限期改正通知书",
    "penalty_advance_notice": "行政处罚事先告知书",
    "penalty_decision": "行政处罚决定书",
    "criminal_transfer": "涉嫌犯罪案件移送书",
    "case_transfer": "案件移送函",
    "service_receipt": "送达回证",
}
# What each type is issued from: an inspection, a case, or either.
SOURCES: dict[str, tuple[str, ...]] = {
    "inspection_record": ("inspection",),
    "rectification_order": ("inspection", "case"),
    "penalty_advance_notice": ("case",),
    "penalty_decision": ("case",),
    "criminal_transfer": ("case",),
    "case_transfer": ("case",),
    "service_receipt": ("inspection", "case"),
}
FILENAME = "notices.yaml"


class _DepartmentSchema(Schema):
    class Meta:
        unknown = RAISE

    address = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(required=True, validate=validate.Length(min=1, max=40))
    titles = fields.Dict(keys=fields.String(validate=validate.OneOf(list(NOTICE_TYPES))),
                         values=fields.String(validate=validate.Length(min=2, max=40)), load_default=dict)
    case_transfer_basis = fields.String(required=True, validate=validate.Length(min=1, max=200))
    numbers = fields.Dict(keys=fields.String(validate=validate.OneOf(list(NOTICE_TYPES))),
                          values=fields.String(validate=validate.Length(min=5, max=60)), required=True)


class _NoticesSchema(Schema):
    class Meta:
        unknown = RAISE

    review_body = fields.String(required=True, validate=validate.Length(min=2, max=60))
    court = fields.String(required=True, validate=validate.Length(min=2, max=60))
    review_days = fields.Integer(required=True, validate=validate.Range(min=1, max=365))
    litigation_months = fields.Integer(required=True, validate=validate.Range(min=1, max=60))
    statement_working_days = fields.Integer(required=True, validate=validate.Range(min=1, max=30))
    hearing_request_working_days = fields.Integer(required=True, validate=validate.Range(min=1, max=30))
    payment_days = fields.Integer(required=True, validate=validate.Range(min=1, max=90))
    late_fee_percent = fields.Integer(required=True, validate=validate.Range(min=0, max=10))
    payment_note = fields.String(required=True, validate=validate.Length(min=1, max=300))
    public_url_note = fields.String(required=True, validate=validate.Length(min=1, max=200))
    departments = fields.Dict(keys=fields.String(), values=fields.Nested(_DepartmentSchema), required=True)


@dataclass(frozen=True)
class DepartmentNotices:
    code: str
    address: str
    phone: str
    titles: dict
    case_transfer_basis: str
    numbers: dict

    def title(self, notice_type: str) -> str:
        return self.titles.get(notice_type) or NOTICE_TYPES[notice_type]

    def format_number(self, notice_type: str, year: int, seq: int) -> str:
        return self.numbers[notice_type].format(year=year, n=seq)


@dataclass(frozen=True)
class NoticeSettings:
    review_body: str
    court: str
    review_days: int
    litigation_months: int
    statement_working_days: int
    hearing_request_working_days: int
    payment_days: int
    late_fee_percent: int
    payment_note: str
    public_url_note: str
    departments: dict[str, DepartmentNotices] = field(default_factory=dict)

    def department(self, code: str) -> DepartmentNotices | None:
        return self.departments.get(code)


def _check_format(value: str) -> str | None:
    """Why a number format is unusable, or None."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        return f"not a valid format: {exc}"
    if sorted(names) != ["n", "year"]:
        return "must contain {year} and {n} once each and no other placeholder"
    if re.search(r"\{n\}\D*$", value) is None or "〔{year}〕" not in value:
        return "expected the form 朔人社监令〔{year}〕{n}号"
    return None


def load_notice_settings(directory: str | Path, departments: dict) -> NoticeSettings:
    path = Path(directory) / FILENAME
    raw = _read_mapping(path)
    try:
        data = _NoticesSchema().load(raw)
    except ValidationError as exc:
        raise ReferenceDataError("\n".join(f"{path}: field '{f}': {m}" for f, m in _flatten(exc.messages))) from None
    errors: list[str] = []
    seen: dict[str, str] = {}
    result: dict[str, DepartmentNotices] = {}
    for code, entry in data["departments"].items():
        label = f"{path}: department {code}"
        if code not in departments:
            errors.append(f"{label}: not in departments.yaml")
            continue
        missing = [t for t in NOTICE_TYPES if t not in entry["numbers"]]
        if missing:
            errors.append(f"{label}: field 'numbers': missing {', '.join(missing)}")
        for notice_type, fmt in entry["numbers"].items():
            problem = _check_format(fmt)
            if problem:
                errors.append(f"{label}: field 'numbers.{notice_type}': {problem}")
            elif fmt in seen:
                errors.append(f"{label}: field 'numbers.{notice_type}': same format as {seen[fmt]}")
            seen.setdefault(fmt, f"{code}.{notice_type}")
        result[code] = DepartmentNotices(code=code, **entry)
    for code, department in departments.items():
        if getattr(department, "inspects", False) and code not in data["departments"]:
            errors.append(f"{path}: department {code} inspects but has no notice numbers")
    if errors:
        raise ReferenceDataError("\n".join(errors))
    return NoticeSettings(**{**data, "departments": result})
