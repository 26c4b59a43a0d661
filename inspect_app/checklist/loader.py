"""Reading and validating ``checklists/``: laws, parameters, the violation catalogue and the checklists.

Like ``registries/``, the files are the source of truth and are checked at start-up: a bad file stops
the application with every problem found, each naming the file, the entry (checklist and item) and the
field. Every reference must resolve: laws, departments, kinds and their subtypes, violation types and
parameters; every checklist a kind lists must exist and be that kind's; duplicate codes are refused.
A file that is not valid YAML is one problem (with the line and column) among the others: the other files
are still checked, and what refers to the unreadable file is not reported again.

``checklists/laws.yaml``, ``parameters.yaml`` and ``violation_types.yaml`` are the catalogue; every
other ``*.yaml`` there is one checklist (see checklists/README.md for the format).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..reference import CODE, ReferenceData, ReferenceDataError, _flatten, _read_mapping
from .catalogue import (AGE_COUNTING, ANSWER_TYPES, CONDITIONS, CONTENT_SCHEMA, FAIL_OPS, FINE_UNITS, MEASURES,
                        PAYERS, REFERRAL_TYPES, ROSTER_SUBJECTS, SEVERITIES, Checklist, ChecklistCatalogue,
                        ViolationType)

LAWS_FILE, PARAMETERS_FILE, VIOLATIONS_FILE = "laws.yaml", "parameters.yaml", "violation_types.yaml"
CATALOGUE_FILES = (LAWS_FILE, PARAMETERS_FILE, VIOLATIONS_FILE)
CONFIDENCE = ("Q", "Q2", "RC", "U")
CHECKLIST_CODE = validate.Regexp(r"^[a-z][a-z0-9_]{1,39}(\.[a-z][a-z0-9_]{1,39})+$",
                                 error="must be dotted lower-case codes, e.g. job_agency.hrss")
CODE_FROM_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}(\.[a-z][a-z0-9_]{1,39})+$")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
TEXT = validate.Length(min=1)


class ChecklistError(ReferenceDataError):
    """A checklists/ file is unreadable or invalid; the message lists every problem found."""


# --------------------------------------------------------------------------------------------
# Fields that accept what YAML gives

class _Article(fields.Field):
    """An article number: 32, "32" or "244-1" (刑法 第244条之一)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = "" if isinstance(value, bool) or value is None else str(value).strip()
        if not re.fullmatch(r"\d{1,4}(-\d{1,2})?", text):
            raise ValidationError('must be an article number such as 32 or "244-1"')
        return text


class _YesNo(fields.Field):
    """"yes" or "no"; YAML 1.1 reads a bare yes/no as a boolean, which is taken as meant."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return "yes" if value else "no"
        if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
            return value.strip().lower()
        raise ValidationError('must be "yes" or "no"')


class _Number(fields.Field):
    """An int or a float as written (not a boolean, not text)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("must be a number")
        return value


class _Scalar(fields.Field):
    """A number or a short text (a parameter's value)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValidationError("must be a number or a text")
        return value


class _Conditions(fields.Field):
    """One condition or a list of them (all must hold)."""

    def _deserialize(self, value, attr, data, **kwargs):
        values = value if isinstance(value, list) else [value]
        if not values or any(v not in CONDITIONS for v in values):
            raise ValidationError(f"must be one or a list of: {', '.join(CONDITIONS)}")
        return values


def _date_text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


class _Text(fields.Field):
    """A date or a year as YAML gives it (a date object or text), kept as text."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or isinstance(value, bool):
            raise ValidationError("must be a date or a year")
        return _date_text(value)


# --------------------------------------------------------------------------------------------
# Schemas

class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _LawSchema(_Strict):
    code = fields.String(required=True, validate=CODE)
    name_zh = fields.String(required=True, validate=TEXT)
    name_en = fields.String(required=True, validate=TEXT)
    document_zh = fields.String(load_default=None)
    date = _Text(load_default=None)
    in_force = _Text(load_default=None)
    source = fields.String(load_default=None)
    confidence = fields.String(required=True, validate=validate.OneOf(CONFIDENCE))


