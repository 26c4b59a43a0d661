"""Registry kinds declared in ``registries/kinds/*.yaml``.

A kind says what a business of that kind is: its sub-types, its own fields (validated here),
the licences it needs and who issues them, which departments inspect it, which checklists
apply, and the entry-gate rules. The rest of the code is generic over kinds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..reference import CODE, ReferenceDataError, _flatten, _read_mapping

FIELD_TYPES = ("string", "text", "integer", "number", "boolean", "date", "choice")
DECISIONS = ("pass", "warn", "block")
OPS = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
       "lte": lambda a, b: a <= b, "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
       "in": lambda a, b: a in b}


class _NamedSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=CODE)
    name_zh = fields.String(required=True, validate=validate.Length(min=1))
    name_en = fields.String(required=True, validate=validate.Length(min=1))


class _ChoiceSchema(Schema):
    class Meta:
        unknown = RAISE

    value = fields.String(required=True)
    label_zh = fields.String(required=True)
    label_en = fields.String(required=True)


class _FieldSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=CODE)
    label_zh = fields.String(required=True)
    label_en = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    required = fields.Boolean(load_default=False)
    min = fields.Float(load_default=None)
    max = fields.Float(load_default=None)
    max_length = fields.Integer(load_default=None, validate=validate.Range(min=1))
    pattern = fields.String(load_default=None)
    choices = fields.List(fields.Nested(_ChoiceSchema), load_default=list)

    @validates_schema
    def _check(self, data, **kwargs):
        if data["type"] == "choice" and not data["choices"]:
            raise ValidationError("a choice field needs choices", "choices")
        if data.get("pattern"):
            try:
                re.compile(data["pattern"])
            except re.error as exc:
                raise ValidationError(f"not a regular expression: {exc}", "pattern") from None


class _LicenceSchema(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=CODE)
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    department = fields.String(required=True)
    required = fields.Boolean(load_default=True)
    basis = fields.String(load_default="")


class _AttributeRuleSchema(Schema):
    class Meta:
        unknown = RAISE

    field = fields.String(required=True)
    op = fields.String(required=True, validate=validate.OneOf(sorted(OPS)))
    value = fields.Raw(required=True, allow_none=True)
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    basis = fields.String(required=True)
    message_zh = fields.String(required=True)
    message_en = fields.String(required=True)


class _SensitiveSitesSchema(Schema):
    class Meta:
        unknown = RAISE

    site_kinds = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    distance_m = fields.Float(required=True, validate=validate.Range(min=1, max=10000))
    distance_unconfirmed = fields.Boolean(load_default=False)
    decision = fields.String(load_default="block", validate=validate.OneOf(DECISIONS))
    basis = fields.String(required=True)


class _EntryRulesSchema(Schema):
    class Meta:
        unknown = RAISE

    barred_persons = fields.Boolean(load_default=False)
    sensitive_sites = fields.Nested(_SensitiveSitesSchema, load_default=None)
    attribute_rules = fields.List(fields.Nested(_AttributeRuleSchema), load_default=list)


class _KindSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=CODE)
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    subtypes = fields.List(fields.Nested(_NamedSchema), load_default=list)
    fields_ = fields.List(fields.Nested(_FieldSchema), data_key="fields", load_default=list)
    licences = fields.List(fields.Nested(_LicenceSchema), load_default=list)
    inspecting_departments = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    checklists = fields.List(fields.String(), load_default=list)
    entry_rules = fields.Nested(_EntryRulesSchema, load_default=lambda: {"attribute_rules": []})


@dataclass(frozen=True)
class KindField:
    code: str
    label_zh: str
    label_en: str
    type: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    pattern: str | None = None
    choices: tuple = ()

    def label(self, locale: str) -> str:
        return self.label_en if locale.startswith("en") else self.label_zh


@dataclass(frozen=True)
class Kind:
    code: str
    name_zh: str
    name_en: str
    subtypes: tuple = ()
    fields: tuple[KindField, ...] = ()
    licences: tuple = ()
    inspecting_departments: tuple = ()
    checklists: tuple = ()
    entry_rules: dict = field(default_factory=dict)
    source: str = ""

    def name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh

    def licence(self, licence_type: str) -> dict | None:
        return next((lic for lic in self.licences if lic["type"] == licence_type), None)

    def subtype(self, code: str | None) -> dict | None:
        return next((s for s in self.subtypes if s["code"] == code), None)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name_zh": self.name_zh, "name_en": self.name_en,
                "subtypes": list(self.subtypes),
                "fields": [{k: getattr(f, k) if k != "choices" else list(f.choices)
                            for k in ("code", "label_zh", "label_en", "type", "required", "min", "max",
                                      "max_length", "pattern", "choices")} for f in self.fields],
                "licences": list(self.licences), "inspecting_departments": list(self.inspecting_departments),
                "checklists": list(self.checklists), "entry_rules": self.entry_rules}

    def validate_attributes(self, data: dict | None) -> tuple[dict, dict[str, list]]:
        """Clean the kind-specific attributes; return (values, {field: [messages]})."""
        data = dict(data or {})
        clean: dict[str, Any] = {}
        errors: dict[str, list] = {}
        known = {f.code for f in self.fields}
        for unknown in sorted(set(data) - known):
            errors[unknown] = [_l("Unknown field.")]
        for f in self.fields:
            raw = data.get(f.code)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if f.required:
                    errors[f.code] = [_l("This field is required.")]
                continue
            try:
                clean[f.code] = _coerce(f, raw)
            except ValueError as exc:
                errors[f.code] = [exc.args[0]]
        return clean, errors


def _coerce(f: KindField, raw: Any) -> Any:
    if f.type in ("string", "text"):
        value = str(raw).strip()
        if f.max_length and len(value) > f.max_length:
            raise ValueError(_l("At most %(n)d characters.", n=f.max_length))
        if f.pattern and not re.fullmatch(f.pattern, value):
            raise ValueError(_l("Not in the expected format."))
        return value
    if f.type in ("integer", "number"):
        if isinstance(raw, bool):
            raise ValueError(_l("Must be a number."))
        try:
            number = float(str(raw).strip()) if f.type == "number" else int(str(raw).strip())
        except ValueError:
            raise ValueError(_l("Must be a whole number.") if f.type == "integer" else _l("Must be a number.")) \
                from None
        if f.min is not None and number < f.min:
            raise ValueError(_l("Must be at least %(n)s.", n=_num(f.min)))
        if f.max is not None and number > f.max:
            raise ValueError(_l("Must be at most %(n)s.", n=_num(f.max)))
        return number
    if f.type == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "y", "on", "是", "有"):
            return True
        if text in ("0", "false", "no", "n", "off", "否", "无"):
            return False
        raise ValueError(_l("Must be true or false."))
    if f.type == "date":
        try:
            return date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValueError(_l("Must be a date (YYYY-MM-DD).")) from None
    if f.type == "choice":
        value = str(raw).strip()
        if value not in {c["value"] for c in f.choices}:
            raise ValueError(_l("Not one of the allowed values."))
        return value
    raise ValueError(f"unsupported type {f.type}")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def load_kinds(directory: Path, departments: set[str]) -> dict[str, Kind]:
    """Read and validate every ``*.yaml`` in ``directory`` (an absent directory means no kinds)."""
    kinds: dict[str, Kind] = {}
    if not directory.is_dir():
        return kinds
    errors: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        raw = _read_mapping(path)
        label = f"kind {raw.get('code', '?')}"
        try:
            data = _KindSchema().load(raw)
        except ValidationError as exc:
            errors += [f"{path}: {label}: field '{f}': {m}" for f, m in _flatten(exc.messages)]
            continue
        errors += _check_references(path, data, departments)
        if data["code"] in kinds:
            errors.append(f"{path}: {label}: field 'code': duplicate kind (also in {kinds[data['code']].source})")
            continue
        rules = data["entry_rules"] or {}
        kinds[data["code"]] = Kind(
            code=data["code"], name_zh=data["name_zh"], name_en=data["name_en"],
            subtypes=tuple(data["subtypes"]),
            fields=tuple(KindField(**{**f, "choices": tuple(f["choices"])}) for f in data["fields_"]),
            licences=tuple(data["licences"]), inspecting_departments=tuple(data["inspecting_departments"]),
            checklists=tuple(data["checklists"]), entry_rules=rules, source=str(path))
    if errors:
        raise ReferenceDataError("\n".join(errors))
    return kinds


def _check_references(path: Path, data: dict, departments: set[str]) -> list[str]:
    label = f"kind {data['code']}"
    errors = []
    for code in data["inspecting_departments"]:
        if code not in departments:
            errors.append(f"{path}: {label}: field 'inspecting_departments': unknown department {code}")
    for index, lic in enumerate(data["licences"], start=1):
        if lic["department"] not in departments:
            errors.append(f"{path}: {label}: licence {index} ({lic['type']}): field 'department': "
                          f"unknown department {lic['department']}")
    field_codes = [f["code"] for f in data["fields_"]]
    for dup in sorted({c for c in field_codes if field_codes.count(c) > 1}):
        errors.append(f"{path}: {label}: field 'fields': duplicate field {dup}")
    lic_types = [lic["type"] for lic in data["licences"]]
    for dup in sorted({c for c in lic_types if lic_types.count(c) > 1}):
        errors.append(f"{path}: {label}: field 'licences': duplicate licence type {dup}")
    rules = data.get("entry_rules") or {}
    for index, rule in enumerate(rules.get("attribute_rules") or [], start=1):
        if rule["field"] not in field_codes:
            errors.append(f"{path}: {label}: entry rule {index}: field 'field': unknown kind field {rule['field']}")
    return errors
