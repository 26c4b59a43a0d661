"""registries/: departments and regions, validated at start-up."""
import shutil
from pathlib import Path

import pytest

from inspect_app import create_app
from tests.conftest import APP_KEYS
from inspect_app.config import PROJECT_ROOT
from inspect_app.reference import ReferenceData, ReferenceDataError

REGISTRIES = PROJECT_ROOT / "registries"


def test_the_six_departments_and_seven_regions():
    ref = ReferenceData(REGISTRIES)
    assert set(ref.departments) == {"hrss", "samr", "culture", "police", "civil_affairs", "womens_federation"}
    assert ref.departments["samr"].name_zh == "朔州市市场监督管理局"
    assert ref.departments["samr"].formerly_zh == "工商行政管理局"
    assert ref.city.code == "140600"
    assert sorted(r.code for r in ref.counties) == ["140602", "140603", "140621", "140622", "140623", "140681"]
    assert ref.regions["140681"].former_codes == ("140624",)
    # 平鲁区's seat is 井坪镇, north-west of 朔城区
    assert ref.regions["140603"].seat_lat > ref.regions["140602"].seat_lat


def test_region_scope():
    ref = ReferenceData(REGISTRIES)
    assert ref.region_contains("140600", "140622")
    assert ref.region_contains("140602", "140602")
    assert not ref.region_contains("140602", "140681")


@pytest.fixture
def registries(tmp_path) -> Path:
    target = tmp_path / "registries"
    shutil.copytree(REGISTRIES, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("filename, old, new, expected", [
    ("regions.yaml", "lat: 39.52", "lat: 112.82", ["regions.yaml", "entry 4 (140621)", "seat.lat"]),
    ("regions.yaml", 'code: "140623"', 'code: "14062"', ["regions.yaml", "entry 6", "'code'"]),
    ("regions.yaml", 'parent: "140600"\n    name_zh: 应县', 'parent: "140699"\n    name_zh: 应县',
     ["regions.yaml", "entry 5 (140622)", "'parent'", "unknown region 140699"]),
    ("departments.yaml", "code: police", "code: hrss", ["departments.yaml", "entry 4 (hrss)", "duplicate"]),
    ("departments.yaml", "    name_en: Shuozhou Culture and Tourism Bureau\n", "",
     ["departments.yaml", "entry 3 (culture)", "'name_en'", "Missing data"]),
    ("departments.yaml", "inspects: true", "inspects: true\n    colour: red",
     ["departments.yaml", "entry 1 (hrss)", "'colour'", "Unknown field"]),
    ("departments.yaml", "departments:", "departments: [", ["departments.yaml", "not valid YAML"]),
])
def test_bad_file_names_file_entry_and_field(registries, filename, old, new, expected):
    _edit(registries / filename, old, new)
    with pytest.raises(ReferenceDataError) as exc:
        ReferenceData(registries)
    for part in expected:
        assert part in str(exc.value)


def test_bad_file_stops_the_app(registries):
    _edit(registries / "regions.yaml", "lon: 113.18", "lon: -113.18")
    with pytest.raises(ReferenceDataError, match=r"regions.yaml: entry 5 \(140622\): field 'seat.lon'"):
        create_app({**APP_KEYS, "REGISTRIES_DIR": str(registries), "TESTING": True})


def test_missing_file(registries):
    (registries / "departments.yaml").unlink()
    with pytest.raises(ReferenceDataError, match="departments.yaml: file not found"):
        ReferenceData(registries)