class _RefSchema(_Strict):
    law = fields.String(required=True)
    article = _Article(load_default=None)
    paragraph = fields.Integer(load_default=None, validate=validate.Range(min=1, max=50))
    item = fields.Integer(load_default=None, validate=validate.Range(min=1, max=50))
    unconfirmed = fields.Boolean(load_default=False)
    note_zh = fields.String(load_default=None)
    note_en = fields.String(load_default=None)


class _CrimeSchema(_RefSchema):
    name_zh = fields.String(required=True, validate=TEXT)
    name_en = fields.String(required=True, validate=TEXT)


class _UnconfirmedMixin:
    @validates_schema
    def _note_when_unconfirmed(self, data, **kwargs):
        if data.get("unconfirmed"):
            for name in ("unconfirmed_note_zh", "unconfirmed_note_en"):
                if not data.get(name):
                    raise ValidationError("an unconfirmed entry must say why, in both languages", name)


class _ValueFromSchema(_Strict):
    kind = fields.String(required=True)
    path = fields.String(required=True, validate=TEXT)


class _ParameterSchema(_Strict):
    code = fields.String(required=True, validate=CODE)
    label_zh = fields.String(required=True, validate=TEXT)
    label_en = fields.String(required=True, validate=TEXT)
    value = _Scalar(load_default=None)
    value_from = fields.Nested(_ValueFromSchema, load_default=None)
    unit = fields.String(load_default=None)
    choices = fields.List(fields.String(), load_default=None)
    unconfirmed = fields.Boolean(load_default=False)
    note_zh = fields.String(load_default=None)
    note_en = fields.String(load_default=None)

    @validates_schema
    def _check(self, data, **kwargs):
        if (data.get("value") is None) == (data.get("value_from") is None):
            raise ValidationError("give either value or value_from", "value")
        if data.get("choices") and data.get("value") is not None and data["value"] not in data["choices"]:
            raise ValidationError(f"must be one of {', '.join(data['choices'])}", "value")
        if data.get("unconfirmed") and not (data.get("note_zh") and data.get("note_en")):
            raise ValidationError("an unconfirmed figure must say where it came from, in both languages", "note_zh")


class _FineSchema(_Strict):
    min = _Number(required=True)
    max = _Number(required=True)
    unit = fields.String(required=True, validate=validate.OneOf(list(FINE_UNITS)))
    when = _Conditions(load_default=lambda: ["always"])
    payer = fields.String(load_default="entity", validate=validate.OneOf(list(PAYERS)))
    income_below = _Number(load_default=None)

    @validates_schema
    def _range(self, data, **kwargs):
        if data["min"] < 0 or data["max"] < data["min"]:
            raise ValidationError("min must be at least 0 and at most max", "max")


class _MeasureSchema(_Strict):
    type = fields.String(required=True, validate=validate.OneOf(list(MEASURES)))
    when = _Conditions(load_default=lambda: ["always"])
    months_min = fields.Integer(load_default=None, validate=validate.Range(min=1, max=24))
    months_max = fields.Integer(load_default=None, validate=validate.Range(min=1, max=24))

    @validates_schema
    def _months(self, data, **kwargs):
        if (data.get("months_min") or data.get("months_max")) and data["type"] != "suspend_business":
            raise ValidationError("only a suspension has months", "months_min")
        if data.get("months_min") and data.get("months_max") and data["months_max"] < data["months_min"]:
            raise ValidationError("months_max must be at least months_min", "months_max")


class _PenaltySchema(_Strict):
    article = fields.Nested(_RefSchema, load_default=None)
    text_zh = fields.String(required=True, validate=TEXT)
    text_en = fields.String(required=True, validate=TEXT)
    fines = fields.List(fields.Nested(_FineSchema), load_default=list)
    measures = fields.List(fields.Nested(_MeasureSchema), load_default=list)


class _RectificationSchema(_Strict):
    required = fields.Boolean(required=True)
    deadline_working_days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=365))

    @validates_schema
    def _deadline(self, data, **kwargs):
        if data["required"] and data.get("deadline_working_days") is None:
            raise ValidationError("an order to rectify needs a default deadline (0 = at once)",
                                  "deadline_working_days")


