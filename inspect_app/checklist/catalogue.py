"""The loaded checklists and violation catalogue, as frozen data.

Everything here is built from *content*: the plain, JSON-safe dict a checklist resolves to (its items,
the catalogue entries and parameters they use, law names and display texts filled in). The same
constructor serves the YAML loaded at start-up and a version pinned in the database years ago, so a
pinned checklist renders exactly as it did when an inspection used it. The version is the SHA-256 of
the canonical JSON of that content.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from flask_babel import lazy_gettext as _l

CONTENT_SCHEMA = 1  # bump only with a reader that still understands every older pinned version

ANSWER_TYPES = {
    "yes_no_na": _l("Yes / no / not applicable"),
    "number": _l("Number"),
    "text": _l("Text"),
    "staff_roster": _l("Staff roster"),
    "photo": _l("Photo"),
}
SEVERITIES = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High"), "critical": _l("Critical")}
FINE_UNITS = {
    "yuan": _l("yuan"),
    "yuan_per_person": _l("yuan per person"),
    "yuan_per_person_month": _l("yuan per person per month"),
    "multiple_of_illegal_income": _l("times the illegal income"),
    "multiple_of_advertising_fee": _l("times the advertising fee"),
}
CONDITIONS = {
    "always": _l("always"),
    "has_illegal_income": _l("with illegal income"),
    "no_illegal_income": _l("with no illegal income"),
    "refused_to_rectify": _l("on refusal to correct"),
    "serious": _l("in serious cases"),
    "refused_or_serious": _l("on refusal to correct or in serious cases"),
    "not_returned_by_deadline": _l("if not returned by the deadline"),
    "fee_known": _l("advertising fee known"),
    "fee_unknown": _l("advertising fee unknown or clearly low"),
}
PAYERS = {"entity": _l("the business"), "responsible_persons": _l("the managers responsible")}
MEASURES = {
    "warning": _l("Warning"),
    "order_to_stop": _l("Order to stop"),
    "confiscate_illegal_income": _l("Confiscation of illegal income"),
    "confiscate_illegal_property": _l("Confiscation of illegal property"),
    "order_refund": _l("Order to refund"),
    "order_return_documents": _l("Order to return the documents"),
    "order_return_child": _l("Order to return the child to the guardians"),
    "suspend_business": _l("Suspension of business"),
    "revoke_licence": _l("Revocation of the licence"),
    "revoke_business_licence": _l("Revocation of the business licence"),
    "close": _l("Closure"),
    "ban": _l("Shut down (取缔)"),
    "stop_advertisement": _l("Order to stop the advertisement"),
}
REFERRAL_TYPES = {"criminal": _l("Criminal referral"), "case": _l("Case transfer")}
ROSTER_SUBJECTS = {"staff": _l("Staff"), "placed_persons": _l("Job seekers and people placed")}
FAIL_OPS = {"lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}
AGE_COUNTING = ("birthday", "day_after_birthday")


def canonical_json(content: Any) -> bytes:
    """The one serialisation a version is computed over (sorted keys, no spaces, UTF-8)."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def content_version(content: dict) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def _en(locale: str | None) -> bool:
    return bool(locale) and str(locale).startswith("en")


@dataclass(frozen=True)
class ViolationType:
    """An entry of the violation catalogue: what a failed item raises and what follows from it."""

    code: str
    title_zh: str
    title_en: str
    basis: tuple = ()
    penalty: dict | None = None
    acting_department: str = ""
    rectification: dict = field(default_factory=dict)
    referral: dict | None = None
    severity: str = "medium"
    unconfirmed: bool = False
    unconfirmed_note_zh: str | None = None
    unconfirmed_note_en: str | None = None

    @classmethod
    def from_dict(cls, data: dict) -> ViolationType:
        return cls(**{**data, "basis": tuple(data["basis"])})

    def to_dict(self) -> dict:
        return {"code": self.code, "title_zh": self.title_zh, "title_en": self.title_en, "basis": list(self.basis),
                "penalty": self.penalty, "acting_department": self.acting_department,
                "rectification": self.rectification, "referral": self.referral, "severity": self.severity,
                "unconfirmed": self.unconfirmed, "unconfirmed_note_zh": self.unconfirmed_note_zh,
                "unconfirmed_note_en": self.unconfirmed_note_en}

    def title(self, locale: str | None) -> str:
        return self.title_en if _en(locale) else self.title_zh

    @property
    def criminal_referral(self) -> bool:
        """A suspected crime: transferred to the police within 24 h of approval, never replaced by a fine."""
        return bool(self.referral and self.referral["type"] == "criminal" and self.referral["mandatory"])


