"""Working days of the Chinese calendar (with adjusted working days, 调休), for statutory clocks
and schedules. chinesecalendar answers for the years it covers; registries/holidays.yaml can add
a newly announced year; beyond both, Monday to Friday, reported as unconfirmed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import yaml

from .reference import ReferenceDataError


@dataclass
class HolidayOverrides:
    holidays: set[date] = field(default_factory=set)
    workdays: set[date] = field(default_factory=set)
    years: set[int] = field(default_factory=set)


def load_overrides(path: Path) -> HolidayOverrides:
    overrides = HolidayOverrides()
    if not path.exists():
        return overrides
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ReferenceDataError(f"{path}: not valid YAML: {exc}") from None
    years = data.get("years") or {}
    if not isinstance(years, dict):
        raise ReferenceDataError(f"{path}: field 'years': expected a mapping of year to lists")
    for year, entry in years.items():
        for key in ("holidays", "workdays"):
            for index, raw in enumerate((entry or {}).get(key) or [], start=1):
                try:
                    day = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
                except ValueError:
                    raise ReferenceDataError(f"{path}: year {year}: field '{key}' entry {index}: "
                                             f"not a date: {raw!r}") from None
                if day.year != int(year):
                    raise ReferenceDataError(f"{path}: year {year}: field '{key}' entry {index}: "
                                             f"{day} is not in {year}")
                getattr(overrides, key).add(day)
        overrides.years.add(int(year))
    return overrides


_DEFAULT_PATH = Path(__file__).resolve().parent.parent / "registries" / "holidays.yaml"
_overrides: HolidayOverrides | None = None


def overrides() -> HolidayOverrides:
    global _overrides
    if _overrides is None:
        _overrides = load_overrides(_DEFAULT_PATH)
    return _overrides


def coverage(day: date) -> str:
    """'official' (chinesecalendar), 'override' (holidays.yaml) or 'weekdays' (unconfirmed)."""
    if day.year in overrides().years:
        return "override"
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return "weekdays"
    return "official"


def is_workday(day: date) -> bool:
    extra = overrides()
    if day.year in extra.years:
        if day in extra.workdays:
            return True
        if day in extra.holidays:
            return False
        return day.weekday() < 5
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def workdays_between(start: date, end: date) -> list[date]:
    """Working days from start to end, both included."""
    days, day = [], start
    while day <= end:
        if is_workday(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def add_workdays(start: date, count: int) -> date:
    """The date ``count`` working days after ``start`` (行政处罚法 Art 85: the first day is not counted)."""
    day, left = start, count
    while left > 0:
        day += timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day