class _ReferralSchema(_Strict):
    type = fields.String(required=True, validate=validate.OneOf(list(REFERRAL_TYPES)))
    department = fields.String(required=True)
    mandatory = fields.Boolean(required=True)
    within_hours = fields.Integer(load_default=None, validate=validate.Range(min=1, max=720))
    crimes = fields.List(fields.Nested(_CrimeSchema), load_default=list)
    basis = fields.List(fields.Nested(_RefSchema), load_default=list)
    when_zh = fields.String(load_default=None)
    when_en = fields.String(load_default=None)

    @validates_schema
    def _criminal(self, data, **kwargs):
        if data["type"] == "criminal":
            if not data["crimes"]:
                raise ValidationError("a criminal referral names the Criminal Law articles", "crimes")
            if data.get("within_hours") is None:
                raise ValidationError("a criminal referral has a time limit (24 hours after approval)",
                                      "within_hours")
        elif data["crimes"]:
            raise ValidationError("only a criminal referral names crimes", "crimes")


class _ViolationTypeSchema(_UnconfirmedMixin, _Strict):
    code = fields.String(required=True, validate=CODE)
    title_zh = fields.String(required=True, validate=TEXT)
    title_en = fields.String(required=True, validate=TEXT)
    basis = fields.List(fields.Nested(_RefSchema), required=True, validate=validate.Length(min=1))
    penalty = fields.Nested(_PenaltySchema, load_default=None, allow_none=True)
    acting_department = fields.String(required=True)
    rectification = fields.Nested(_RectificationSchema, required=True)
    referral = fields.Nested(_ReferralSchema, load_default=None, allow_none=True)
    severity = fields.String(required=True, validate=validate.OneOf(list(SEVERITIES)))
    unconfirmed = fields.Boolean(load_default=False)
    unconfirmed_note_zh = fields.String(load_default=None)
    unconfirmed_note_en = fields.String(load_default=None)

    @validates_schema
    def _penalty(self, data, **kwargs):
        referral = data.get("referral") or {}
        criminal = referral.get("type") == "criminal" and referral.get("mandatory")
        if data.get("penalty") is None and not (criminal or data.get("unconfirmed")):
            raise ValidationError("required, unless the entry is a mandatory criminal referral or unconfirmed",
                                  "penalty")
        if data.get("penalty") and data["penalty"].get("article") is None and not data.get("unconfirmed"):
            raise ValidationError("the penalty article may be left out only when the entry is unconfirmed",
                                  "penalty.article")


class _FailIfSchema(_Strict):
    op = fields.String(required=True, validate=validate.OneOf(list(FAIL_OPS)))
    value = _Number(load_default=None)
    parameter = fields.String(load_default=None)

    @validates_schema
    def _one(self, data, **kwargs):
        if (data.get("value") is None) == (data.get("parameter") is None):
            raise ValidationError("give either value or parameter", "value")


class _RosterRuleSchema(_Strict):
    under = fields.Integer(required=True, validate=validate.Range(min=1, max=30))
    violation = fields.String(required=True)
    group = fields.String(load_default=None)


class _RosterSchema(_Strict):
    subject = fields.String(required=True, validate=validate.OneOf(list(ROSTER_SUBJECTS)))
    rules = fields.List(fields.Nested(_RosterRuleSchema), required=True, validate=validate.Length(min=1))

    @validates_schema
    def _unique(self, data, **kwargs):
        seen = set()
        for rule in data["rules"]:
            key = (rule.get("group") or rule["violation"], rule["under"])
            if key in seen:
                raise ValidationError(f"two rules for under {rule['under']} in one group", "rules")
            seen.add(key)


