"""The violation catalogue: the article breached, the penalty article and range as text and numbers,
the department that acts, the order to rectify, and the referrals a finding must go to."""
from __future__ import annotations

import pytest

from inspect_app.checklist.loader import load_catalogue
from inspect_app.config import PROJECT_ROOT
from inspect_app.reference import ReferenceData
from tests.conftest import AuthActions

CAT = load_catalogue(PROJECT_ROOT / "checklists", ReferenceData(PROJECT_ROOT / "registries"))
V = CAT.violation_types


def _article(citation) -> tuple:
    return citation["law"], citation["article"], citation["paragraph"]


@pytest.mark.parametrize("code, acting, penalty_article", [
    ("ja_unlicensed", "hrss", ("hr_market_reg", "42", 1)),
    ("ja_display_missing", "hrss", ("hr_market_reg", "44", None)),
    ("ja_deposit_taken", "hrss", ("employment_promotion_law", "66", 2)),
    ("ja_underage_placement", "hrss", ("child_labour_reg", "7", None)),
    ("ev_minors_employed", "hrss", ("venue_reg", "52", None)),     # found in a venue, acted on by labour
    ("ev_prostitution", "police", ("venue_reg", "43", None)),      # Art 14 acts: county police
    ("ev_cctv_breach", "police", ("venue_reg", "44", None)),
    ("ev_minors_admitted", "culture", ("venue_reg", "48", None)),
    ("ev_opening_hours", "culture", ("venue_reg", "49", None)),
    ("ev_not_filed_police", "police", ("venue_reg", "47", None)),
    ("samr_false_advertising", "samr", ("advertising_law", "55", None)),
    ("ma_foreign_marriage_introduction", "civil_affairs", ("foreign_marriage_notice", None, None)),
])
def test_acting_department_and_penalty_article(code, acting, penalty_article):
    entry = V[code]
    assert entry.acting_department == acting
    assert _article(entry.penalty["article"]) == penalty_article


def test_acting_department_may_differ_from_the_inspecting_one():
    venue = {i.local_code: i for i in CAT.checklists["entertainment_venue.culture"].items}
    assert V[venue["art14_prostitution"].violation].acting_department == "police"
    assert V[venue["cctv_running"].violation].acting_department == "police"
    assert V[venue["minors_admitted"].violation].acting_department == "culture"


def test_penalty_ranges_as_numbers():
    fines = {code: V[code].penalty["fines"] for code in V if V[code].penalty}
    # per person, per person and month, refusal to correct
    assert fines["ja_deposit_taken"] == [{"min": 500, "max": 2000, "unit": "yuan_per_person", "when": ["always"],
                                          "payer": "entity", "income_below": None}]
    assert [(f["min"], f["max"], f["unit"], f["when"]) for f in fines["child_labour_employment"]] == [
        (5000, 5000, "yuan_per_person_month", ["always"]),
        (10000, 10000, "yuan_per_person_month", ["not_returned_by_deadline"])]
    assert [(f["min"], f["max"], f["unit"]) for f in fines["ev_minors_employed"]] == [(5000, 5000,
                                                                                       "yuan_per_person_month")]
    assert fines["ja_underage_placement"][0]["unit"] == "yuan_per_person"
    assert fines["ja_display_missing"][0]["when"] == ["refused_to_rectify"]
    # "1-3x the illegal income, or 10,000-30,000 yuan when there is none (or under 10,000)"
    assert [(f["min"], f["max"], f["unit"], f["when"], f["income_below"]) for f in fines["ev_minors_admitted"]] == [
        (1, 3, "multiple_of_illegal_income", ["has_illegal_income"], None),
        (10000, 30000, "yuan", ["no_illegal_income"], 10000)]
    assert [(f["min"], f["max"], f["unit"]) for f in fines["ev_gambling_machine_prizes"]] == [
        (2, 5, "multiple_of_illegal_income"), (20000, 50000, "yuan")]
    assert [(f["unit"], f["when"]) for f in fines["samr_false_advertising"]] == [
        ("multiple_of_advertising_fee", ["fee_known"]), ("yuan", ["fee_unknown"]),
        ("multiple_of_advertising_fee", ["serious", "fee_known"]), ("yuan", ["serious", "fee_unknown"])]
    # Art 43: the fine falls on the managers responsible, in serious cases
    assert fines["ev_prostitution"] == [{"min": 10000, "max": 20000, "unit": "yuan", "when": ["serious"],
                                         "payer": "responsible_persons", "income_below": None}]
    suspension = next(m for m in V["ev_prostitution"].penalty["measures"] if m["type"] == "suspend_business")
    assert (suspension["months_min"], suspension["months_max"], suspension["when"]) == (3, 6, ["always"])
    assert "1万元以上2万元以下" in V["ev_prostitution"].penalty["text_zh"]


