"""Enforcement notices (issue 7): numbering, snapshot and PDF, verification, fonts, cases, batches."""
from __future__ import annotations

import hashlib
import io
import subprocess
import threading
import zipfile
from datetime import date

import pytest
import sqlalchemy as sa

from inspect_app.demo.notices import DEMO_FINDINGS, make_completed_inspection
from inspect_app.extensions import db
from inspect_app.notices import fonts
from inspect_app.notices.models import Notice, NoticeCounter
from tests.conftest import csrf_from
from tests.registry_helpers import agency

YEAR = date.today().year


def pdf_text(data: bytes, tmp_path, name="n.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def pdf_fonts(data: bytes, tmp_path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout


def upload(client, url, **data):
    """A multipart POST; werkzeug's test client spools a body over 500 kB to a temporary file that it
    never closes, so close it here (pytest turns the ResourceWarning into an error)."""
    response = client.post(url, data=data)
    response.request.environ["wsgi.input"].close()
    return response


def squeeze(text: str) -> str:
    return "".join(text.split())


@pytest.fixture
def world(app, make_user):
    """Two officers of a joint team, a supervisor, and a function making completed inspections."""
    ids = {"hrss": make_user("liu.hrss", roles=("inspector",), department="hrss", full_name="刘人社",
                             credential="14060201001"),
           "samr": make_user("chen.samr", roles=("inspector",), department="samr", full_name="陈市监",
                             credential="14060202001"),
           "boss": make_user("sun.boss", roles=("supervisor",), department="hrss", full_name="孙科长",
                             credential="14060201002"),
           "culture": make_user("zhao.culture", roles=("inspector",), department="culture", full_name="赵文旅",
                                credential="14060203001"),
           # not on the joint team: assigned as the second handling officer of hrss cases
           "hrss2": make_user("ma.hrss", roles=("inspector",), department="hrss", full_name="马人社",
                              credential="14060201004")}

    def inspection(name="朔州市<b>众诚</b>人力资源服务有限公司", findings=DEMO_FINDINGS[:2], campaign_id=None) -> int:
        from inspect_app.auth.models import User
        from inspect_app.registry.models import Entity
        with app.app_context():
            entity = Entity(**{**agency(name=name), "status": "active"})
            db.session.add(entity)
            db.session.flush()
            officers = [db.session.get(User, ids["hrss"]), db.session.get(User, ids["samr"])]
            row = make_completed_inspection(entity, officers, findings=findings, campaign_id=campaign_id,
                                            data_dir=app.config["INSPECT_DATA_DIR"])
            db.session.commit()
            return row.id
    ids["inspection"] = inspection
    return ids


def issue(client, headers, **body):
    return client.post("/api/v1/notices", json=body, headers=headers)


def counter(app, department, notice_type):
    with app.app_context():
        row = db.session.get(NoticeCounter, (department, notice_type, YEAR))
        return row.last_seq if row else 0


def test_issued_record_is_frozen_hashed_identical_and_readable(app, client, world, token_for, tmp_path):
    inspection_id = world["inspection"]()
    headers = token_for("liu.hrss")
    response = issue(client, headers, type="inspection_record", inspection_id=inspection_id)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["number"] == f"朔人社监笔〔{YEAR}〕1号"
    assert set(body) >= {"id", "number", "sha256", "pdf_url", "verify_url"}
    assert "/verify/" in body["verify_url"]

    first = client.get(f"/api/v1/notices/{body['id']}/pdf", headers=headers)
    second = client.get(body["pdf_url"], headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.mimetype == "application/pdf"
    assert first.data == second.data  # every download: the same bytes
    assert hashlib.sha256(first.data).hexdigest() == body["sha256"] == first.headers["ETag"].strip('"')

    text = squeeze(pdf_text(first.data, tmp_path))
    assert "现场检查笔录" in text
    assert body["number"] in text
    assert "朔州市<b>众诚</b>人力资源服务有限公司" in text  # the party's name, as text, never markup
    assert "刘人社（执法证号：14060201001）" in text
    assert "第1页共" in text and "服务大厅未明示收费标准" in text
    listing = pdf_fonts(first.data, tmp_path)
    cjk = [line for line in listing.splitlines() if "Noto-Serif-CJK-SC" in line]
    assert cjk and all(" yes " in line for line in cjk)  # embedded (subset)

    # re-rendering from the snapshot reproduces the same text
    from inspect_app.notices.services import rerender
    with app.app_context():
        notice = db.session.get(Notice, body["id"])
        again = rerender(notice).pdf
        assert notice.snapshot["party"]["name"] == "朔州市<b>众诚</b>人力资源服务有限公司"
    assert pdf_text(again, tmp_path, "again.pdf") == pdf_text(first.data, tmp_path)


def test_numbers_are_gapless_per_department_and_type_and_void_keeps_its_number(app, client, world, token_for):
    inspections = [world["inspection"](f"朔州市第{i}人力资源服务有限公司") for i in range(3)]
    officer, boss = token_for("liu.hrss"), token_for("sun.boss")
    numbers = [issue(client, officer, type="rectification_order", inspection_id=i).json["number"] for i in inspections]
    assert numbers == [f"朔人社监令〔{YEAR}〕{n}号" for n in (1, 2, 3)]
    # another type of the same department counts on its own
    record = issue(client, officer, type="inspection_record", inspection_id=inspections[0]).json
    assert record["number"] == f"朔人社监笔〔{YEAR}〕1号"

    again = issue(client, officer, type="rectification_order", inspection_id=inspections[1])
    assert again.status_code == 409 and numbers[1] in again.json["error"]["message"]
    assert counter(app, "hrss", "rectification_order") == 3  # the refused issue took no number

    with app.app_context():
        second = db.session.scalar(sa.select(Notice).where(Notice.number == numbers[1]))
    assert client.post(f"/api/v1/notices/{second.id}/void", json={"reason": "x"}, headers=boss).status_code == 422
    assert client.post(f"/api/v1/notices/{second.id}/void", json={"reason": "改正期限写错"},
                       headers=officer).status_code == 403  # inspectors do not void
    voided = client.post(f"/api/v1/notices/{second.id}/void", json={"reason": "改正期限写错"}, headers=boss)
    assert voided.status_code == 200 and voided.json["status"] == "void"
    assert client.post(f"/api/v1/notices/{second.id}/void", json={"reason": "再次作废"},
                       headers=boss).status_code == 409
    replacement = issue(client, officer, type="rectification_order", inspection_id=inspections[1],
                        replaces_id=second.id)
    assert replacement.status_code == 201
    assert replacement.json["number"] == f"朔人社监令〔{YEAR}〕4号"  # 2 stays void, never given again
    assert replacement.json["replaces_id"] == second.id
    with app.app_context():
        rows = db.session.execute(sa.select(Notice.seq, Notice.status).where(Notice.type == "rectification_order")
                                  .order_by(Notice.seq)).all()
        assert [tuple(r) for r in rows] == [(1, "issued"), (2, "void"), (3, "issued"), (4, "issued")]
        # an issued notice does not change, other than being voided
        notice = db.session.get(Notice, replacement.json["id"])
        notice.number = "朔人社监令〔2026〕99号"
        with pytest.raises(Exception, match="does not change"):
            db.session.flush()
        db.session.rollback()


def test_idempotency_key_returns_the_first_notice_and_takes_one_number(app, client, world, token_for):
    inspection_id = world["inspection"]()
    headers = {**token_for("liu.hrss"), "Idempotency-Key": "tablet-7f3a"}
    first = issue(client, headers, type="inspection_record", inspection_id=inspection_id)
    repeat = issue(client, headers, type="inspection_record", inspection_id=inspection_id)
    assert first.status_code == repeat.status_code == 201
    assert repeat.headers.get("Idempotent-Replayed") == "true"
    assert repeat.json["id"] == first.json["id"] and repeat.json["number"] == first.json["number"]
    assert counter(app, "hrss", "inspection_record") == 1


def test_issuing_refuses_without_the_cjk_font_and_names_the_package(app, client, world, token_for, monkeypatch):
    inspection_id = world["inspection"]()
    problem = fonts.FontProblem("the CJK serif font 'Noto Serif CJK SC' is not installed: install the Debian "
                                "package fonts-noto-cjk", "fonts-noto-cjk")
    monkeypatch.setattr(fonts, "_checked", [problem])
    response = issue(client, token_for("liu.hrss"), type="inspection_record", inspection_id=inspection_id)
    assert response.status_code == 503
    assert "fonts-noto-cjk" in response.json["error"]["message"]
    assert counter(app, "hrss", "inspection_record") == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
    # after rendering, a PDF without the CJK serif (a silent fallback) is refused too
    with pytest.raises(fonts.FontProblem, match="fonts-noto-cjk"):
        fonts.check_rendered_fonts({"DejaVu Sans"})


def test_missing_subsetting_library_is_reported(monkeypatch):
    from weasyprint.text import ffi
    monkeypatch.setattr(ffi, "harfbuzz_subset", None)
    problems = fonts.find_problems()
    assert [p.package for p in problems] == ["libharfbuzz-subset0"]


def make_case(app, inspection_id: int, types: set[str], officers=None, **values) -> int:
    """A case of the inspection's violations of ``types`` (filed on 5 January), with ``values`` set; its
    handling officers are ``officers`` (user ids), else its department's inspectors."""
    from inspect_app.cases.models import Case, CaseOfficer
    from inspect_app.cases.services import eligible_officers
    from inspect_app.inspection.models import Inspection
    with app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        values = {"acting_department": "hrss", "handling_department": "hrss", "status": "open", **values}
        case = Case(entity_id=inspection.entity_id, region_code=inspection.region_code, inspection_id=inspection.id,
                    filed_on=date(YEAR, 1, 5), opened_dt=inspection.completed_dt, **values)
        case.violations.extend(v for v in inspection.violations if v.type_code in types)
        db.session.add(case)
        ids = officers if officers is not None else [u.id for u in eligible_officers(case)]
        case.officers.extend(CaseOfficer(user_id=i, position=n) for n, i in enumerate(ids))
        db.session.commit()
        return case.id


def test_case_notices_follow_the_procedure(app, client, world, token_for, tmp_path):
    inspection_id = world["inspection"](findings=DEMO_FINDINGS)
    other_id = world["inspection"](name="朔州市同心人力资源服务有限公司")
    boss = token_for("sun.boss")
    penalty = make_case(app, inspection_id, {"ja_display_missing", "ja_deposit_taken"}, status="penalty_proposed",
                        penalty_amount=12000, hearing_offered=True, penalty_reason="鉴于涉及3名求职者")
    crime = make_case(app, inspection_id, {"ja_illegal_activity_introduced"})
    # market regulation's matter found by the labour inspectors: they hold the file and send it on
    transfer = make_case(app, other_id, {"ja_display_missing"}, acting_department="samr", transfer_to="samr",
                         status="transferred")
    theirs = make_case(app, other_id, {"ja_deposit_taken"}, acting_department="culture",
                       handling_department="culture", transfer_to="samr")
    if True:  # noqa: SIM108 - keeps the steps of one procedure together
        # 行政处罚法 Art 62: no decision before the advance notice
        early = issue(client, boss, type="penalty_decision", case_id=penalty)
        assert early.status_code == 422 and "case_id" in early.json["error"]["fields"]
        advance = issue(client, boss, type="penalty_advance_notice", case_id=penalty)
        assert advance.status_code == 201, advance.json
        undecided = issue(client, boss, type="penalty_decision", case_id=penalty)  # advance notice given, not decided
        assert undecided.status_code == 422
        assert undecided.json["error"]["fields"]["case_id"] != early.json["error"]["fields"]["case_id"]
        with app.app_context():
            from inspect_app.cases.models import Case
            case = db.session.get(Case, penalty)
            case.status, case.decided_on = "decided", date(YEAR, 2, 2)
            db.session.commit()
        decision = issue(client, boss, type="penalty_decision", case_id=penalty)
        assert decision.status_code == 201, decision.json
        criminal = issue(client, boss, type="criminal_transfer", case_id=crime)
        sent = issue(client, boss, type="case_transfer", case_id=transfer)
        assert criminal.status_code == sent.status_code == 201, (criminal.json, sent.json)
        assert sent.json["number"] == f"朔人社监函〔{YEAR}〕1号" and sent.json["department"] == "hrss"
        # the department of the case decides who may issue
        assert issue(client, boss, type="case_transfer", case_id=theirs).status_code == 403
        assert issue(client, boss, type="inspection_record", case_id=penalty).status_code == 422
        assert issue(client, boss, type="penalty_decision", case_id=999).status_code == 422
    with app.app_context():
        assert {n.case_id for n in db.session.scalars(sa.select(Notice))} == {penalty, crime, transfer}

    def text(response):
        pdf = client.get(f"/api/v1/notices/{response.json['id']}/pdf", headers=boss).data
        return squeeze(pdf_text(pdf, tmp_path))
    advance_text = text(advance)
    assert f"本机关于{YEAR}年1月5日对你单位涉嫌违法一案立案调查" in advance_text  # the filing day
    assert "行政处罚事先告知书" in advance_text and "陈述、申辩" in advance_text
    assert "要求举行听证" in advance_text and "五个工作日内" in advance_text
    decision_text = text(decision)
    assert "行政处罚决定书" in decision_text and decision.json["number"] in decision_text
    assert "罚款人民币12,000元（大写：人民币壹万贰仟元整）" in decision_text
    assert advance.json["number"] in decision_text  # the advance notice it follows
    assert "六十日内向朔州市人民政府申请行政复议" in decision_text
    assert "六个月内依法向朔州市朔城区人民法院提起行政诉讼" in decision_text
    assert "十五日内" in decision_text and "百分之三加处罚款" in decision_text
    criminal_text = text(criminal)
    assert "涉嫌犯罪案件移送书" in criminal_text and "朔州市公安局" in criminal_text
    assert "引诱、容留、介绍卖淫罪" in criminal_text and "回执" in criminal_text and "移送材料" in criminal_text
    # the transfer to the police is read by its department and the police only
    samr = token_for("chen.samr")
    assert client.get(f"/api/v1/notices/{criminal.json['id']}", headers=samr).status_code == 403
    listed = client.get("/api/v1/notices", headers=samr).json
    assert criminal.json["id"] not in [n["id"] for n in listed["items"]] and listed["total"] == 3
    transfer_text = text(sent)
    assert "案件移送函" in transfer_text and "朔州市市场监督管理局" in transfer_text
    assert "《劳动保障监察条例》第十八条第二款" in transfer_text


def test_hrss_order_is_worded_as_a_labour_inspection_directive(app, client, world, token_for, tmp_path):
    inspection_id = world["inspection"]()
    hrss = issue(client, token_for("liu.hrss"), type="rectification_order", inspection_id=inspection_id).json
    assert hrss["title"] == "劳动保障监察限期改正指令书"
    text = squeeze(pdf_text(client.get(hrss["pdf_url"], headers=token_for("liu.hrss")).data, tmp_path))
    assert "劳动保障监察限期改正指令书" in text and "退还向劳动者收取的押金" in text
    assert "《劳动保障监察条例》第十八条第一款第（二）项" in text
    # the market-regulation officer on the team has no violation of his own to order corrected
    samr = issue(client, token_for("chen.samr"), type="rectification_order", inspection_id=inspection_id)
    assert samr.status_code == 422
    # an inspector of a department that was not on the team may not issue at all
    assert issue(client, token_for("zhao.culture"), type="inspection_record",
                 inspection_id=inspection_id).status_code == 403


def test_public_verification_page_api_and_upload(app, client, world, token_for, make_app):
    inspection_id = world["inspection"]()
    officer = token_for("liu.hrss")
    body = issue(client, officer, type="inspection_record", inspection_id=inspection_id).json
    pdf = client.get(body["pdf_url"], headers=officer).data
    token = body["verify_url"].rsplit("/", 1)[1]
    anonymous = app.test_client()

    page = anonymous.get(f"/verify/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert body["number"] in html and body["sha256"] in html and "朔州市人力资源和社会保障局" in html
    assert "&lt;b&gt;众诚&lt;/b&gt;" in html  # the party, escaped
    assert "刘人社" not in html and "押金" not in html  # no officers, no facts

    api = anonymous.get(f"/api/v1/verify/{token}")
    assert api.status_code == 200 and api.json["number"] == body["number"] and api.json["status"] == "issued"
    assert anonymous.get("/api/v1/verify/not-a-real-token").status_code == 404

    genuine = upload(anonymous, f"/api/v1/verify/{token}", file=(io.BytesIO(pdf), "n.pdf"))
    assert genuine.status_code == 200 and genuine.json["genuine"] is True
    forged = pdf.replace(body["number"].encode("utf-16-be")[:4], b"\x00\x01\x00\x02", 1)
    forged = forged if forged != pdf else pdf + b"%"
    fake = upload(anonymous, f"/api/v1/verify/{token}", file=(io.BytesIO(forged), "n.pdf"))
    assert fake.status_code == 200 and fake.json["genuine"] is False

    form = anonymous.get(f"/verify/{token}")
    result = upload(anonymous, f"/verify/{token}", csrf_token=csrf_from(form.data), file=(io.BytesIO(pdf), "mine.pdf"))
    assert result.status_code == 200 and "verify-genuine" in result.get_data(as_text=True)

    with app.app_context():
        code = db.session.get(Notice, body["id"]).short_code
    jump = anonymous.get("/verify", query_string={"code": code.lower().replace("-", " ")})
    assert jump.status_code == 302 and jump.headers["Location"].endswith(f"/verify/{token}")
    assert anonymous.get("/verify", query_string={"code": "ZZZZZ-ZZZZZ"}).status_code == 404

    limited = make_app(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="3 per minute")
    outsider = limited.test_client()
    statuses = [outsider.post(f"/api/v1/verify/{token}", data={"file": (io.BytesIO(b"x"), "x.pdf")}).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_seal_is_checked_by_content_and_printed(app, client, world, make_user, token_for, auth):
    from inspect_app.demo.notices import evidence_jpeg, signature_png
    make_user("root", roles=("admin",), region="140600")
    auth.login("root")
    page = client.get("/notices/seals")
    assert page.status_code == 200
    jpeg = client.post("/notices/seals", data={"csrf_token": csrf_from(page.data), "department": "hrss",
                                               "file": (io.BytesIO(evidence_jpeg(1)), "seal.png")},
                       follow_redirects=True)
    assert "PNG" in jpeg.get_data(as_text=True)
    png = signature_png(3)
    saved = client.post("/notices/seals", data={"csrf_token": csrf_from(page.data), "department": "hrss",
                                                "file": (io.BytesIO(png), "seal.png")})
    assert saved.status_code == 302
    body = issue(client, token_for("liu.hrss"), type="inspection_record",
                 inspection_id=world["inspection"]()).json
    with app.app_context():
        snapshot = db.session.get(Notice, body["id"]).snapshot
    assert snapshot["seal"]["sha256"] == hashlib.sha256(png).hexdigest()


def test_entity_page_and_list_show_notices(app, client, world, token_for, auth):
    inspection_id = world["inspection"]()
    body = issue(client, token_for("liu.hrss"), type="inspection_record", inspection_id=inspection_id).json
    with app.app_context():
        entity_id = db.session.get(Notice, body["id"]).entity_id
    auth.login("liu.hrss")
    entity_page = client.get(f"/registry/{entity_id}").get_data(as_text=True)
    assert body["number"] in entity_page
    listing = client.get("/notices", query_string={"type": "inspection_record"}).get_data(as_text=True)
    assert body["number"] in listing
    detail = client.get(f"/notices/{body['id']}")
    assert detail.status_code == 200 and body["sha256"] in detail.get_data(as_text=True)
    assert client.get(f"/notices/{body['id']}/pdf").data[:5] == b"%PDF-"
    issue_page = client.get("/notices/new", query_string={"inspection_id": inspection_id})
    assert issue_page.status_code == 200 and body["number"] in issue_page.get_data(as_text=True)


def test_batch_of_a_campaign_day_renders_on_two_processes(app, client, world, auth):
    from inspect_app.inspection.models import Inspection
    from inspect_app.notices.services import wait_for_batches
    from inspect_app.planning.models import Campaign
    with app.app_context():
        campaign = Campaign(name="冬季联合抽查", lead_department="hrss", departments=["hrss", "samr"],
                            kinds=["job_agency"], region_codes=["140602"], start_date=date(YEAR, 1, 1),
                            end_date=date(YEAR, 12, 31), team_size=2, max_per_team_day=4, status="drawn")
        db.session.add(campaign)
        db.session.commit()
        campaign_id = campaign.id
    ids = [world["inspection"](f"朔州市批量{i}人力资源服务有限公司", campaign_id=campaign_id) for i in range(3)]
    with app.app_context():
        day = db.session.get(Inspection, ids[0]).scheduled_date
    app.config["NOTICE_WORKERS"] = 2
    auth.login("liu.hrss")
    form = client.get("/notices/batch")
    started = client.post("/notices/batch", data={"csrf_token": csrf_from(form.data), "type": "rectification_order",
                                                  "campaign_id": campaign_id, "day": day.isoformat()})
    assert started.status_code == 302
    assert wait_for_batches(180)
    status = client.get(started.headers["Location"] + "/status").json
    assert status["status"] == "done" and status["rendered"] == status["total"] == 3
    with app.app_context():
        notices = db.session.scalars(sa.select(Notice).where(Notice.batch_id.is_not(None)).order_by(Notice.seq)).all()
        assert [n.number for n in notices] == [f"朔人社监令〔{YEAR}〕{n}号" for n in (1, 2, 3)]
        assert sorted(n.inspection_id for n in notices) == sorted(ids)
        stored = {n.number: n.pdf_sha256 for n in notices}
    archive = zipfile.ZipFile(io.BytesIO(client.get(started.headers["Location"] + "/notices.zip").data))
    hashes = sorted(hashlib.sha256(archive.read(name)).hexdigest() for name in archive.namelist())
    assert hashes == sorted(stored.values())
    printed = client.get(started.headers["Location"] + "/print.pdf")
    assert printed.status_code == 200 and printed.data[:5] == b"%PDF-"


def test_number_formats_are_validated_at_start_up(tmp_path):
    import shutil

    from inspect_app.config import PROJECT_ROOT
    from inspect_app.reference import ReferenceData, ReferenceDataError
    from inspect_app.notices.config import load_notice_settings
    shutil.copytree(PROJECT_ROOT / "registries", tmp_path / "registries")
    path = tmp_path / "registries" / "notices.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("朔文旅执改〔{year}〕{n}号", "朔人社监令〔{year}〕{n}号"), encoding="utf-8")
    departments = ReferenceData(tmp_path / "registries").departments
    with pytest.raises(ReferenceDataError, match="culture.*rectification_order.*same format"):
        load_notice_settings(tmp_path / "registries", departments)
    path.write_text(text.replace("朔市监检〔{year}〕{n}号", "朔市监检〔{year}〕号"), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"samr.*inspection_record.*\{n\}"):
        load_notice_settings(tmp_path / "registries", departments)


@pytest.mark.postgresql
def test_parallel_issuers_get_gapless_unique_numbers_on_postgresql(app, world, backend):
    """Several officers issuing at once: the counter row lock gives 1..N, each once."""
    from inspect_app.auth.models import User
    from inspect_app.inspection.models import Inspection
    from inspect_app.notices.services import issue_notice
    ids = [world["inspection"](f"朔州市并发{i}人力资源服务有限公司") for i in range(5)]
    barrier = threading.Barrier(len(ids))
    errors = []

    def issuer(inspection_id):
        try:
            with app.app_context():
                user = db.session.get(User, world["hrss"])
                inspection = db.session.get(Inspection, inspection_id)
                barrier.wait(30)
                issue_notice("rectification_order", user, inspection=inspection)
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=issuer, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    with app.app_context():
        seqs = sorted(db.session.scalars(sa.select(Notice.seq).where(Notice.type == "rectification_order")))
        numbers = set(db.session.scalars(sa.select(Notice.number)))
    assert seqs == [1, 2, 3, 4, 5]
    assert len(numbers) == 5
    assert counter(app, "hrss", "rectification_order") == 5


def _copy_notice_sql(case_id_param: str) -> str:
    """INSERT a copy of notice :id with its unique columns changed and case_id from the parameter."""
    changed = {"number": "number || '-copy'", "verify_token": "verify_token || 'c'", "seq": "seq + 1000",
               "short_code": "'ZZZZZ-ZZZZZ'", "case_id": case_id_param}
    columns = [c.name for c in Notice.__table__.columns if c.name != "id"]
    return (f"INSERT INTO notices ({', '.join(columns)}) SELECT "
            f"{', '.join(changed.get(c, c) for c in columns)} FROM notices WHERE id = :id")


def test_notice_refers_to_an_existing_case_and_keeps_it(app, world, database_url, backend):
    """The foreign key refuses a notice of a case that does not exist, and the deletion of a case that has
    notices (SQLite enforces it on a connection that turns foreign keys on)."""
    from inspect_app.auth.models import User
    from inspect_app.inspection.models import Inspection
    from inspect_app.notices.services import issue_notice
    inspection_id = world["inspection"]()
    # cases without violations: only a notice can hold them
    kept, spare = make_case(app, inspection_id, set()), make_case(app, inspection_id, set())
    with app.app_context():
        notice = issue_notice("inspection_record", db.session.get(User, world["hrss"]),
                              inspection=db.session.get(Inspection, inspection_id))
        db.session.commit()
        notice_id = notice.id
    copy = _copy_notice_sql(":case_id")
    if backend == "sqlite":
        import sqlite3
        conn = sqlite3.connect(sa.engine.make_url(database_url).database, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")

        def run(sql, **params):
            conn.execute("BEGIN")
            try:
                conn.execute(sql, params)
            except sqlite3.IntegrityError:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        refused = sqlite3.IntegrityError
    else:
        def run(sql, **params):
            with app.app_context(), db.engine.begin() as connection:
                connection.execute(sa.text(sql), params)
        refused = sa.exc.IntegrityError
    try:
        with pytest.raises(refused):
            run(copy, id=notice_id, case_id=spare + kept + 1000)
        run(copy, id=notice_id, case_id=kept)  # the same row with a case that exists is taken
        with pytest.raises(refused):
            run("DELETE FROM cases WHERE id = :id", id=kept)
        run("DELETE FROM cases WHERE id = :id", id=spare)  # a case without notices could go
    finally:
        if backend == "sqlite":
            conn.close()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice).where(Notice.case_id == kept)) == 1


def test_demo_notices_stand_on_the_demo_cases_and_show_on_their_pages(app, runner, client):
    """seed-demo issues every type through the notice service on the demo's own cases and inspections, in
    the order of the procedure; the entity, case and inspection pages list them."""
    from inspect_app.cases.models import Case
    from inspect_app.demo.cli import DEMO_PASSWORD
    from inspect_app.inspection.models import Inspection
    from inspect_app.notices.config import NOTICE_TYPES
    from tests.conftest import AuthActions
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        notices = db.session.scalars(sa.select(Notice).order_by(Notice.id)).all()
        assert {n.type for n in notices} == set(NOTICE_TYPES)
        for notice in notices:
            inspection = db.session.get(Inspection, notice.inspection_id)
            assert inspection is not None and inspection.entity_id == notice.entity_id, notice.number
            if notice.type not in ("inspection_record", "service_receipt"):
                assert notice.case_id is not None, notice.number
            if notice.case_id is not None:
                case = db.session.get(Case, notice.case_id)
                assert case is not None, notice.number
                assert (case.entity_id, case.inspection_id) == (notice.entity_id, notice.inspection_id)
                assert notice.snapshot["source"]["case_id"] == case.id
        for notice_type in NOTICE_TYPES:  # each type's numbers follow the dates of issue
            dates = [n.snapshot["issued_date"] for n in sorted(notices, key=lambda n: n.seq) if n.type == notice_type]
            assert dates == sorted(dates), notice_type
        decision = next(n for n in notices if n.type == "penalty_decision")
        advance = next(n for n in notices if n.type == "penalty_advance_notice" and n.case_id == decision.case_id)
        decided = db.session.get(Case, decision.case_id)
        assert decided.status == "decided" and decision.snapshot["issued_date"] == decided.decided_on.isoformat()
        assert advance.snapshot["issued_date"] == decided.notice_served_on.isoformat() < decided.decided_on.isoformat()
        assert decision.snapshot["body"]["advance"]["number"] == advance.number  # 行政处罚法 Art 62
        crime = db.session.get(Case, next(n.case_id for n in notices if n.type == "criminal_transfer"))
        assert crime.status == "transferred" and crime.referral.kind == "criminal" and crime.referral.status == "sent"
        order = next(n for n in notices if n.type == "rectification_order")
        ordered = db.session.get(Case, order.case_id)
        assert ordered.status == "rectification_ordered"
        assert order.snapshot["violations"][0]["deadline"] == ordered.rectification_deadline.isoformat()
        record = next(n for n in notices if n.type == "inspection_record" and n.inspection_id == order.inspection_id)
        pages = {f"/registry/{decided.entity_id}": [advance.number, decision.number],
                 f"/cases/{decided.id}": [advance.number, decision.number],
                 f"/cases/{ordered.id}": [order.number],
                 f"/inspections/{order.inspection_id}/record": [record.number, order.number]}
    assert AuthActions(client).login("inspector.hrss.sc", DEMO_PASSWORD).status_code == 302
    for url, numbers in pages.items():
        page = client.get(url)
        assert page.status_code == 200, url
        for number in numbers:
            assert number in page.get_data(as_text=True), (url, number)


def test_hrss_penalty_documents_name_the_two_hrss_handling_officers_not_the_joint_team(
        app, client, world, make_user, token_for, tmp_path):
    """行政处罚法 Art 42: the hrss penalty is carried out by two hrss officers with credentials; the samr
    officer of the joint team is not named on it."""
    from inspect_app.auth.models import User
    from inspect_app.auth.services import update_user
    from tests.cases_helpers import case_ids, complete_inspection, make_entity
    inspection_id = complete_inspection(app, make_entity(app), [(world["hrss"], "hrss"), (world["samr"], "samr")], [
        {"type_code": "ja_deposit_taken", "acting_department": "hrss", "quantities": {"persons": 3}},
        {"type_code": "samr_business_licence_not_displayed", "acting_department": "samr"}])
    case_id = case_ids(app, inspection_id)["hrss"]
    officer, boss = token_for("liu.hrss"), token_for("sun.boss")
    case = client.get(f"/api/v1/cases/{case_id}", headers=officer).json
    assert [o["name"] for o in case["handling_officers"]] == ["刘人社"]  # the team's only hrss officer
    assert "两名" in case["officers_missing"] and "现有1名" in case["officers_missing"]

    proposal = {"amount": 3000, "reason": "按每人一千元计算", "adjustment": "lighter"}
    refused = client.post(f"/api/v1/cases/{case_id}/penalty", headers=officer, json=proposal)
    assert refused.status_code == 422 and "承办人员" in refused.json["error"]["fields"]["officers"][0]

    # refusals: the joint team's samr officer, a deactivated colleague, one without a credential, another county
    inactive = make_user("gone.hrss", department="hrss", full_name="离职人社")
    bare = make_user("bare.hrss", department="hrss", full_name="无证人社")
    away = make_user("hr.hrss", department="hrss", region="140681", full_name="怀仁人社")
    with app.app_context():
        update_user(db.session.get(User, inactive), {"is_active": False})
        db.session.get(User, bare).credential_number = None  # an account from before credentials were required
        db.session.commit()
    url = f"/api/v1/cases/{case_id}/officers"
    for other, words in ((world["samr"], ("陈市监", "承办部门")), (inactive, ("离职人社", "停用")),
                         (bare, ("无证人社", "执法证")), (away, ("怀仁人社", "县")),
                         (world["boss"], ("孙科长", "检查员"))):
        response = client.put(url, headers=officer, json={"officers": [world["hrss"], other]})
        assert response.status_code == 422, response.json
        message = response.json["error"]["fields"]["officers"][0]
        assert all(w in message for w in words), message
    alone = client.put(url, headers=officer, json={"officers": [world["hrss"]]})
    assert alone.status_code == 422 and "两名" in alone.json["error"]["fields"]["officers"][0]
    assert client.put(url, headers=token_for("zhao.culture"), json={"officers": [world["hrss"], world["hrss2"]]}
                      ).status_code == 403  # another department's inspector may not manage the case
    with app.app_context():
        from inspect_app.cases.models import CaseOfficer
        assert [o.user_id for o in db.session.scalars(sa.select(CaseOfficer).where(
            CaseOfficer.case_id == case_id))] == [world["hrss"]]  # nothing changed by the refusals

    assigned = client.put(url, headers=officer, json={"officers": [world["hrss"], world["hrss2"]]})
    assert assigned.status_code == 200, assigned.json
    assert [o["name"] for o in assigned.json["handling_officers"]] == ["刘人社", "马人社"]
    assert assigned.json["officers_missing"] is None
    with app.app_context():
        from inspect_app.audit.models import AuditEvent
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "case.officers_set")) is not None
    allowed = client.post(f"/api/v1/cases/{case_id}/penalty", headers=officer, json=proposal)
    assert allowed.status_code == 201, allowed.json

    advance = issue(client, boss, type="penalty_advance_notice", case_id=case_id)
    assert advance.status_code == 201, advance.json
    text = squeeze(pdf_text(client.get(f"/api/v1/notices/{advance.json['id']}/pdf", headers=boss).data, tmp_path))
    assert "刘人社（执法证号：14060201001）" in text and "马人社（执法证号：14060201004）" in text
    assert "陈市监" not in text and "14060202001" not in text
    # the hrss officers serve it: the receipt names them as 送达人
    receipt = issue(client, boss, type="service_receipt", case_id=case_id, notice_ids=[advance.json["id"]])
    assert receipt.status_code == 201, receipt.json
    text = squeeze(pdf_text(client.get(f"/api/v1/notices/{receipt.json['id']}/pdf", headers=boss).data, tmp_path,
                            "receipt.pdf"))
    assert "马人社" in text and "陈市监" not in text
    # the on-site record still names the whole team: it records who was there
    record = issue(client, boss, type="inspection_record", inspection_id=inspection_id)
    assert record.status_code == 201, record.json
    with app.app_context():
        names = [o["name"] for o in db.session.get(Notice, record.json["id"]).snapshot["officers"]]
    assert names == ["刘人社", "陈市监"]
