"""Reference data from ``registries/``: departments and regions, validated at start-up.

The YAML files are the source of truth; a bad file stops the application with an error that
names the file, the entry and the field, because running with a wrong department or region
list would silently mis-scope every account.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema


class ReferenceDataError(RuntimeError):
    """A registries/ file is unreadable or invalid."""


@dataclass(frozen=True)
class Department:
    code: str
    name_zh: str
    name_en: str
    short_zh: str
    short_en: str
    abbr: str
    inspects: bool
    formerly_zh: str | None = None

    def name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh

    def short(self, locale: str) -> str:
        return self.short_en if locale.startswith("en") else self.short_zh

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name_zh": self.name_zh, "name_en": self.name_en,
                "short_zh": self.short_zh, "short_en": self.short_en, "abbr": self.abbr,
                "inspects": self.inspects, "formerly_zh": self.formerly_zh}


@dataclass(frozen=True)
class Region:
    code: str
    level: str
    name_zh: str
    name_en: str
    seat_name_zh: str
    seat_lat: float
    seat_lon: float
    parent: str | None = None
    former_codes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_city(self) -> bool:
        return self.level == "city"

    def name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "level": self.level, "parent": self.parent,
                "name_zh": self.name_zh, "name_en": self.name_en,
                "seat": {"name_zh": self.seat_name_zh, "lat": self.seat_lat, "lon": self.seat_lon},
                "former_codes": list(self.former_codes)}


CODE = validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="must be lower-case letters, digits and _")
REGION_CODE = validate.Regexp(r"^\d{6}$", error="must be a 6-digit GB/T 2260 code")


class _DepartmentSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=CODE)
    name_zh = fields.String(required=True, validate=validate.Length(min=1))
    name_en = fields.String(required=True, validate=validate.Length(min=1))
    short_zh = fields.String(required=True, validate=validate.Length(min=1))
    short_en = fields.String(required=True, validate=validate.Length(min=1))
    abbr = fields.String(required=True, validate=validate.Length(min=1, max=10))
    inspects = fields.Boolean(required=True)
    formerly_zh = fields.String(load_default=None)


class _SeatSchema(Schema):
    class Meta:
        unknown = RAISE

    name_zh = fields.String(required=True)
    # Shuozhou lies well inside these bounds; anything outside is a typo or swapped lat/lon.
    lat = fields.Float(required=True, validate=validate.Range(min=18, max=54))
    lon = fields.Float(required=True, validate=validate.Range(min=73, max=135))


class _RegionSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=REGION_CODE)
    level = fields.String(required=True, validate=validate.OneOf(["city", "county"]))
    parent = fields.String(load_default=None, validate=REGION_CODE)
    name_zh = fields.String(required=True, validate=validate.Length(min=1))
    name_en = fields.String(required=True, validate=validate.Length(min=1))
    seat = fields.Nested(_SeatSchema, required=True)
    former_codes = fields.List(fields.String(validate=REGION_CODE), load_default=list)

    @validates_schema
    def _parent_by_level(self, data, **kwargs):
        if data["level"] == "county" and not data.get("parent"):
            raise ValidationError("a county needs its parent city", "parent")
        if data["level"] == "city" and data.get("parent"):
            raise ValidationError("a city has no parent", "parent")


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Turn marshmallow's nested error dict into (dotted field, message) pairs."""
    out: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "(entry)" if key == "_schema" else str(key)
            out += _flatten(value, f"{prefix}.{name}" if prefix else name)
    elif isinstance(messages, list):
        for value in messages:
            out += _flatten(value, prefix)
    else:
        out.append((prefix, str(messages)))
    return out