def test_rectification_and_referrals():
    assert V["ja_display_missing"].rectification == {"required": True, "deadline_working_days": 5}
    assert V["ja_unlicensed"].rectification["required"] is False
    prostitution = V["ev_prostitution"].referral
    assert prostitution["type"] == "criminal" and prostitution["mandatory"] and prostitution["within_hours"] == 24
    assert [c["article"] for c in prostitution["crimes"]] == ["358", "359"]
    assert [c["display_zh"] for c in prostitution["basis"]] == [
        "行政执法机关移送涉嫌犯罪案件的规定 第5条", "行政执法机关移送涉嫌犯罪案件的规定 第11条"]
    assert V["child_labour_criminal"].criminal_referral and V["child_labour_criminal"].penalty is None
    assert [c["display_zh"] for c in V["child_labour_criminal"].referral["crimes"]][0] == "中华人民共和国刑法 第244条之一"
    ids = V["ja_id_detained"].referral  # the ID-card penalty is the police's: a case transfer
    assert ids["type"] == "case" and ids["department"] == "police" and ids["mandatory"]
    assert not V["ja_illegal_activity_introduced"].referral["mandatory"]  # only when a crime is suspected


def test_catalogue_wide_rules():
    for entry in V.values():
        fines = (entry.penalty or {}).get("fines", [])
        if any("refused_to_rectify" in f["when"] for f in fines):
            assert entry.rectification["required"], entry.code
        if entry.criminal_referral:
            assert entry.referral["department"] == "police" and entry.referral["within_hours"] == 24
            assert all(c["law"] == "criminal_law" for c in entry.referral["crimes"])
        if entry.penalty is None or entry.penalty["article"] is None:
            assert entry.criminal_referral or entry.unconfirmed, entry.code
        if entry.unconfirmed:
            assert entry.unconfirmed_note_zh and entry.unconfirmed_note_en
        for f in fines:
            assert 0 <= f["min"] <= f["max"]


def test_every_entry_is_raised_by_some_item():
    used = {code for c in CAT.checklists.values() for item in c.items for code in item.violations}
    assert used == set(V)


@pytest.fixture
def headers(make_user, token_for):
    make_user("planner.one", roles=("planner",), department="hrss", region="140600")
    return token_for("planner.one")


def test_api_list_filters_and_detail(client, headers):
    everything = client.get("/api/v1/violation-types?per_page=200", headers=headers).json
    assert everything["total"] == len(V)
    police = client.get("/api/v1/violation-types?department=police&per_page=200", headers=headers).json
    codes = {v["code"] for v in police["items"]}
    assert {"ev_prostitution", "ev_cctv_breach", "rf_suspected_trafficking"} <= codes
    assert "ja_id_detained" in codes  # referred to the police, though acted on by hrss
    assert "ev_opening_hours" not in codes
    agency = client.get("/api/v1/violation-types?kind=job_agency&per_page=200", headers=headers).json
    agency_codes = {v["code"] for v in agency["items"]}
    assert {"ja_deposit_taken", "samr_false_advertising", "rf_suspected_forced_labour"} <= agency_codes
    assert "ev_minors_admitted" not in agency_codes
    one = client.get("/api/v1/violation-types/ev_minors_employed", headers=headers).json
    # raised by the hrss staff roster, and by the culture list for teams without hrss (acted on by hrss either way)
    assert one["acting_department"] == "hrss"
    assert one["checklists"] == ["entertainment_venue.culture", "entertainment_venue.hrss"]
    assert one["title"] == one["title_zh"] == "娱乐场所招用未成年人"
    assert one["penalty"]["article"]["display_en"] == \
        "Regulations on the Administration of Entertainment Venues, Art. 52"
    en = client.get("/api/v1/violation-types/ev_minors_employed", headers={**headers, "Accept-Language": "en"}).json
    assert en["title"] == "Entertainment venue employed minors"
    assert client.get("/api/v1/violation-types/ev_unknown", headers=headers).status_code == 404
    assert client.get("/api/v1/violation-types?kind=casino", headers=headers).status_code == 422


def test_pages_in_both_languages(client, make_user):
    make_user("viewer.two", roles=("viewer",), department="womens_federation", region="140600")
    AuthActions(client).login("viewer.two")
    page = client.get("/checklists/violation-types?department=police").data.decode()
    assert "组织、强迫、引诱、容留、介绍他人卖淫、嫖娼" in page and "Organising, forcing, luring" in page
    assert "娱乐场所管理条例 第43条" in page and "中华人民共和国刑法 第358条" in page
    assert "在每日凌晨2时至上午8时营业" not in page  # culture acts on that one
    detail = client.get("/checklists/violation-types/ev_minors_admitted").data.decode()
    assert "1万元以上3万元以下" in detail and "10,000 to 30,000" in detail
    assert 'href="/checklists/entertainment_venue.culture#minors_admitted"' in detail
    english = client.get("/checklists/violation-types/ev_minors_admitted",
                         headers={"Accept-Language": "en"}).data.decode()
    assert '<html lang="en">' in english and "times the illegal income" in english
    assert client.get("/checklists/violation-types/ev_unknown").status_code == 404
