"""Registry kinds are YAML: a new kind needs no code."""
import shutil
from pathlib import Path

import pytest

from inspect_app.config import PROJECT_ROOT
from inspect_app.reference import ReferenceData, ReferenceDataError

REGISTRIES = PROJECT_ROOT / "registries"

INTERNET_CAFE = """
code: internet_cafe
name_zh: 互联网上网服务营业场所
name_en: Internet cafe
subtypes: []
fields:
  - {code: terminals, label_zh: 终端台数, label_en: Terminals, type: integer, min: 1, max: 2000, required: true}
  - {code: chain, label_zh: 连锁品牌, label_en: Chain, type: choice, choices: [
      {value: none, label_zh: 非连锁, label_en: Independent}, {value: chain, label_zh: 连锁, label_en: Chain}]}
licences:
  - {type: network_culture_licence, name_zh: 网络文化经营许可证, name_en: Internet service licence,
     department: culture, required: true, basis: 互联网上网服务营业场所管理条例 第7条}
inspecting_departments: [culture]
checklists: []
entry_rules:
  sensitive_sites:
    site_kinds: [school]
    distance_m: 200
    decision: block
    basis: 互联网上网服务营业场所管理条例 第9条
  attribute_rules:
    - {field: terminals, op: gt, value: 500, decision: warn, basis: 示例, message_zh: 终端过多, message_en: Many terminals}
"""


def test_the_three_kinds():
    kinds = ReferenceData(REGISTRIES).kinds
    assert set(kinds) == {"job_agency", "marriage_agency", "entertainment_venue"}
    venue = kinds["entertainment_venue"]
    assert [s["code"] for s in venue.subtypes] == ["song_dance", "amusement"]
    assert {lic["type"]: lic["department"] for lic in venue.licences} == {
        "business_licence": "samr", "entertainment_licence": "culture", "police_filing": "police"}
    assert kinds["job_agency"].licence("hr_service_licence")["department"] == "hrss"
    assert venue.entry_rules["sensitive_sites"]["distance_m"] == 200


@pytest.fixture
def registries(tmp_path) -> Path:
    target = tmp_path / "registries"
    shutil.copytree(REGISTRIES, target)
    return target


def test_a_kind_added_by_yaml_alone_works_end_to_end(registries, make_app, make_user):
    (registries / "kinds" / "internet_cafe.yaml").write_text(INTERNET_CAFE, encoding="utf-8")
    app = make_app(REGISTRIES_DIR=str(registries))
    client = app.test_client()
    make_user("cafe.desk", roles=("registrar",), department="culture", region="140602")
    token = client.post("/api/v1/auth/token", json={"username": "cafe.desk", "password": "correct-horse-battery"})
    headers = {"Authorization": f"Bearer {token.json['token']}"}
    assert "internet_cafe" in [k["code"] for k in client.get("/api/v1/kinds", headers=headers).json["items"]]
    from tests.registry_helpers import new_code
    data = {"kind": "internet_cafe", "name": "朔城区极速网咖", "credit_code": new_code(), "address": "朔城区鄯阳街1号",
            "region_code": "140602", "attributes": {"terminals": 600, "chain": "chain"}}
    check = client.post("/api/v1/entities/check", json=data, headers=headers).json
    assert check["decision"] == "warn" and "rule_terminals" in [f["code"] for f in check["findings"]]
    bad = client.post("/api/v1/entities", json=dict(data, attributes={"terminals": 0, "chain": "franchise"}),
                      headers=headers)
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"attributes.terminals", "attributes.chain"}
    created = client.post("/api/v1/entities", json=data, headers=headers)
    assert created.status_code == 201, created.json
    licence = client.post(f"/api/v1/entities/{created.json['id']}/licences",
                          json={"type": "network_culture_licence", "number": "WW-1"}, headers=headers)
    assert licence.status_code == 201 and licence.json["department"] == "culture"
    from tests.conftest import AuthActions
    AuthActions(client).login("cafe.desk")
    page = client.get("/registry/new/internet_cafe").data.decode()
    assert "终端台数" in page and "连锁品牌" in page  # the desk's form is generic too


@pytest.mark.parametrize("old, new, expected", [
    ("inspecting_departments: [hrss, samr]", "inspecting_departments: [hrss, tax]",
     ["job_agency.yaml", "kind job_agency", "'inspecting_departments'", "unknown department tax"]),
    ("department: hrss,", "department: labour,", ["kind job_agency", "licence 2 (hr_service_licence)", "labour"]),
    ("type: integer, min: 0, max: 100000}", "type: integr, min: 0, max: 100000}", ["kind job_agency", "fields.1.type"]),
])
def test_bad_kind_file_names_file_kind_and_field(registries, old, new, expected):
    path = registries / "kinds" / "job_agency.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ReferenceDataError) as exc:
        ReferenceData(registries)
    for part in expected:
        assert part in str(exc.value)


def test_rule_on_unknown_field(registries):
    path = registries / "kinds" / "entertainment_venue.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("- field: in_residential_building",
                                                             "- field: in_a_house"), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="entry rule 1: field 'field': unknown kind field in_a_house"):
        ReferenceData(registries)