@dataclass(frozen=True)
class ChecklistItem:
    """One question of a checklist with its legal basis and the violation a failure raises.

    Failure: ``yes_no_na`` fails when the answer equals ``fail_on`` ("yes" for questions phrased
    as "is there ...?"), never on "na"; ``number`` fails when ``value <op> threshold`` holds
    (``fail_if``); ``staff_roster`` fails when :func:`evaluate_roster` proposes a violation;
    ``text`` and ``photo`` never fail by themselves (the inspector may still mark them failed).
    """

    code: str
    local_code: str
    checklist: str
    question_zh: str
    question_en: str
    answer_type: str
    basis: tuple = ()
    fail_on: str | None = None
    fail_if: dict | None = None
    unit: str | None = None
    help_zh: str = ""
    help_en: str = ""
    violation: str | None = None
    evidence_required: bool = False
    unconfirmed: bool = False
    unconfirmed_note_zh: str | None = None
    unconfirmed_note_en: str | None = None
    subtypes: tuple = ()
    roster: dict | None = None

    @classmethod
    def from_dict(cls, data: dict) -> ChecklistItem:
        return cls(**{**data, "basis": tuple(data["basis"]), "subtypes": tuple(data.get("subtypes") or ())})

    def to_dict(self) -> dict:
        return {"code": self.code, "local_code": self.local_code, "checklist": self.checklist,
                "question_zh": self.question_zh, "question_en": self.question_en, "answer_type": self.answer_type,
                "basis": list(self.basis), "fail_on": self.fail_on, "fail_if": self.fail_if, "unit": self.unit,
                "help_zh": self.help_zh, "help_en": self.help_en, "violation": self.violation,
                "evidence_required": self.evidence_required, "unconfirmed": self.unconfirmed,
                "unconfirmed_note_zh": self.unconfirmed_note_zh, "unconfirmed_note_en": self.unconfirmed_note_en,
                "subtypes": list(self.subtypes), "roster": self.roster}

    def question(self, locale: str | None) -> str:
        return self.question_en if _en(locale) else self.question_zh

    def help(self, locale: str | None) -> str:
        return self.help_en if _en(locale) else self.help_zh

    def applies_to(self, subtype: str | None) -> bool:
        return not self.subtypes or subtype is None or subtype in self.subtypes

    @property
    def violations(self) -> tuple[str, ...]:
        """Every catalogue code this item can raise (a roster item raises its rules' violations)."""
        if self.roster:
            return tuple(dict.fromkeys(rule["violation"] for rule in self.roster["rules"]))
        return (self.violation,) if self.violation else ()

    def fails(self, answer: Any) -> bool | None:
        """Whether an answer fails the item; None when the item has no automatic rule."""
        if self.answer_type == "yes_no_na" and self.fail_on:
            value = {True: "yes", False: "no"}.get(answer, str(answer).strip().lower() if answer is not None else "")
            return None if value not in ("yes", "no", "na") else value == self.fail_on
        if self.answer_type == "number" and self.fail_if:
            if answer is None or isinstance(answer, bool):
                return None
            try:
                number = float(answer)
            except (TypeError, ValueError):
                return None
            threshold, op = self.fail_if["value"], self.fail_if["op"]
            return {"lt": number < threshold, "lte": number <= threshold,
                    "gt": number > threshold, "gte": number >= threshold}[op]
        return None


@dataclass(frozen=True)
class Checklist:
    """A checklist as data: built from its content, whether just loaded or pinned long ago."""

    code: str
    kind: str | None
    department: str | None
    joint: bool
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    items: tuple[ChecklistItem, ...]
    violation_types: dict
    parameters: dict
    version: str
    content: dict = field(repr=False, compare=False)
    source: str = ""

    @classmethod
    def from_content(cls, content: dict, source: str = "") -> Checklist:
        if content.get("schema") != CONTENT_SCHEMA:
            raise ValueError(f"checklist content schema {content.get('schema')!r} is not supported")
        return cls(code=content["code"], kind=content["kind"], department=content["department"],
                   joint=content["joint"], title_zh=content["title_zh"], title_en=content["title_en"],
                   description_zh=content["description_zh"], description_en=content["description_en"],
                   items=tuple(ChecklistItem.from_dict(item) for item in content["items"]),
                   violation_types={code: ViolationType.from_dict(entry)
                                    for code, entry in content["violation_types"].items()},
                   parameters=dict(content["parameters"]), version=content_version(content),
                   content=content, source=source)

    def title(self, locale: str | None) -> str:
        return self.title_en if _en(locale) else self.title_zh

    def description(self, locale: str | None) -> str:
        return self.description_en if _en(locale) else self.description_zh

    def item(self, code: str) -> ChecklistItem | None:
        return next((i for i in self.items if code in (i.code, i.local_code)), None)

    @property
    def short_version(self) -> str:
        return self.version[:12]

    @property
    def unconfirmed_count(self) -> int:
        return sum(1 for item in self.items if item.unconfirmed)