class _ItemSchema(_UnconfirmedMixin, _Strict):
    code = fields.String(required=True, validate=CODE)
    question_zh = fields.String(required=True, validate=TEXT)
    question_en = fields.String(required=True, validate=TEXT)
    answer_type = fields.String(required=True, validate=validate.OneOf(list(ANSWER_TYPES)))
    fail_on = _YesNo(load_default=None)
    fail_if = fields.Nested(_FailIfSchema, load_default=None)
    unit = fields.String(load_default=None)
    help_zh = fields.String(load_default="")
    help_en = fields.String(load_default="")
    basis = fields.List(fields.Nested(_RefSchema), required=True, validate=validate.Length(min=1))
    violation = fields.String(load_default=None)
    evidence_required = fields.Boolean(load_default=False)
    unconfirmed = fields.Boolean(load_default=False)
    unconfirmed_note_zh = fields.String(load_default=None)
    unconfirmed_note_en = fields.String(load_default=None)
    subtypes = fields.List(fields.String(), load_default=list)
    roster = fields.Nested(_RosterSchema, load_default=None)

    @validates_schema
    def _by_answer_type(self, data, **kwargs):
        kind = data["answer_type"]
        allowed = {"yes_no_na": {"fail_on"}, "number": {"fail_if", "unit"}, "staff_roster": {"roster"}}.get(kind, set())
        for name in ("fail_on", "fail_if", "unit", "roster"):
            if data.get(name) is not None and name not in allowed:
                raise ValidationError(f"not used by answer type {kind}", name)
        if kind == "yes_no_na" and data.get("violation") and not data.get("fail_on"):
            raise ValidationError('say which answer fails the item: "yes" or "no"', "fail_on")
        if kind == "number" and data.get("violation") and not data.get("fail_if"):
            raise ValidationError("say which values fail the item", "fail_if")
        if kind == "staff_roster":
            if not data.get("roster"):
                raise ValidationError("a staff roster needs its rules", "roster")
            if data.get("violation"):
                raise ValidationError("a staff roster raises the violations of its rules", "violation")


class _ChecklistSchema(_Strict):
    code = fields.String(required=True, validate=CHECKLIST_CODE)
    kind = fields.String(load_default=None)
    department = fields.String(load_default=None)
    joint = fields.Boolean(load_default=False)
    title_zh = fields.String(required=True, validate=TEXT)
    title_en = fields.String(required=True, validate=TEXT)
    description_zh = fields.String(load_default="")
    description_en = fields.String(load_default="")
    items = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))

    @validates_schema
    def _scope(self, data, **kwargs):
        if data["joint"]:
            for name in ("kind", "department"):
                if data.get(name):
                    raise ValidationError("a joint list belongs to no kind or department", name)
        else:
            for name in ("kind", "department"):
                if not data.get(name):
                    raise ValidationError("required (or set joint: true)", name)


# --------------------------------------------------------------------------------------------
# Reading

def _read(path: Path) -> dict:
    try:
        return _read_mapping(path)
    except ChecklistError:
        raise
    except ReferenceDataError as exc:
        raise ChecklistError(str(exc)) from None


def _schema_errors(where: str, exc: ValidationError) -> list[str]:
    return [f"{where}: field '{f}': {m}" for f, m in _flatten(exc.messages)]


class _Unreadable(set):
    """The failed codes of a catalogue file that could not be read at all: every code counts as failed,
    so that nothing referring to the file is reported again."""

    def __contains__(self, code) -> bool:
        return True