# libyaml's parser when PyYAML was built with it (5-10x faster: every app start reads ~50 files)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_error(path: Path, exc: yaml.YAMLError) -> str:
    """One line naming the file and the line and column where the parser gave up, e.g.
    ``checklists/x.yaml: not valid YAML at line 12, column 5: while parsing a block mapping: expected <block end>``."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and mark is not None and context_mark.line != mark.line:
        context = f"{context} (from line {context_mark.line + 1})"
    what = ": ".join(str(p) for p in (context, getattr(exc, "problem", None)) if p) or " ".join(str(exc).split())
    return f"{path}: not valid YAML{where}: {what}"


def _read_mapping(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader)
    except FileNotFoundError:
        raise ReferenceDataError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ReferenceDataError(yaml_error(path, exc)) from None
    if not isinstance(data, dict):
        raise ReferenceDataError(f"{path}: expected a mapping at the top level")
    return data


def _read_yaml(path: Path, top_key: str) -> list[dict]:
    data = _read_mapping(path)
    if not isinstance(data.get(top_key), list):
        raise ReferenceDataError(f"{path}: expected a mapping with a list under '{top_key}'")
    return data[top_key]


def _load_entries(path: Path, top_key: str, schema: Schema) -> list[dict]:
    raw = _read_yaml(path, top_key)
    errors: list[str] = []
    loaded: list[dict] = []
    for index, entry in enumerate(raw, start=1):
        label = f"entry {index}"
        if isinstance(entry, dict) and entry.get("code"):
            label += f" ({entry['code']})"
        if not isinstance(entry, dict):
            errors.append(f"{path}: {label}: must be a mapping")
            continue
        try:
            loaded.append(schema.load(entry))
        except ValidationError as exc:
            errors += [f"{path}: {label}: field '{f}': {m}" for f, m in _flatten(exc.messages)]
    seen: set[str] = set()
    for index, entry in enumerate(loaded, start=1):
        if entry["code"] in seen:
            errors.append(f"{path}: entry {index} ({entry['code']}): field 'code': duplicate code")
        seen.add(entry["code"])
    if errors:
        raise ReferenceDataError("\n".join(errors))
    return loaded


class ReferenceData:
    """Departments and regions of one deployment, read once at start-up."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.departments: dict[str, Department] = {}
        self.regions: dict[str, Region] = {}
        self.kinds: dict[str, Any] = {}
        self._load()
        from .registry.kinds import load_kinds
        self.kinds = load_kinds(self.directory / "kinds", set(self.departments))

    def _load(self) -> None:
        dep_path = self.directory / "departments.yaml"
        for entry in _load_entries(dep_path, "departments", _DepartmentSchema()):
            self.departments[entry["code"]] = Department(**entry)

        reg_path = self.directory / "regions.yaml"
        entries = _load_entries(reg_path, "regions", _RegionSchema())
        codes = {e["code"] for e in entries}
        errors = []
        cities = [e for e in entries if e["level"] == "city"]
        if len(cities) != 1:
            errors.append(f"{reg_path}: exactly one entry must have level 'city' (found {len(cities)})")
        for index, e in enumerate(entries, start=1):
            if e.get("parent") and e["parent"] not in codes:
                errors.append(f"{reg_path}: entry {index} ({e['code']}): field 'parent': "
                              f"unknown region {e['parent']}")
        if errors:
            raise ReferenceDataError("\n".join(errors))
        for e in entries:
            seat = e["seat"]
            self.regions[e["code"]] = Region(
                code=e["code"], level=e["level"], name_zh=e["name_zh"], name_en=e["name_en"],
                seat_name_zh=seat["name_zh"], seat_lat=seat["lat"], seat_lon=seat["lon"],
                parent=e.get("parent"), former_codes=tuple(e.get("former_codes") or ()))

    @property
    def city(self) -> Region:
        return next(r for r in self.regions.values() if r.is_city)

    @property
    def counties(self) -> list[Region]:
        return [r for r in self.regions.values() if not r.is_city]

    def region_contains(self, scope_code: str, region_code: str | None) -> bool:
        """Whether a user scoped to ``scope_code`` may act on something in ``region_code``."""
        if scope_code == self.city.code:
            return True
        return region_code == scope_code
