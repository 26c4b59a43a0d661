"""registries/enforcement.yaml: the statutory clocks and the hearing thresholds, read and checked once."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from flask import current_app

from ..reference import ReferenceDataError

CLOCK_INTS = ("hearing_request_working_days", "statement_working_days", "decision_days",
              "labour_investigation_working_days", "labour_extension_working_days", "criminal_transfer_hours",
              "payment_days", "publication_working_days", "due_soon_working_days", "decision_extension_days",
              "decision_service_working_days", "announcement_days", "late_fee_percent_per_day")
CLOCK_BASES = ("hearing_request", "statement", "decision", "labour", "criminal_transfer", "payment", "publication",
               "decision_extension", "decision_service", "announcement", "late_fee", "payment_roll")
DEPARTMENT_LISTS = ("labour_departments", "decision_extension_departments")


@dataclass(frozen=True)
class HearingThreshold:
    department: str
    natural_person: int
    organisation: int
    unconfirmed: bool
    note_zh: str
    note_en: str

    def for_party(self, party_type: str) -> int:
        return self.natural_person if party_type == "natural_person" else self.organisation

    def note(self, locale: str | None) -> str:
        return self.note_en if str(locale or "").startswith("en") else self.note_zh


@dataclass(frozen=True)
class EnforcementRules:
    clocks: dict
    thresholds: dict[str, HearingThreshold]

    def threshold(self, department: str) -> HearingThreshold:
        return self.thresholds.get(department) or self.thresholds["default"]

    def basis(self, code: str, locale: str | None) -> str:
        suffix = "en" if str(locale or "").startswith("en") else "zh"
        return self.clocks[f"{code}_basis_{suffix}"]

    def unconfirmed(self, code: str) -> bool:
        """The figure was recalled, not read in its source: verify before go-live."""
        return bool(self.clocks.get(f"{code}_unconfirmed"))


def load_rules(path: Path, departments: set[str]) -> EnforcementRules:
    """Read the file; any problem raises ReferenceDataError naming the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ReferenceDataError(f"{path}: cannot be read: {exc}") from None
    errors = []
    clocks = data.get("clocks") or {}
    for key in CLOCK_INTS:
        value = clocks.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            errors.append(f"{path}: clocks: field '{key}': a whole number of days (or hours) >= 0 is required")
    for code in CLOCK_BASES:
        for suffix in ("zh", "en"):
            if not str(clocks.get(f"{code}_basis_{suffix}") or "").strip():
                errors.append(f"{path}: clocks: field '{code}_basis_{suffix}': the legal basis is required")
    lists = {}
    for key in DEPARTMENT_LISTS:
        lists[key] = tuple(clocks.get(key) or ())
        for code in lists[key]:
            if code not in departments:
                errors.append(f"{path}: clocks: field '{key}': unknown department {code!r}")
    percent = clocks.get("late_fee_percent_per_day")
    if isinstance(percent, int) and percent > 100:
        errors.append(f"{path}: clocks: field 'late_fee_percent_per_day': a percentage of at most 100 is required")
    thresholds: dict[str, HearingThreshold] = {}
    for index, entry in enumerate(data.get("hearing_thresholds") or [], start=1):
        where = f"{path}: hearing_thresholds entry {index}"
        code = entry.get("department")
        if code != "default" and code not in departments:
            errors.append(f"{where}: field 'department': unknown department {code!r}")
            continue
        figures = {}
        for key in ("natural_person", "organisation"):
            value = entry.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                errors.append(f"{where}: field '{key}': an amount in yuan > 0 is required")
            figures[key] = value
        if not entry.get("note_zh") or not entry.get("note_en"):
            errors.append(f"{where}: fields 'note_zh' and 'note_en' say where the figure comes from")
        thresholds[code] = HearingThreshold(department=code, unconfirmed=bool(entry.get("unconfirmed")),
                                            note_zh=entry.get("note_zh") or "", note_en=entry.get("note_en") or "",
                                            **figures)
    if "default" not in thresholds:
        errors.append(f"{path}: hearing_thresholds: a 'default' entry is required")
    if errors:
        raise ReferenceDataError("\n".join(errors))
    return EnforcementRules(clocks=dict(clocks, **lists), thresholds=thresholds)


def rules() -> EnforcementRules:
    return current_app.extensions["inspect_enforcement"]