def _load_list(path: Path, top_key: str, noun: str, schema: Schema, errors: list[str]) -> tuple[dict, set]:
    """Entries of one catalogue file by code, and the codes of entries that failed (not reported twice).
    An unreadable file is reported once and gives no entries."""
    try:
        data = _read(path)
    except ChecklistError as exc:
        errors.append(str(exc))
        return {}, _Unreadable()
    raw = data.get(top_key)
    if not isinstance(raw, list):
        errors.append(f"{path}: expected a mapping with a list under '{top_key}'")
        return {}, _Unreadable()
    for key in data:
        if key != top_key and not str(key).startswith("_"):
            errors.append(f"{path}: field '{key}': unknown top-level key (only '{top_key}' and _anchors)")
    loaded: dict[str, dict] = {}
    bad: set[str] = set()
    for index, entry in enumerate(raw, start=1):
        code = entry.get("code") if isinstance(entry, dict) else None
        where = f"{path}: {noun} {index}" + (f" ({code})" if code else "")
        if not isinstance(entry, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        try:
            item = schema.load(entry)
        except ValidationError as exc:
            errors += _schema_errors(where, exc)
            if code:
                bad.add(str(code))
            continue
        if item["code"] in loaded or item["code"] in bad:
            errors.append(f"{where}: field 'code': duplicate code")
            continue
        item["_where"] = where
        loaded[item["code"]] = item
    return loaded, bad


# --------------------------------------------------------------------------------------------
# Citations

def _article_zh(article: str) -> str:
    main, _, sub = article.partition("-")
    return f"第{main}条" + (f"之{_cn(int(sub))}" if sub else "")


def _cn(number: int) -> str:
    import cn2an
    return cn2an.an2cn(number)


def citation(law: dict, ref: dict) -> dict:
    """A resolved citation: the law's names and the display texts in both languages."""
    zh, en = law["name_zh"], law["name_en"]
    if ref.get("article"):
        zh += " " + _article_zh(ref["article"])
        en += f", Art. {ref['article']}"
        if ref.get("paragraph"):
            zh += f"第{ref['paragraph']}款"
            en += f"({ref['paragraph']})"
        if ref.get("item"):
            zh += f"第（{_cn(ref['item'])}）项"
            en += f", item {ref['item']}"
    resolved = {"law": law["code"], "law_name_zh": law["name_zh"], "law_name_en": law["name_en"],
                "article": ref.get("article"), "paragraph": ref.get("paragraph"), "item": ref.get("item"),
                "display_zh": zh, "display_en": en,
                "unconfirmed": bool(ref.get("unconfirmed")) or law["confidence"] == "U",
                "note_zh": ref.get("note_zh"), "note_en": ref.get("note_en")}
    if "name_zh" in ref:
        resolved.update(name_zh=ref["name_zh"], name_en=ref["name_en"])
    return resolved


class _Resolver:
    """Resolves citations against laws.yaml, collecting 'unknown law' errors."""

    def __init__(self, laws: dict, bad_laws: set, errors: list[str]):
        self.laws, self.bad_laws, self.errors = laws, bad_laws, errors

    def ref(self, ref: dict, where: str, field_name: str) -> dict | None:
        law = self.laws.get(ref["law"])
        if law is None:
            if ref["law"] not in self.bad_laws:
                self.errors.append(f"{where}: field '{field_name}.law': unknown law {ref['law']} "
                                   f"(not in {LAWS_FILE})")
            return None
        return citation(law, ref)

    def refs(self, refs: list[dict], where: str, field_name: str) -> list[dict]:
        out = []
        for index, ref in enumerate(refs):
            resolved = self.ref(ref, where, f"{field_name}.{index}")
            if resolved:
                out.append(resolved)
        return out


def _unverified(citations: list[dict]) -> list[str]:
    return [c["display_zh"] for c in citations if c and c["unconfirmed"]]


# --------------------------------------------------------------------------------------------
# The catalogue files

def _load_parameters(path: Path, reference: ReferenceData, errors: list[str]) -> tuple[dict, set]:
    raw, bad = _load_list(path, "parameters", "parameter", _ParameterSchema(), errors)
    parameters = {}
    for code, entry in raw.items():
        where = entry.pop("_where")
        value, source = entry["value"], None
        if entry["value_from"]:
            kind_code, dotted = entry["value_from"]["kind"], entry["value_from"]["path"]
            kind = reference.kinds.get(kind_code)
            if kind is None:
                errors.append(f"{where}: field 'value_from.kind': unknown kind {kind_code}")
                bad.add(code)
                continue
            value = kind.to_dict()
            for part in dotted.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                errors.append(f"{where}: field 'value_from.path': {dotted} is not a figure of kind {kind_code}")
                bad.add(code)
                continue
            source = f"registries/kinds: {kind_code} {dotted}"
            if entry["choices"] and value not in entry["choices"]:
                errors.append(f"{where}: field 'value_from.path': {value!r} is not one of {entry['choices']}")
                bad.add(code)
                continue
        parameters[code] = {"code": code, "label_zh": entry["label_zh"], "label_en": entry["label_en"],
                            "value": value, "value_from": source, "unit": entry["unit"],
                            "unconfirmed": entry["unconfirmed"], "note_zh": entry["note_zh"],
                            "note_en": entry["note_en"]}
    return parameters, bad


def _load_violation_types(path: Path, resolver: _Resolver, reference: ReferenceData,
                          errors: list[str]) -> tuple[dict[str, ViolationType], set]:
    raw, bad = _load_list(path, "violation_types", "violation type", _ViolationTypeSchema(), errors)
    out: dict[str, ViolationType] = {}
    for code, entry in raw.items():
        where = entry.pop("_where")
        before = len(errors)
        basis = resolver.refs(entry["basis"], where, "basis")
        cited = list(basis)
        penalty = entry["penalty"]
        if penalty is not None:
            penalty = dict(penalty)
            if penalty["article"]:
                penalty["article"] = resolver.ref(penalty["article"], where, "penalty.article")
                cited.append(penalty["article"])
        referral = entry["referral"]
        if referral is not None:
            referral = dict(referral)
            referral["crimes"] = resolver.refs(referral["crimes"], where, "referral.crimes")
            referral["basis"] = resolver.refs(referral["basis"], where, "referral.basis")
            cited += referral["crimes"] + referral["basis"]
            if referral["department"] not in reference.departments:
                errors.append(f"{where}: field 'referral.department': unknown department {referral['department']}")
        if entry["acting_department"] not in reference.departments:
            errors.append(f"{where}: field 'acting_department': unknown department {entry['acting_department']}")
        unverified = _unverified(cited)
        if unverified and not entry["unconfirmed"]:
            errors.append(f"{where}: field 'unconfirmed': must be true: it cites {', '.join(unverified)}, "
                          f"which is not verified")
        if len(errors) > before:
            bad.add(code)
            continue
        out[code] = ViolationType.from_dict({**entry, "basis": basis, "penalty": penalty, "referral": referral})
    return out, bad


# --------------------------------------------------------------------------------------------
# Checklists

def _format_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _ChecklistContext:
    def __init__(self, reference, resolver, parameters, bad_parameters, violation_types, bad_violations, errors):
        self.reference, self.resolver, self.errors = reference, resolver, errors
        self.parameters, self.bad_parameters = parameters, bad_parameters
        self.violation_types, self.bad_violations = violation_types, bad_violations
        self.unreadable: set[str] = set()  # codes (from file names) of checklist files that are not valid YAML

    def parameter(self, code: str, where: str, field_name: str) -> dict | None:
        found = self.parameters.get(code)
        if found is None and code not in self.bad_parameters:
            self.errors.append(f"{where}: field '{field_name}': unknown parameter {code} (not in {PARAMETERS_FILE})")
        return found

    def violation(self, code: str, where: str, field_name: str) -> None:
        if code not in self.violation_types and code not in self.bad_violations:
            self.errors.append(f"{where}: field '{field_name}': unknown violation type {code} "
                               f"(not in {VIOLATIONS_FILE})")


def _fill(text: str, used: dict, ctx: _ChecklistContext, where: str, field_name: str) -> str:
    """Replace {parameter} placeholders with their configured figures."""
    def replace(match):
        parameter = ctx.parameter(match.group(1), where, field_name)
        if parameter is None:
            return match.group(0)
        used[parameter["code"]] = parameter
        return _format_value(parameter["value"])
    return PLACEHOLDER.sub(replace, text or "")


def _resolve_item(raw: dict, checklist: dict, kind, ctx: _ChecklistContext, where: str) -> tuple[dict | None, dict]:
    """An item's content (or None when it has errors) and the parameters it uses."""
    errors_before = len(ctx.errors)
    used: dict[str, dict] = {}
    item = dict(raw)
    texts = {}
    for name in ("question_zh", "question_en", "help_zh", "help_en"):
        texts[name] = _fill(item[name], used, ctx, where, name)
    basis = ctx.resolver.refs(item["basis"], where, "basis")
    fail_if = None
    if item["fail_if"]:
        fail_if = {"op": item["fail_if"]["op"], "value": item["fail_if"]["value"], "parameter": None}
        code = item["fail_if"]["parameter"]
        if code:
            parameter = ctx.parameter(code, where, "fail_if.parameter")
            if parameter is not None:
                if isinstance(parameter["value"], str):
                    ctx.errors.append(f"{where}: field 'fail_if.parameter': parameter {code} is not a number")
                fail_if.update(value=parameter["value"], parameter=code)
                used[code] = parameter
    if item["violation"]:
        ctx.violation(item["violation"], where, "violation")
    roster = None
    if item["roster"]:
        roster = {"subject": item["roster"]["subject"],
                  "rules": [{"under": r["under"], "violation": r["violation"], "group": r["group"] or r["violation"]}
                            for r in item["roster"]["rules"]]}
        for index, rule in enumerate(roster["rules"]):
            ctx.violation(rule["violation"], where, f"roster.rules.{index}.violation")
        counting = ctx.parameter("age_counts_from", where, "roster")
        if counting is not None:
            if counting["value"] not in AGE_COUNTING:
                ctx.errors.append(f"{where}: field 'roster': parameter age_counts_from must be one of "
                                  f"{', '.join(AGE_COUNTING)}")
            used["age_counts_from"] = counting
            roster["counts_from"] = counting["value"]
    if item["subtypes"]:
        if kind is None:
            ctx.errors.append(f"{where}: field 'subtypes': a joint list's items apply to every subtype")
        else:
            known = {s["code"] for s in kind.subtypes}
            for index, subtype in enumerate(item["subtypes"]):
                if subtype not in known:
                    ctx.errors.append(f"{where}: field 'subtypes.{index}': unknown subtype {subtype} of kind "
                                      f"{kind.code}")
    unverified = _unverified(basis) + [f"{p['code']} ({p['label_zh']})" for p in used.values() if p["unconfirmed"]]
    if unverified and not item["unconfirmed"]:
        ctx.errors.append(f"{where}: field 'unconfirmed': must be true: it relies on {', '.join(unverified)}, "
                          f"which is not verified")
    if len(ctx.errors) > errors_before:
        return None, used
    return {"code": f"{checklist['code']}.{item['code']}", "local_code": item["code"], "checklist": checklist["code"],
            **texts, "answer_type": item["answer_type"], "basis": basis, "fail_on": item["fail_on"],
            "fail_if": fail_if, "unit": item["unit"], "violation": item["violation"],
            "evidence_required": item["evidence_required"], "unconfirmed": item["unconfirmed"],
            "unconfirmed_note_zh": item["unconfirmed_note_zh"], "unconfirmed_note_en": item["unconfirmed_note_en"],
            "subtypes": item["subtypes"], "roster": roster}, used


def _load_checklist(path: Path, ctx: _ChecklistContext) -> tuple[dict | None, str | None]:
    """One checklist file: (content, code), or (None, code) when it has errors. A file that cannot be read
    is reported (with the line the parser stopped at) and its code guessed from its name (``<code>.yaml``),
    so that a kind listing it is not also told that the checklist is unknown."""
    try:
        raw = _read(path)
    except ChecklistError as exc:
        ctx.errors.append(str(exc))
        if CODE_FROM_NAME.match(path.stem):
            ctx.unreadable.add(path.stem)
        return None, None
    label = f"checklist {raw.get('code', '?')}"
    try:
        header = _ChecklistSchema().load(raw)
    except ValidationError as exc:
        ctx.errors += _schema_errors(f"{path}: {label}", exc)
        return None, raw.get("code") if isinstance(raw.get("code"), str) else None
    where = f"{path}: {label}"
    errors_before = len(ctx.errors)
    kind = None
    if not header["joint"]:
        kind = ctx.reference.kinds.get(header["kind"])
        if kind is None:
            ctx.errors.append(f"{where}: field 'kind': unknown kind {header['kind']}")
        if header["department"] not in ctx.reference.departments:
            ctx.errors.append(f"{where}: field 'department': unknown department {header['department']}")
        elif kind is not None and header["department"] not in kind.inspecting_departments:
            ctx.errors.append(f"{where}: field 'department': {header['department']} does not inspect kind "
                              f"{kind.code} (its inspecting_departments: {', '.join(kind.inspecting_departments)})")
    items, used, seen = [], {}, set()
    for index, raw_item in enumerate(header["items"], start=1):
        code = raw_item.get("code") if isinstance(raw_item, dict) else None
        item_where = f"{where}: item {index}" + (f" ({code})" if code else "")
        if not isinstance(raw_item, dict):
            ctx.errors.append(f"{item_where}: must be a mapping")
            continue
        try:
            item = _ItemSchema().load(raw_item)
        except ValidationError as exc:
            ctx.errors += _schema_errors(item_where, exc)
            continue
        if item["code"] in seen:
            ctx.errors.append(f"{item_where}: field 'code': duplicate item code in this checklist")
            continue
        seen.add(item["code"])
        resolved, item_used = _resolve_item(item, header, kind, ctx, item_where)
        used.update(item_used)
        if resolved:
            items.append(resolved)
    if len(ctx.errors) > errors_before:
        return None, header["code"]
    violation_codes = []
    for item in items:
        violation_codes += [item["violation"]] if item["violation"] else []
        violation_codes += [rule["violation"] for rule in (item["roster"] or {}).get("rules", [])]
    if any(code not in ctx.violation_types for code in violation_codes):
        return None, header["code"]  # an invalid catalogue entry, reported with the catalogue
    content = {
        "schema": CONTENT_SCHEMA, "code": header["code"], "kind": header["kind"], "department": header["department"],
        "joint": header["joint"], "title_zh": header["title_zh"], "title_en": header["title_en"],
        "description_zh": header["description_zh"], "description_en": header["description_en"],
        "items": items,
        "violation_types": {code: ctx.violation_types[code].to_dict() for code in sorted(set(violation_codes))},
        "parameters": {code: used[code] for code in sorted(used)},
    }
    return content, header["code"]


def _check_kinds(reference: ReferenceData, contents: dict[str, dict], sources: dict[str, Path],
                 bad: set, errors: list[str]) -> None:
    """Every checklist a kind lists exists and is that kind's (or joint); every kind's checklist is listed."""
    for kind in reference.kinds.values():
        for index, code in enumerate(kind.checklists):
            where = f"{kind.source}: kind {kind.code}: field 'checklists.{index}'"
            content = contents.get(code)
            if content is None:
                if code not in bad:
                    errors.append(f"{where}: unknown checklist {code} (no checklists/*.yaml has this code)")
            elif not content["joint"] and content["kind"] != kind.code:
                errors.append(f"{where}: checklist {code} is for kind {content['kind']}")
    for code, content in contents.items():
        if content["joint"] or content["kind"] not in reference.kinds:
            continue
        kind = reference.kinds[content["kind"]]
        if code not in kind.checklists:
            errors.append(f"{sources[code]}: checklist {code}: field 'kind': kind {kind.code} does not list this "
                          f"checklist (add it to 'checklists' in {Path(kind.source).name})")


def load_catalogue(directory: str | Path, reference: ReferenceData) -> ChecklistCatalogue:
    """Read and validate ``checklists/`` against the registries; raise ChecklistError listing every problem."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ChecklistError(f"{directory}: checklists directory not found")
    errors: list[str] = []
    laws, bad_laws = _load_list(directory / LAWS_FILE, "laws", "law", _LawSchema(), errors)
    for law in laws.values():
        law.pop("_where")
    resolver = _Resolver(laws, bad_laws, errors)
    parameters, bad_parameters = _load_parameters(directory / PARAMETERS_FILE, reference, errors)
    violation_types, bad_violations = _load_violation_types(directory / VIOLATIONS_FILE, resolver, reference, errors)
    ctx = _ChecklistContext(reference, resolver, parameters, bad_parameters, violation_types, bad_violations, errors)
    contents: dict[str, dict] = {}
    sources: dict[str, Path] = {}
    bad_checklists: set[str] = set()
    for path in sorted(directory.glob("*.yaml")):
        if path.name in CATALOGUE_FILES:
            continue
        content, code = _load_checklist(path, ctx)
        if code and (code in contents or code in bad_checklists):
            errors.append(f"{path}: checklist {code}: field 'code': duplicate checklist (also in "
                          f"{sources.get(code, 'another file')})")
            continue
        if code:
            sources[code] = path
        if content is None:
            if code:
                bad_checklists.add(code)
            continue
        contents[code] = content
    _check_kinds(reference, contents, sources, bad_checklists | ctx.unreadable, errors)
    if errors:
        raise ChecklistError("\n".join(errors))
    checklists = {code: Checklist.from_content(content, source=str(sources[code]))
                  for code, content in contents.items()}
    return ChecklistCatalogue(laws=laws, parameters=parameters, violation_types=violation_types,
                              checklists=checklists,
                              kind_checklists={k.code: tuple(k.checklists) for k in reference.kinds.values()},
                              directory=str(directory))