def violation_catalogue_content(violation_types: dict[str, ViolationType]) -> dict:
    """Every catalogue entry as plain data: the content a pinned violation catalogue is hashed over."""
    return {"schema": CONTENT_SCHEMA,
            "violation_types": {code: violation_types[code].to_dict() for code in sorted(violation_types)}}


def violation_types_from_content(content: dict) -> dict[str, ViolationType]:
    if content.get("schema") != CONTENT_SCHEMA:
        raise ValueError(f"violation catalogue content schema {content.get('schema')!r} is not supported")
    return {code: ViolationType.from_dict(entry) for code, entry in content["violation_types"].items()}


class ChecklistCatalogue:
    """Every checklist, the violation catalogue, the laws and the parameters of one deployment."""

    def __init__(self, laws: dict, parameters: dict, violation_types: dict[str, ViolationType],
                 checklists: dict[str, Checklist], kind_checklists: dict[str, tuple[str, ...]],
                 directory: str = ""):
        self.laws = laws
        self.parameters = parameters
        self.violation_types = violation_types
        self.checklists = checklists
        self.kind_checklists = kind_checklists
        self.directory = directory
        self._violation_content: dict | None = None

    @property
    def violation_content(self) -> dict:
        """The violation catalogue as content (what an inspection pins beside its checklists)."""
        if self._violation_content is None:
            self._violation_content = violation_catalogue_content(self.violation_types)
        return self._violation_content

    @property
    def violation_version(self) -> str:
        return content_version(self.violation_content)

    def for_kind(self, kind: str) -> list[Checklist]:
        """What an inspection of ``kind`` carries: the kind's checklists in its order, then any joint
        list it does not name (the red flags go with every inspection)."""
        codes = list(self.kind_checklists.get(kind, ()))
        codes += [c.code for c in self.checklists.values() if c.joint and c.code not in codes]
        return [self.checklists[code] for code in codes if code in self.checklists]

    def select(self, kind: str | None = None, department: str | None = None) -> list[Checklist]:
        """Checklists for a kind and/or an inspecting department; joint lists match every department."""
        if kind:
            found = self.for_kind(kind)
        else:  # kind by kind in the registry's order, the joint lists last
            found = [c for k in self.kind_checklists for c in self.for_kind(k) if not c.joint]
            found += [c for c in self.checklists.values() if c not in found and not c.joint]
            found += [c for c in self.checklists.values() if c.joint]
        if department:
            found = [c for c in found if c.joint or c.department == department]
        return found

    def checklists_using(self, violation_code: str) -> list[str]:
        return [c.code for c in self.checklists.values()
                if any(violation_code in item.violations for item in c.items)]

    def violation_types_for(self, kind: str | None = None, department: str | None = None) -> list[ViolationType]:
        """Catalogue entries raised by a kind's checklists and/or acted on by a department."""
        entries: Iterable[ViolationType] = self.violation_types.values()
        if kind:
            used = {code for c in self.for_kind(kind) for item in c.items for code in item.violations}
            entries = [v for v in entries if v.code in used]
        if department:
            entries = [v for v in entries if v.acting_department == department
                       or (v.referral and v.referral["department"] == department)]
        return list(entries)

    def roster_item(self, kind: str, item_code: str | None = None) -> ChecklistItem | None:
        """The staff-roster item of a kind's checklists (the named one, else the first)."""
        for checklist in self.for_kind(kind):
            for item in checklist.items:
                if item.answer_type == "staff_roster" and item_code in (None, item.code, item.local_code):
                    return item
        return None

    def parameter(self, code: str, default: Any = None) -> Any:
        entry = self.parameters.get(code)
        return entry["value"] if entry else default
