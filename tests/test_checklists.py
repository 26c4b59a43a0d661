"""checklists/: every file loads, every reference resolves, a broken file says exactly where, a new
kind's checklist is YAML alone, versions are content hashes that inspections pin, and the pages and
the API show it all in both languages."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from inspect_app import create_app
from inspect_app.checklist.catalogue import canonical_json
from inspect_app.checklist.loader import ChecklistError, load_catalogue
from inspect_app.config import PROJECT_ROOT
from inspect_app.reference import ReferenceData, ReferenceDataError
from tests.conftest import APP_KEYS, ENV_KEYS, AuthActions

CHECKLISTS = PROJECT_ROOT / "checklists"
REGISTRIES = PROJECT_ROOT / "registries"
ALL = {"job_agency.hrss", "job_agency.samr", "marriage_agency.samr", "entertainment_venue.culture",
       "entertainment_venue.hrss", "joint.red_flags"}


def catalogue(checklists: Path = CHECKLISTS, registries: Path = REGISTRIES):
    return load_catalogue(checklists, ReferenceData(registries))


# --------------------------------------------------------------------------------------------
# The shipped files

def test_every_file_loads_and_every_reference_resolves():
    cat = catalogue()
    ref = ReferenceData(REGISTRIES)
    assert set(cat.checklists) == ALL
    for kind in ref.kinds.values():
        for code in kind.checklists:
            checklist = cat.checklists[code]
            assert checklist.joint or checklist.kind == kind.code
            assert checklist.joint or checklist.department in kind.inspecting_departments
    for checklist in cat.checklists.values():
        for item in checklist.items:
            assert item.code == f"{checklist.code}.{item.local_code}"
            assert item.basis and all(c["display_zh"] and c["display_en"] for c in item.basis)
            for code in item.violations:
                assert code in cat.violation_types and code in checklist.violation_types
    for entry in cat.violation_types.values():
        assert entry.acting_department in ref.departments
        assert entry.referral is None or entry.referral["department"] in ref.departments
    codes = [item.code for c in cat.checklists.values() for item in c.items]
    assert len(codes) == len(set(codes))  # item codes are unique across checklists


def test_every_inspection_carries_the_red_flags():
    cat = catalogue()
    for kind in ("job_agency", "marriage_agency", "entertainment_venue"):
        assert "joint.red_flags" in [c.code for c in cat.for_kind(kind)]
    assert [c.code for c in cat.for_kind("entertainment_venue")] == [
        "entertainment_venue.culture", "entertainment_venue.hrss", "joint.red_flags"]


def _local(cat, code):
    return {item.local_code: item for item in cat.checklists[code].items}


def test_the_content_the_issue_asks_for():
    cat = catalogue()
    agency = _local(cat, "job_agency.hrss")
    assert {"licence_held", "display", "ledger", "false_information", "deposits", "ids_detained", "placed_persons",
            "illegal_activity"} <= set(agency)
    assert "保存2年以上" in agency["ledger"].question_zh  # the figure comes from parameters.yaml
    assert agency["deposits"].violation == "ja_deposit_taken"
    marriage = _local(cat, "marriage_agency.samr")
    assert {"business_licence_displayed", "false_marriage_ads", "foreign_marriage", "fees_disclosed"} <= set(marriage)
    venue = _local(cat, "entertainment_venue.culture")
    assert {"entertainment_licence", "police_filing", "cctv_retention_days", "minors_admitted", "staff_register",
            "business_log_days", "opening_hours", "signs", "rooms", "art14_drugs", "art14_prostitution",
            "art14_gambling"} <= set(venue)
    assert venue["cctv_retention_days"].fail_if == {"op": "lt", "value": 30, "parameter": "cctv_retention_days"}
    assert venue["business_log_days"].fail_if["value"] == 60
    assert "02:00" in venue["opening_hours"].question_en
    roster = _local(cat, "entertainment_venue.hrss")["staff_roster"]
    assert [(r["under"], r["violation"]) for r in roster.roster["rules"]] == [
        (16, "child_labour_employment"), (18, "ev_minors_employed"), (14, "child_labour_criminal")]


def test_failure_rules_per_answer_type():
    cat = catalogue()
    venue = _local(cat, "entertainment_venue.culture")
    positive, negative = venue["cctv_running"], venue["minors_admitted"]
    assert positive.fail_on == "no" and positive.fails("no") and not positive.fails("yes")
    assert negative.fail_on == "yes" and negative.fails("yes") and negative.fails(True) and not negative.fails("no")
    assert positive.fails("na") is False and positive.fails("maybe") is None
    days = venue["cctv_retention_days"]
    assert days.fails(29) and days.fails("7") and not days.fails(30) and days.fails(None) is None
    assert venue["notes"].fails("anything") is None and venue["site_photo"].fails(None) is None
    assert venue["rooms"].applies_to("song_dance") and not venue["rooms"].applies_to("amusement")


def test_unconfirmed_facts_are_marked_and_configurable():
    """domain.md [U]: the Shanxi school distance (the entry rule's figure, one place), the 2022 renumbering of
    the Measures, the 1994 notice, the recalled Provisions on Employment Services."""
    cat = catalogue()
    venue = _local(cat, "entertainment_venue.culture")
    distance = venue["school_distance_m"]
    assert distance.unconfirmed and distance.unconfirmed_note_zh
    kind_distance = ReferenceData(REGISTRIES).kinds["entertainment_venue"].entry_rules["sensitive_sites"]["distance_m"]
    assert distance.fail_if == {"op": "lt", "value": kind_distance, "parameter": "venue_school_distance_m"}
    assert cat.parameters["venue_school_distance_m"]["unconfirmed"]
    assert venue["prize_list_filed"].unconfirmed and not venue["cctv_running"].unconfirmed
    assert _local(cat, "marriage_agency.samr")["foreign_marriage"].unconfirmed
    assert _local(cat, "job_agency.hrss")["refund_on_failure"].unconfirmed
    assert not cat.parameters["cctv_retention_days"]["unconfirmed"]  # [Q]: 30 days is in the regulation


def test_red_flags_are_the_ilo_indicators_and_go_to_police():
    cat = catalogue()
    flags = _local(cat, "joint.red_flags")
    ilo = {"abuse_of_vulnerability", "deception", "restriction_of_movement", "isolation", "violence", "intimidation",
           "retention_of_documents", "withholding_of_wages", "debt_bondage", "abusive_conditions",
           "excessive_overtime"}
    assert ilo <= set(flags)
    for code in ilo:
        item = flags[code]
        assert item.fail_on == "yes"
        entry = cat.violation_types[item.violation]
        assert entry.criminal_referral and entry.referral["within_hours"] == 24
        assert entry.referral["department"] == "police" and entry.severity == "critical"
        assert all(c["law"] == "criminal_law" for c in entry.referral["crimes"])
    crimes = {c["article"] for code in ilo | {"forced_sexual_services", "sold_or_bought"}
              for c in cat.violation_types[flags[code].violation].referral["crimes"]}
    assert crimes == {"240", "241", "244", "244-1", "358", "359"}


# --------------------------------------------------------------------------------------------
# Broken files

@pytest.fixture
def dirs(tmp_path) -> tuple[Path, Path]:
    checklists, registries = tmp_path / "checklists", tmp_path / "registries"
    shutil.copytree(CHECKLISTS, checklists)
    shutil.copytree(REGISTRIES, registries)
    return checklists, registries


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("filename, old, new, expected", [
    ("job_agency.hrss.yaml", "violation: ja_deposit_taken", "violation: ja_deposit_takn",
     ["job_agency.hrss.yaml: checklist job_agency.hrss: item 11 (deposits): field 'violation': "
      "unknown violation type ja_deposit_takn"]),
    ("job_agency.samr.yaml", "answer_type: yes_no_na", "answer_type: yes_or_no",
     ["job_agency.samr.yaml: checklist job_agency.samr: item 1 (registered): field 'answer_type'"]),
    ("job_agency.samr.yaml", '    fail_on: "no"\n', "",
     ["checklist job_agency.samr: item 1 (registered): field 'fail_on'", "say which answer fails"]),
    ("job_agency.samr.yaml", "answer_type: photo", "answer_type: photo\n    fail_on: \"no\"",
     ["item 4 (ad_samples): field 'fail_on': not used by answer type photo"]),
    ("job_agency.samr.yaml", "kind: job_agency", "kind: job_agencies",
     ["checklist job_agency.samr: field 'kind': unknown kind job_agencies"]),
    ("marriage_agency.samr.yaml", "department: samr", "department: culture",
     ["checklist marriage_agency.samr: field 'department': culture does not inspect kind marriage_agency"]),
    ("marriage_agency.samr.yaml", "code: false_member_profiles", "code: false_marriage_ads",
     ["checklist marriage_agency.samr: item 4 (false_marriage_ads): field 'code': duplicate item code"]),
    ("entertainment_venue.culture.yaml", "subtypes: [song_dance]", "subtypes: [karaoke]",
     ["item 4 (cctv_running): field 'subtypes.0': unknown subtype karaoke of kind entertainment_venue"]),
    ("entertainment_venue.culture.yaml", "parameter: cctv_retention_days}", "parameter: cctv_days}",
     ["item 5 (cctv_retention_days): field 'fail_if.parameter': unknown parameter cctv_days"]),
    ("entertainment_venue.culture.yaml", "    violation: ev_banned_location\n    unconfirmed: true\n",
     "    violation: ev_banned_location\n",
     ["item 21 (school_distance_m): field 'unconfirmed': must be true", "venue_school_distance_m"]),
    ("entertainment_venue.culture.yaml", "{law: venue_reg, article: 15}", "{law: venue_regulations, article: 15}",
     ["item 4 (cctv_running): field 'basis.0.law': unknown law venue_regulations"]),
    ("entertainment_venue.hrss.yaml", "{under: 18, violation: ev_minors_employed, group: employment}",
     "{under: 18, violation: ev_minors_hired, group: employment}",
     ["item 1 (staff_roster): field 'roster.rules.1.violation': unknown violation type ev_minors_hired"]),
    ("joint.red_flags.yaml", "items:", "items: [", ["joint.red_flags.yaml: not valid YAML"]),
    ("joint.red_flags.yaml", "    evidence_required: true\n", "    evidence_required: true\n    colour: red\n",
     ["checklist joint.red_flags: item 1 (abuse_of_vulnerability): field 'colour': Unknown field."]),
    ("violation_types.yaml", "    acting_department: hrss\n", "    acting_department: labour\n",
     ["violation_types.yaml: violation type 1 (ja_unlicensed): field 'acting_department': "
      "unknown department labour"]),
    ("violation_types.yaml", "article: {law: hr_market_reg, article: 44}",
     "article: {law: hr_market_regs, article: 44}",
     ["violation type 3 (ja_display_missing): field 'penalty.article.law': unknown law hr_market_regs"]),
    ("violation_types.yaml", "code: ja_ledger_missing", "code: ja_display_missing",
     ["violation type 4 (ja_display_missing): field 'code': duplicate code"]),
    ("violation_types.yaml", "{min: 500, max: 2000, unit: yuan_per_person}",
     "{min: 5000, max: 2000, unit: yuan_per_person}",
     ["violation type 10 (ja_deposit_taken): field 'penalty.fines.0.max'"]),
    ("violation_types.yaml", "{min: 500, max: 2000, unit: yuan_per_person}", "{min: 500, max: 2000, unit: yuan_each}",
     ["violation type 10 (ja_deposit_taken): field 'penalty.fines.0.unit'"]),
    ("violation_types.yaml", "    severity: critical\n", "    severity: dire\n",
     ["(ev_drugs): field 'severity'"]),
    ("laws.yaml", "    confidence: RC\n", "    confidence: maybe\n",
     ["laws.yaml: law 21 (criminal_law): field 'confidence'"]),
    ("parameters.yaml", "value: day_after_birthday", "value: new_year",
     ["parameters.yaml: parameter 5 (age_counts_from): field 'value': must be one of"]),
])
def test_broken_file_names_file_entry_and_field(dirs, filename, old, new, expected):
    checklists, registries = dirs
    _edit(checklists / filename, old, new)
    with pytest.raises(ChecklistError) as exc:
        catalogue(checklists, registries)
    for part in expected:
        assert part in str(exc.value)


def test_kind_lists_an_unknown_checklist(dirs):
    checklists, registries = dirs
    _edit(registries / "kinds" / "job_agency.yaml", "checklists: [job_agency.hrss, job_agency.samr, joint.red_flags]",
          "checklists: [job_agency.hrss, job_agency.samr, joint.red_flags, job_agency.police]")
    with pytest.raises(ChecklistError, match=r"job_agency.yaml: kind job_agency: field 'checklists.3': "
                                             r"unknown checklist job_agency.police"):
        catalogue(checklists, registries)


def test_kind_lists_another_kinds_checklist_and_a_checklist_nobody_lists(dirs):
    checklists, registries = dirs
    _edit(registries / "kinds" / "job_agency.yaml", "checklists: [job_agency.hrss, job_agency.samr, joint.red_flags]",
          "checklists: [job_agency.hrss, marriage_agency.samr, joint.red_flags]")
    with pytest.raises(ChecklistError) as exc:
        catalogue(checklists, registries)
    message = str(exc.value)
    assert "kind job_agency: field 'checklists.1': checklist marriage_agency.samr is for kind " \
           "marriage_agency" in message
    assert "checklist job_agency.samr: field 'kind': kind job_agency does not list this checklist" in message


def test_duplicate_checklist_code_across_files(dirs):
    checklists, registries = dirs
    shutil.copy(checklists / "job_agency.samr.yaml", checklists / "job_agency.samr.copy.yaml")
    with pytest.raises(ChecklistError, match=r"job_agency.samr.yaml: checklist job_agency.samr: field 'code': "
                                             r"duplicate checklist"):
        catalogue(checklists, registries)


def test_every_problem_is_reported_at_once(dirs):
    checklists, registries = dirs
    _edit(checklists / "job_agency.samr.yaml", "violation: samr_false_advertising", "violation: samr_fake_ads")
    _edit(checklists / "marriage_agency.samr.yaml", "kind: marriage_agency", "kind: matchmaker")
    with pytest.raises(ChecklistError) as exc:
        catalogue(checklists, registries)
    assert "unknown violation type samr_fake_ads" in str(exc.value)
    assert "unknown kind matchmaker" in str(exc.value)
    assert isinstance(exc.value, ReferenceDataError)


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if text in line)


def test_yaml_syntax_errors_in_two_files_are_listed_with_every_other_problem(dirs, runner):
    checklists, registries = dirs
    _edit(checklists / "job_agency.samr.yaml", "kind: job_agency\n", "kind: job_agency\n  broken: yes\n")
    _edit(checklists / "marriage_agency.samr.yaml", 'fail_on: "no"', 'fail_on: "no')  # an unclosed quote
    _edit(checklists / "job_agency.hrss.yaml", "violation: ja_deposit_taken", "violation: ja_deposit")
    with pytest.raises(ChecklistError) as exc:
        catalogue(checklists, registries)
    lines = str(exc.value).splitlines()
    samr_line = _line_of(checklists / "job_agency.samr.yaml", "broken: yes")
    assert f"{checklists / 'job_agency.samr.yaml'}: not valid YAML at line {samr_line}, column 9: " \
           "mapping values are not allowed in this context" in lines
    marriage = [line for line in lines if line.startswith(f"{checklists / 'marriage_agency.samr.yaml'}: ")]
    assert len(marriage) == 1 and re.search(r": not valid YAML at line \d+, column \d+: ", marriage[0])
    assert any("item 11 (deposits): field 'violation': unknown violation type ja_deposit " in line for line in lines)
    # the kinds listing the two unreadable checklists are not told that they do not exist
    assert len(lines) == 3, lines
    cli = runner.invoke(args=["checklists", "validate", "--checklists", str(checklists)])
    assert cli.exit_code == 1
    assert "3 problem(s) found" in cli.output and "column 9: mapping values are not allowed" in cli.output
    assert "unknown violation type ja_deposit" in cli.output
    assert "marriage_agency.samr.yaml: not valid YAML" in cli.output


def test_an_unreadable_catalogue_file_is_reported_once_with_the_other_files_problems(dirs):
    checklists, registries = dirs
    _edit(checklists / "laws.yaml", "laws:\n", "laws:\n  - code: [unclosed\n")
    _edit(checklists / "job_agency.samr.yaml", "kind: job_agency\n", "kind: job_agency\n  broken: yes\n")
    with pytest.raises(ChecklistError) as exc:
        catalogue(checklists, registries)
    lines = str(exc.value).splitlines()
    assert len(lines) == 2, lines  # not one "unknown law" per citation of every other file
    assert lines[0].startswith(f"{checklists / 'laws.yaml'}: not valid YAML at line ")
    assert lines[1].startswith(f"{checklists / 'job_agency.samr.yaml'}: not valid YAML at line ")


def test_broken_checklist_stops_the_app(dirs):
    checklists, registries = dirs
    _edit(checklists / "job_agency.hrss.yaml", "fail_on: \"no\"", "fail_on: \"perhaps\"")
    with pytest.raises(ChecklistError, match=r"item 1 \(licence_held\): field 'fail_on'"):
        create_app({**APP_KEYS, "CHECKLISTS_DIR": str(checklists), "TESTING": True})


def test_cli_validate(runner, dirs):
    ok = runner.invoke(args=["checklists", "validate"])
    assert ok.exit_code == 0, ok.output
    assert "6 checklists" in ok.output and "valid" in ok.output
    checklists, _ = dirs
    _edit(checklists / "job_agency.hrss.yaml", "violation: ja_deposit_taken", "violation: ja_deposit")
    bad = runner.invoke(args=["checklists", "validate", "--checklists", str(checklists)])
    assert bad.exit_code == 1
    assert "item 11 (deposits): field 'violation': unknown violation type ja_deposit" in bad.output


def test_cli_versions(runner, app):
    out = runner.invoke(args=["checklists", "versions"]).output.splitlines()
    with app.app_context():
        from inspect_app.checklist.services import current_catalogue
        expected = {f"{c.code}\t{c.version}\t{len(c.items)} items" for c in current_catalogue().checklists.values()}
    assert set(out) == expected and len(out) == 6


def test_cli_validate_works_when_the_app_refuses_to_start(dirs):
    """`flask --app wsgi checklists validate` on the real command line, with the configured directory broken."""
    checklists, _ = dirs
    _edit(checklists / "marriage_agency.samr.yaml", "violation: ma_fees_not_disclosed", "violation: ma_fees")
    env = {**os.environ, **ENV_KEYS, "INSPECT_CHECKLISTS_DIR": str(checklists)}
    env.pop("INSPECT_DEMO", None)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "checklists", "validate"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "marriage_agency.samr.yaml: checklist marriage_agency.samr: item 6 (fees_disclosed): field 'violation': " \
           "unknown violation type ma_fees" in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------------------------
# A new kind's checklist: YAML alone

INTERNET_CAFE = """
code: internet_cafe
name_zh: 互联网上网服务营业场所
name_en: Internet cafe
subtypes: []
fields:
  - {code: terminals, label_zh: 终端台数, label_en: Terminals, type: integer, min: 1, max: 2000, required: true}
licences:
  - {type: network_culture_licence, name_zh: 网络文化经营许可证, name_en: Internet service licence,
     department: culture, required: true, basis: 互联网上网服务营业场所管理条例 第7条}
inspecting_departments: [culture]
checklists: [internet_cafe.culture, joint.red_flags]
"""

CAFE_CHECKLIST = """
code: internet_cafe.culture
kind: internet_cafe
department: culture
title_zh: 网吧检查表（文化和旅游）
title_en: Internet cafe checklist (culture and tourism)
items:
  - code: minors_admitted
    question_zh: 是否接纳未成年人进入？
    question_en: Are minors let in?
    answer_type: yes_no_na
    fail_on: "yes"
    basis:
      - {law: internet_cafe_reg, article: 21}
    violation: ic_minors_admitted
    evidence_required: true
  - code: school_distance_m
    question_zh: 与最近的中学、小学的距离（米）
    question_en: Distance to the nearest secondary or primary school (m)
    answer_type: number
    unit: m
    fail_if: {op: lt, value: 200}
    basis:
      - {law: internet_cafe_reg, article: 9}
    violation: ic_minors_admitted
"""

CAFE_LAW = """  - code: internet_cafe_reg
    name_zh: 互联网上网服务营业场所管理条例
    name_en: Regulations on Internet Access Service Venues
    date: "2022-03-29"
    confidence: Q
"""

CAFE_VIOLATION = """
  - code: ic_minors_admitted
    title_zh: 网吧接纳未成年人
    title_en: Internet cafe let minors in
    basis:
      - {law: internet_cafe_reg, article: 21}
    penalty:
      article: {law: internet_cafe_reg, article: 31}
      text_zh: 由文化行政部门给予警告，可以并处15000元以下的罚款。
      text_en: A warning and a fine of up to 15,000 yuan.
      fines:
        - {min: 0, max: 15000, unit: yuan}
      measures:
        - {type: warning}
    acting_department: culture
    rectification: {required: true, deadline_working_days: 0}
    severity: high
"""


def test_a_checklist_for_a_new_kind_needs_no_code(dirs, make_app, make_user):
    checklists, registries = dirs
    (registries / "kinds" / "internet_cafe.yaml").write_text(INTERNET_CAFE, encoding="utf-8")
    (checklists / "internet_cafe.culture.yaml").write_text(CAFE_CHECKLIST, encoding="utf-8")
    with (checklists / "laws.yaml").open("a", encoding="utf-8") as fh:
        fh.write(CAFE_LAW)
    with (checklists / "violation_types.yaml").open("a", encoding="utf-8") as fh:
        fh.write(CAFE_VIOLATION)
    app = make_app(REGISTRIES_DIR=str(registries), CHECKLISTS_DIR=str(checklists))
    client = app.test_client()
    make_user("cafe.inspector", roles=("inspector",), department="culture")
    token = client.post("/api/v1/auth/token", json={"username": "cafe.inspector", "password": "correct-horse-battery"})
    headers = {"Authorization": f"Bearer {token.json['token']}"}
    listed = client.get("/api/v1/checklists?kind=internet_cafe", headers=headers).json
    assert [c["code"] for c in listed["items"]] == ["internet_cafe.culture", "joint.red_flags"]
    detail = client.get("/api/v1/checklists/internet_cafe.culture", headers=headers).json
    assert [i["code"] for i in detail["items"]] == ["internet_cafe.culture.minors_admitted",
                                                    "internet_cafe.culture.school_distance_m"]
    assert detail["items"][0]["basis"][0]["display_zh"] == "互联网上网服务营业场所管理条例 第21条"
    assert detail["violation_types"][0]["penalty"]["fines"][0]["max"] == 15000
    types = client.get("/api/v1/violation-types?kind=internet_cafe", headers=headers).json
    assert "ic_minors_admitted" in [v["code"] for v in types["items"]]
    AuthActions(client).login("cafe.inspector")
    page = client.get("/checklists/internet_cafe.culture").data.decode()
    assert "网吧检查表（文化和旅游）" in page and "互联网上网服务营业场所管理条例 第21条" in page


# --------------------------------------------------------------------------------------------
# Versions and pinning

def test_version_is_the_hash_of_the_canonical_content():
    first, second = catalogue(), catalogue()
    for code, checklist in first.checklists.items():
        assert checklist.version == hashlib.sha256(canonical_json(checklist.content)).hexdigest()
        assert checklist.version == second.checklists[code].version


def test_what_changes_a_version(dirs):
    checklists, registries = dirs
    before = catalogue(checklists, registries).checklists
    # an entry no job-agency checklist uses: the job-agency versions stay
    _edit(checklists / "violation_types.yaml", "text_zh: 由县级公安部门责令改正，给予警告。\n",
          "text_zh: 由县级公安部门责令改正，并给予警告。\n")
    after = catalogue(checklists, registries).checklists
    assert after["job_agency.hrss"].version == before["job_agency.hrss"].version
    assert after["entertainment_venue.culture"].version != before["entertainment_venue.culture"].version
    # a figure an item quotes changes the item, so the version
    _edit(checklists / "parameters.yaml", "    value: 2\n", "    value: 3\n")
    again = catalogue(checklists, registries).checklists
    assert again["job_agency.hrss"].version != after["job_agency.hrss"].version
    assert "保存3年以上" in again["job_agency.hrss"].item("ledger").question_zh


def test_pinning_is_idempotent_and_audited(app):
    from inspect_app.audit.models import AuditEvent
    from inspect_app.checklist.models import ChecklistVersion
    from inspect_app.checklist.services import current_checklist, pin_checklist
    from inspect_app.extensions import db
    with app.test_request_context():
        first = pin_checklist("job_agency.hrss")
        second = pin_checklist("job_agency.hrss")
        assert first.id == second.id
        assert first.version == current_checklist("job_agency.hrss").version and first.item_count == 16
        db.session.commit()
        assert pin_checklist("job_agency.hrss").id == first.id  # and after the commit
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ChecklistVersion)) == 1
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "checklist_versions")).all()
        assert len(events) == 1 and events[0].after["version"] == first.version
        with pytest.raises(RuntimeError, match="pinned"):
            first.item_count = 3
            db.session.flush()
        db.session.rollback()
        with pytest.raises(LookupError):
            pin_checklist("job_agency.police")


def test_editing_yaml_gives_a_new_version_while_the_pinned_one_renders_the_old_items(
        app, dirs, make_app, make_user, token_for):
    from inspect_app.checklist.services import load_pinned, pin_checklist
    from inspect_app.extensions import db
    checklists, registries = dirs
    with app.test_request_context():
        old = pin_checklist("job_agency.samr").version
        db.session.commit()
    _edit(checklists / "job_agency.samr.yaml", "question_zh: 是否依法登记、取得营业执照？",
          "question_zh: 是否依法办理登记并取得营业执照？")
    edited = make_app(REGISTRIES_DIR=str(registries), CHECKLISTS_DIR=str(checklists))
    client = edited.test_client()
    make_user("samr.inspector", roles=("inspector",), department="samr")
    headers = token_for("samr.inspector")
    current = client.get("/api/v1/checklists/job_agency.samr", headers=headers).json
    assert current["version"] != old and current["current"] is True
    assert current["items"][0]["question_zh"] == "是否依法办理登记并取得营业执照？"
    pinned = client.get(f"/api/v1/checklists/job_agency.samr?version={old}", headers=headers).json
    assert pinned["version"] == old and pinned["current"] is False
    assert pinned["items"][0]["question_zh"] == "是否依法登记、取得营业执照？"
    assert client.get("/api/v1/checklists/job_agency.samr?version=" + "0" * 64, headers=headers).status_code == 404
    with edited.app_context():
        assert load_pinned("job_agency.samr", old).items[0].question_zh == "是否依法登记、取得营业执照？"
    AuthActions(client).login("samr.inspector")
    page = client.get(f"/checklists/job_agency.samr?version={old}").data.decode()
    assert "是否依法登记、取得营业执照？" in page and "是否依法办理登记并取得营业执照？" not in page
    assert old[:12] in client.get("/checklists/job_agency.samr").data.decode()  # listed as a pinned version


def test_a_pinned_row_edited_in_the_database_is_refused(app):
    from inspect_app.checklist.models import ChecklistVersion
    from inspect_app.checklist.services import PinnedContentChanged, load_pinned, pin_checklist
    from inspect_app.extensions import db
    with app.test_request_context():
        row = pin_checklist("marriage_agency.samr")
        version = row.version
        db.session.commit()
        content = dict(row.content, title_zh="改过的标题")
        db.session.execute(sa.update(ChecklistVersion.__table__).where(ChecklistVersion.id == row.id)
                           .values(content=content))
        db.session.commit()
        with pytest.raises(PinnedContentChanged):
            load_pinned("marriage_agency.samr", version)


# --------------------------------------------------------------------------------------------
# API and pages

@pytest.fixture
def headers(make_user, token_for):
    make_user("viewer.one", roles=("viewer",), department="womens_federation", region="140600")
    return token_for("viewer.one")


def test_api_list_and_filters(client, headers):
    everything = client.get("/api/v1/checklists", headers=headers).json
    assert everything["total"] == 6 and {c["code"] for c in everything["items"]} == ALL
    first = everything["items"][0]
    assert set(first) >= {"code", "kind", "department", "joint", "title", "title_zh", "title_en", "version",
                          "item_count"} and len(first["version"]) == 64
    venue = client.get("/api/v1/checklists?kind=entertainment_venue", headers=headers).json
    assert [c["code"] for c in venue["items"]] == ["entertainment_venue.culture", "entertainment_venue.hrss",
                                                   "joint.red_flags"]
    hrss = client.get("/api/v1/checklists?department=hrss", headers=headers).json
    assert {c["code"] for c in hrss["items"]} == {"job_agency.hrss", "entertainment_venue.hrss", "joint.red_flags"}
    both = client.get("/api/v1/checklists?kind=job_agency&department=samr", headers=headers).json
    assert [c["code"] for c in both["items"]] == ["job_agency.samr", "joint.red_flags"]
    paged = client.get("/api/v1/checklists?per_page=2&page=3", headers=headers).json
    assert paged["total"] == 6 and len(paged["items"]) == 2 and paged["page"] == 3
    bad = client.get("/api/v1/checklists?kind=casino&department=tax", headers=headers)
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"kind", "department"}


def test_api_detail_in_both_languages(client, headers):
    zh = client.get("/api/v1/checklists/job_agency.hrss", headers=headers).json
    display = zh["items"][2]
    assert display["code"] == "job_agency.hrss.display" and display["answer_type"] == "yes_no_na"
    assert display["question"] == display["question_zh"] and display["fail_on"] == "no"
    assert display["basis"][0]["display_zh"] == "人力资源市场暂行条例 第32条"
    assert display["basis"][0]["display_en"] == "Interim Regulations on the Human Resources Market, Art. 32"
    assert display["violation"] == "ja_display_missing" and display["evidence_required"] is True
    deposit = next(v for v in zh["violation_types"] if v["code"] == "ja_deposit_taken")
    assert deposit["penalty"]["fines"] == [{"min": 500, "max": 2000, "unit": "yuan_per_person", "when": ["always"],
                                            "payer": "entity", "income_below": None}]
    en = client.get("/api/v1/checklists/job_agency.hrss", headers={**headers, "Accept-Language": "en"}).json
    assert en["items"][2]["question"] == display["question_en"] and en["title"] == zh["title_en"]
    assert client.get("/api/v1/checklists/job_agency.tax", headers=headers).status_code == 404


def test_openapi_documents_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/checklists", "/api/v1/checklists/{code}", "/api/v1/violation-types",
            "/api/v1/violation-types/{code}"} <= set(paths)


def test_pages_in_both_languages(client, make_user):
    make_user("inspector.culture", roles=("inspector",), department="culture")
    AuthActions(client).login("inspector.culture")
    home = client.get("/").data.decode()
    assert 'href="/checklists/"' in home
    index = client.get("/checklists/?kind=entertainment_venue").data.decode()
    assert "娱乐场所检查表（文化和旅游）" in index and "Entertainment venue checklist (culture and tourism)" in index
    assert "职业中介机构检查表" not in index  # filtered by kind
    detail = client.get("/checklists/entertainment_venue.culture").data.decode()
    assert detail.index("是否接纳未成年人") < detail.index("Does the song and dance venue admit minors?")  # zh first
    assert "娱乐场所管理条例 第15条" in detail and "Regulations on the Administration of Entertainment Venues, Art. 15" in detail
    assert 'href="/checklists/violation-types/ev_prostitution"' in detail
    english = client.get("/checklists/entertainment_venue.culture", headers={"Accept-Language": "en"}).data.decode()
    assert '<html lang="en">' in english and "Legal basis" in english
    assert client.get("/checklists/entertainment_venue.police").status_code == 404
    assert client.get("/checklists/?kind=nonsense").status_code == 200  # an unknown filter shows everything
