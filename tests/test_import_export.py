"""Import and export of the registry (issue 3 item 9) with real files built here: CSV in UTF-8 with
and without BOM and in GBK, XLSX from openpyxl, and the things a desk clerk really uploads."""
from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest
import sqlalchemy as sa

from inspect_app.audit.models import AuditEvent
from inspect_app.audit.services import verify_chain
from inspect_app.extensions import db
from inspect_app.registry.imports import EXAMPLE_NAME, ImportJob, wait_for_jobs
from inspect_app.registry.models import BlacklistEntry, Entity, Licence, StatusChange
from tests.conftest import AuthActions, csrf_from
from tests.registry_helpers import new_code

URL = "/api/v1/entities/import"


@pytest.fixture(autouse=True)
def _no_import_left_running():
    yield
    assert wait_for_jobs(60), "a background import is still running"


@pytest.fixture
def desk(make_user, token_for):
    """A registrar of 朔城区 (140602)."""
    make_user("io.desk", roles=("registrar",), department="samr", region="140602")
    return token_for("io.desk")


@pytest.fixture
def city_desk(make_user, token_for):
    make_user("io.city", roles=("registrar",), department="samr", region="140600")
    return token_for("io.city")


_counter = {"n": 0}


def agency(**cells) -> dict:
    _counter["n"] += 1
    row = {"类别": "职业中介机构", "子类": "职业中介", "名称": f"朔州市众诚{_counter['n']}号人力资源服务有限公司",
           "统一社会信用代码": new_code(), "法定代表人": "李娟", "联系电话": "0349-1234567",
           "地址": "朔城区民福东街12号", "所属区县": "朔城区", "从业人员数": "6"}
    row.update(cells)
    return row


def venue(**cells) -> dict:
    _counter["n"] += 1
    row = {"类别": "娱乐场所", "子类": "歌舞娱乐场所", "名称": f"朔城区金色年华{_counter['n']}号KTV",
           "统一社会信用代码": new_code(), "法定代表人": "王建国", "地址": "朔城区开发南路88号", "所属区县": "140602",
           "纬度": "39.331", "经度": "112.432", "坐标系": "wgs84", "核定容纳消费者人数": "120",
           "所在楼层（地下为负）": "2", "是否位于含住宅用途的建筑内": "否"}
    row.update(cells)
    return row


def _headers(rows: list[dict]) -> list[str]:
    headers: list[str] = []
    for row in rows:
        headers += [key for key in row if key not in headers]
    return headers


def csv_bytes(rows: list[dict], encoding: str = "utf-8-sig", headers: list[str] | None = None,
              delimiter: str = ",") -> bytes:
    headers = headers or _headers(rows)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict], headers: list[str] | None = None) -> bytes:
    headers = headers or _headers(rows)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h) for h in headers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, headers, data: bytes, name: str = "entities.csv", language: str | None = None):
    if language:
        headers = dict(headers, **{"Accept-Language": language})
    return client.post(URL, data={"file": (io.BytesIO(data), name)}, headers=headers,
                       content_type="multipart/form-data")


def count(app, model=Entity) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def entities(app) -> list[Entity]:
    with app.app_context():
        found = db.session.scalars(sa.select(Entity).order_by(Entity.id)).all()
        for entity in found:
            _ = entity.licences, entity.status_changes
        db.session.expunge_all()
        return found


# --- encodings and formats -------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
def test_csv_in_every_encoding_chinese_excel_writes(app, client, desk, encoding):
    rows = [agency(名称="朔州市鑫源人力资源服务有限公司", 法定代表人="欧阳娟"), venue()]
    response = upload(client, desk, csv_bytes(rows, encoding))
    assert response.status_code == 201, response.json
    assert response.json == {"created": 2, "errors": [], "error_count": 0, "rows": 2}
    stored = entities(app)
    assert [e.name for e in stored][0] == "朔州市鑫源人力资源服务有限公司"
    assert stored[0].legal_representative == "欧阳娟" and stored[0].status == "pending"
    assert stored[0].attributes == {"staff_count": 6} and stored[0].subtype == "placement"
    assert stored[1].kind == "entertainment_venue" and stored[1].attributes == {
        "capacity": 120, "floor_level": 2, "in_residential_building": False}
    assert stored[1].lat == pytest.approx(39.331) and stored[1].crs == "wgs84"


def test_tab_separated_and_api_field_names_as_headers(app, client, desk):
    code = new_code()
    rows = [{"kind": "job_agency", "subtype": "online", "name": "朔州市网聘科技有限公司", "credit_code": code,
             "address": "朔城区文远路1号", "region_code": "140602", "attributes.staff_count": "3",
             "licences.hr_service_licence.number": "晋人服证字〔2025〕第0009号",
             "licences.hr_service_licence.expires_on": "2030/6/30"}]
    response = upload(client, desk, csv_bytes(rows, "utf-8", delimiter="\t"), "entities.txt")
    assert response.status_code == 201, response.json
    [entity] = entities(app)
    assert (entity.credit_code, entity.subtype, entity.attributes) == (code, "online", {"staff_count": 3})
    [licence] = entity.licences
    assert (licence.type, licence.department, licence.expires_on) == ("hr_service_licence", "hrss", date(2030, 6, 30))


def test_xlsx_with_typed_cells(app, client, desk):
    rows = [venue(所属区县=140602, 纬度=39.3312, 经度=112.4321, 核定容纳消费者人数=150, 包厢数=12.0,
                  **{"所在楼层（地下为负）": -1, "娱乐经营许可证编号": "晋文娱字2025001",
                     "娱乐经营许可证发证日期": datetime(2025, 3, 1), "娱乐经营许可证有效期至": date(2027, 2, 28)})]
    response = upload(client, desk, xlsx_bytes(rows), "venues.xlsx")
    assert response.status_code == 201, response.json
    [entity] = entities(app)
    assert entity.region_code == "140602" and entity.lat == pytest.approx(39.3312)
    assert entity.attributes["capacity"] == 150 and entity.attributes["room_count"] == 12
    assert entity.attributes["floor_level"] == -1
    [licence] = entity.licences
    assert (licence.issued_on, licence.expires_on) == (date(2025, 3, 1), date(2027, 2, 28))


def test_the_name_does_not_decide_the_format(app, client, desk):
    """A CSV saved as .xlsx (and an XLSX saved as .csv) are read for what they are."""
    assert upload(client, desk, csv_bytes([agency()]), "looks-like.xlsx").status_code == 201
    assert upload(client, desk, xlsx_bytes([agency()]), "looks-like.csv").status_code == 201
    assert count(app) == 2


@pytest.mark.parametrize("content, fragment", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >>\nendobj\n", "PDF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "PNG"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "JPEG"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ".xls"),
    ("类别,名称\n职业中介机构,测试\n".encode("utf-16"), "UTF-16"),
])
def test_not_a_table_is_415(app, client, desk, content, fragment):
    response = upload(client, desk, content, "entities.csv", language="en")
    assert response.status_code == 415, response.json
    assert response.json["error"]["code"] == "unsupported_file" or "encoding" in response.json["error"]["code"]
    assert fragment in response.json["error"]["message"]
    assert count(app) == 0


def test_pdf_renamed_csv_is_refused(app, client, desk):
    response = upload(client, desk, b"%PDF-1.4\n" + b"x" * 100, "名单.csv")
    assert response.status_code == 415 and "PDF" in response.json["error"]["message"]
    assert count(app) == 0


def test_a_zip_that_is_not_a_workbook_is_415(client, desk):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    response = upload(client, desk, out.getvalue(), "entities.xlsx", language="en")
    assert response.status_code == 415 and "not an XLSX" in response.json["error"]["message"]


def test_bytes_that_are_neither_utf8_nor_gb18030_are_415(client, desk):
    response = upload(client, desk, "类别,名称\n".encode("utf-8") + b"\x80\x80\xff\xff\n", language="en")
    assert response.status_code == 415 and "neither UTF-8 nor GBK" in response.json["error"]["message"]


def test_size_and_row_limits_are_413(app, client, desk):
    app.config.update(IMPORT_MAX_ROWS=3)
    response = upload(client, desk, csv_bytes([agency() for _ in range(4)]), language="en")
    assert response.status_code == 413 and "more than 3 rows" in response.json["error"]["message"]
    app.config.update(IMPORT_MAX_BYTES=100 * 1024)  # small: the test client spools big bodies to files
    response = upload(client, desk, b"a,b\n" + b"x" * (100 * 1024), language="en")
    assert response.status_code == 413 and "larger than 100 KB" in response.json["error"]["message"]
    assert count(app) == 0


def test_missing_file_and_empty_file(client, desk):
    missing = client.post(URL, data={}, headers=desk, content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in missing.json["error"]["fields"]
    empty = upload(client, desk, b"")
    assert empty.status_code == 422
    header_only = upload(client, desk, csv_bytes([], headers=["类别", "名称", "统一社会信用代码", "地址", "所属区县"]))
    assert header_only.status_code == 422


# --- XLSX formulas ---------------------------------------------------------------------------

def _with_cached_value(data: bytes, cell: str, value: str) -> bytes:
    """Give a formula cell the cached value a spreadsheet program would have saved with it."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                text, n = re.subn(rf'<c r="{cell}"><f>(.*?)</f><v\s*/>',
                                  rf'<c r="{cell}" t="str"><f>\1</f><v>{value}</v>', text)
                assert n == 1, text
                body = text.encode()
            target.writestr(item, body)
    return out.getvalue()


def test_formula_without_cached_value_is_an_error(app, client, desk):
    rows = [agency(), agency(名称='=CONCATENATE("朔州市","某公司")')]
    response = upload(client, desk, xlsx_bytes(rows), "formula.xlsx", language="en")
    assert response.status_code == 422
    assert response.json["created"] == 0
    assert response.json["errors"] == [{"row": 3, "field": "name", "column": "名称",
                                        "message": "Formulas are not accepted: type the value itself (or paste "
                                                   "values only)."}]
    assert count(app) == 0


def test_formula_with_cached_value_uses_the_value_and_is_not_evaluated(app, client, desk):
    data = xlsx_bytes([agency(名称='=CONCATENATE("朔州市","恒达职业介绍所")')])
    response = upload(client, desk, _with_cached_value(data, "C2", "朔州市恒达职业介绍所"), "formula.xlsx")
    assert response.status_code == 201, response.json
    assert entities(app)[0].name == "朔州市恒达职业介绍所"


# --- rows that are wrong ---------------------------------------------------------------------

def test_missing_required_column(app, client, desk):
    rows = [{k: v for k, v in agency().items() if k != "统一社会信用代码"}]
    response = upload(client, desk, csv_bytes(rows), language="en")
    assert response.status_code == 422
    assert response.json["errors"] == [{"row": 1, "field": "credit_code", "column": "统一社会信用代码",
                                        "message": "Required column missing: 统一社会信用代码 (or credit_code)."}]


def test_unknown_and_repeated_columns(client, desk):
    headers = ["类别", "名称", "统一社会信用代码", "地址", "所属区县", "营业额", "name"]
    response = upload(client, desk, csv_bytes([agency()], headers=headers), language="en")
    errors = {(e["row"], e["column"]): e["message"] for e in response.json["errors"]}
    assert errors[(1, "营业额")].startswith("Unknown column")
    assert errors[(1, "name")].startswith("This column appears twice")


def test_invalid_code_is_reported_by_row_and_field_in_the_users_language(client, desk):
    rows = [agency(), agency(统一社会信用代码="91310110666007217A"), agency(统一社会信用代码="9131011066600721")]
    zh = upload(client, desk, csv_bytes(rows))
    assert zh.status_code == 422 and zh.json["created"] == 0
    assert [(e["row"], e["field"]) for e in zh.json["errors"]] == [(3, "credit_code"), (4, "credit_code")]
    assert "校验" in zh.json["errors"][0]["message"]
    assert zh.json["error"]["code"] == "validation_error"
    en = upload(client, desk, csv_bytes(rows), language="en")
    assert "check character" in en.json["errors"][0]["message"]
    assert "18 characters; this one has 16" in en.json["errors"][1]["message"]


def test_full_width_digits_are_normalised(app, client, desk):
    code = new_code()
    full = code.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"})
    rows = [venue(统一社会信用代码=full, 所属区县="１４０６０２", 纬度="３９．３３１", 核定容纳消费者人数="１２０")]
    response = upload(client, desk, csv_bytes(rows))
    assert response.status_code == 201, response.json
    [entity] = entities(app)
    assert (entity.credit_code, entity.region_code, entity.attributes["capacity"]) == (code, "140602", 120)
    assert entity.lat == pytest.approx(39.331)


def test_duplicate_codes_within_the_file_and_against_the_database(app, client, desk):
    registered = new_code()
    assert upload(client, desk, csv_bytes([agency(统一社会信用代码=registered)])).status_code == 201
    twice = new_code()
    rows = [agency(统一社会信用代码=twice), agency(), agency(统一社会信用代码=twice.lower()),
            agency(统一社会信用代码=registered)]
    response = upload(client, desk, csv_bytes(rows), language="en")
    assert response.status_code == 422
    assert response.json["errors"] == [
        {"row": 4, "field": "credit_code", "column": "统一社会信用代码",
         "message": "The same credit code is already in row 2 of this file."},
        {"row": 5, "field": "credit_code", "column": "统一社会信用代码",
         "message": "This credit code is already registered."},
    ]
    assert count(app) == 1


def test_duplicate_licence_numbers(app, client, desk):
    first = upload(client, desk, csv_bytes([agency(营业执照编号="140602000000777")]))
    assert first.status_code == 201
    rows = [agency(营业执照编号="140602000000777"), agency(营业执照编号="X1"), agency(营业执照编号="X1")]
    response = upload(client, desk, csv_bytes(rows), language="en")
    assert [(e["row"], e["field"], e["message"]) for e in response.json["errors"]] == [
        (2, "licences.business_licence.number", "A licence of this type with this number is already registered."),
        (4, "licences.business_licence.number", "The same licence number is already in row 3 of this file."),
    ]


def test_ten_thousand_character_name_and_empty_name(client, desk):
    rows = [agency(名称="朔" * 10_000), agency(名称="   ")]
    response = upload(client, desk, csv_bytes(rows), language="en")
    assert [(e["row"], e["field"], e["message"]) for e in response.json["errors"]] == [
        (2, "name", "At most 200 characters."), (3, "name", "This field is required.")]


@pytest.mark.parametrize("lat, lon, field", [("95", "112.4", "lat"), ("39.3", "181", "lon"),
                                             ("北纬39度", "112.4", "lat"), ("39.3", "", "lon")])
def test_coordinates_out_of_range(client, desk, lat, lon, field):
    response = upload(client, desk, csv_bytes([venue(纬度=lat, 经度=lon)]), language="en")
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json["errors"]] == [(2, field)]


def test_every_error_of_every_row_is_listed(client, desk):
    rows = [agency(类别="网吧"), venue(核定容纳消费者人数="-5", 是否位于含住宅用途的建筑内="也许", 坐标系="baidu"),
            agency(所属区县="朔州市", 从业人员数="很多", 状态="正常经营")]
    response = upload(client, desk, csv_bytes(rows), language="en")
    got = [(e["row"], e["field"]) for e in response.json["errors"]]
    assert (2, "kind") in got
    assert {(3, "attributes.capacity"), (3, "attributes.in_residential_building"), (3, "crs")} <= set(got)
    assert {(4, "region_code"), (4, "attributes.staff_count"), (4, "status")} <= set(got)
    assert got == sorted(got, key=lambda rf: rf[0])


def test_one_bad_row_among_a_hundred_creates_nothing(app, client, desk):
    rows = [agency() for _ in range(100)]
    rows[56]["统一社会信用代码"] = rows[56]["统一社会信用代码"][:-1] + ("0" if rows[56]["统一社会信用代码"][-1] != "0" else "1")
    response = upload(client, desk, csv_bytes(rows))
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json["errors"]] == [(58, "credit_code")]
    assert response.json["created"] == 0 and response.json["rows"] == 100
    assert count(app) == 0 and count(app, StatusChange) == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.object_type == "entities")) == 0
    rows[56]["统一社会信用代码"] = new_code()
    assert upload(client, desk, csv_bytes(rows)).status_code == 201
    assert count(app) == 100


def test_unlicensed_rows_and_other_statuses(app, client, desk):
    rows = [agency(统一社会信用代码="", 状态="无照经营", 名称="无照黑中介"), agency(状态="unlicensed"), agency(状态="待审核")]
    response = upload(client, desk, csv_bytes(rows))
    assert response.status_code == 201, response.json
    assert [(e.status, e.credit_code is None) for e in entities(app)] == [
        ("unlicensed", True), ("unlicensed", False), ("pending", False)]
    assert entities(app)[0].risk_score >= 50  # operating without a licence
    refused = upload(client, desk, csv_bytes([agency(统一社会信用代码=""), agency(状态="正常经营")]), language="en")
    assert [(e["row"], e["field"]) for e in refused.json["errors"]] == [(2, "credit_code"), (3, "status")]
    assert refused.json["errors"][0]["message"] == "A credit code is required, except for an unlicensed operator."


def test_the_entry_gates_blocking_rules_apply(app, client, desk):
    listed = new_code()
    with app.app_context():
        db.session.add(BlacklistEntry(subject_type="entity", credit_code=listed, name="黑名单公司", reason="非法中介",
                                      legal_basis="人力资源市场暂行条例 第42条"))
        db.session.commit()
    rows = [venue(**{"所在楼层（地下为负）": "-2"}), agency(统一社会信用代码=listed),
            venue(是否位于含住宅用途的建筑内="是"), venue(**{"所在楼层（地下为负）": "-1"})]
    response = upload(client, desk, csv_bytes(rows), language="en")
    got = {(e["row"], e["field"]): e["message"] for e in response.json["errors"]}
    assert "below the first basement level" in got[(2, "attributes.floor_level")]
    assert "on the blacklist: 非法中介" in got[(3, "credit_code")]
    assert "dwellings" in got[(4, "attributes.in_residential_building")]
    assert not any(row == 5 for row, _field in got)  # a warning (first basement) does not stop the import


def test_template_example_row_is_refused(client, desk):
    response = upload(client, desk, csv_bytes([agency(名称=EXAMPLE_NAME)]), language="en")
    assert response.json["errors"][0]["message"].startswith("This is the template's example row")


# --- scope and permissions -------------------------------------------------------------------

def test_a_county_desk_cannot_import_rows_of_another_county(app, client, desk, city_desk):
    rows = [agency(), agency(所属区县="怀仁市", 统一社会信用代码=new_code("140681"))]
    response = upload(client, desk, csv_bytes(rows), language="en")
    assert response.status_code == 422
    assert response.json["errors"] == [{"row": 3, "field": "region_code", "column": "所属区县",
                                        "message": "Outside your region scope."}]
    assert count(app) == 0
    assert upload(client, city_desk, csv_bytes(rows)).status_code == 201


@pytest.mark.parametrize("role", ["inspector", "viewer", "planner", "supervisor"])
def test_only_the_desk_imports(app, client, make_user, token_for, role):
    make_user("not.desk", roles=(role,), region="140600")
    response = upload(client, token_for("not.desk"), csv_bytes([agency()]))
    assert response.status_code == 403
    AuthActions(client).login("not.desk")
    assert client.get("/registry/import").status_code == 403
    assert client.get("/registry/import/template.xlsx").status_code == 403
    assert count(app) == 0


def test_anonymous_gets_401(client):
    assert upload(client, {}, csv_bytes([agency()])).status_code == 401


def test_import_is_audited_one_event_per_entity(app, client, desk):
    response = upload(client, desk, csv_bytes([agency(营业执照编号="140602000001234"), venue(), agency()]))
    assert response.status_code == 201
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "entities")
                                    .order_by(AuditEvent.seq)).all()
        ids = db.session.scalars(sa.select(Entity.id).order_by(Entity.id)).all()
        assert [(e.action, e.object_id) for e in events] == [("create", str(i)) for i in ids]
        assert all(e.actor == "io.desk" for e in events)
        assert events[0].after["licences"] == ["140602000001234"] and events[0].after["row"] == 2
        assert events[0].after["name"].startswith("朔州市众诚") and events[1].after["kind"] == "entertainment_venue"
        summary = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "entities.import")).one()
        assert summary.after["created"] == 3
        changes = db.session.scalars(sa.select(StatusChange)).all()
        assert len(changes) == 3 and all("entities.csv" in c.reason and c.to_status == "pending" for c in changes)
        assert verify_chain(db.session)[1] is None


# --- the template ----------------------------------------------------------------------------

def test_templates_have_chinese_headers_an_example_and_an_explanation(app, client, desk, make_user):
    AuthActions(client).login("io.desk")
    response = client.get("/registry/import/template.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    data, notes = book.worksheets
    header = [c.value for c in data[1]]
    assert header[:5] == ["类别", "子类", "名称", "统一社会信用代码", "状态"]
    assert {"所属区县", "核定容纳消费者人数", "营业执照编号", "人力资源服务许可证有效期至"} <= set(header)
    assert data.max_row == 2 and data.cell(row=2, column=3).value == EXAMPLE_NAME
    explained = {row[0] for row in notes.iter_rows(values_only=True) if row and row[0]}
    assert set(header) <= explained and "系统编号" in explained
    text = " ".join(str(v) for row in notes.iter_rows(values_only=True) for v in row if v)
    assert "无照经营" in text and "credit_code" in text
    csv_response = client.get("/registry/import/template.csv")
    assert csv_response.data.startswith(b"\xef\xbb\xbf") and csv_response.mimetype == "text/csv"
    lines = csv_response.data.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == header and len(lines) == 2
    # the template with its example row replaced imports as it is
    filled = [dict(zip(header, [c.value for c in data[2]]), 名称="朔州市模板测试人力资源服务有限公司")]
    assert upload(client, desk, csv_bytes(filled, headers=header)).status_code == 201
    assert client.get("/registry/import/template.pdf").status_code == 404


# --- export ----------------------------------------------------------------------------------

def _read_csv_export(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _entity_tuple(e: Entity) -> tuple:
    return (e.kind, e.subtype, e.name, e.credit_code, e.status, e.legal_representative, e.phone, e.address,
            e.region_code, e.lat, e.lon, e.attributes, e.legal_rep_id_masked is not None,
            sorted((lic.type, lic.number, lic.issued_on, lic.expires_on) for lic in e.licences))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imports_again(app, client, desk, fmt):
    rows = [agency(营业执照编号="140602000000042", 营业执照发证日期="2024-01-05", 人力资源服务许可证编号="晋人服2024-07",
                   人力资源服务许可证有效期至="2029-02-28", 法定代表人身份证号="11010519491231002X"),
            venue(法定代表人="", 联系电话="+86 349 1234567", 包厢数="8", 营业时间="10:00-02:00",
                  **{"所在楼层（地下为负）": "-1"}),
            agency(统一社会信用代码="", 状态="无照经营", 名称="-无照中介", 纬度="", 经度="")]
    assert upload(client, desk, csv_bytes(rows)).status_code == 201
    before = [_entity_tuple(e) for e in entities(app)]
    AuthActions(client).login("io.desk")
    exported = client.get(f"/registry/export.{fmt}")
    assert exported.status_code == 200
    with app.app_context():
        db.session.execute(sa.delete(Licence))
        db.session.execute(sa.delete(StatusChange))
        db.session.execute(sa.delete(Entity))
        db.session.commit()
    again = upload(client, desk, exported.data, f"export.{fmt}")
    assert again.status_code == 201, again.json
    after = [_entity_tuple(e) for e in entities(app)]
    assert sorted(after, key=str) == sorted([b[:12] + (False,) + b[13:] for b in before], key=str)


def test_export_escapes_formulas_and_never_the_id_number(app, client, desk):
    from inspect_app.registry.services import register_entity
    with app.app_context():
        register_entity({"kind": "job_agency", "name": '=HYPERLINK("http://evil.example","点我")',
                         "credit_code": new_code(), "legal_representative": "+cmd|' /C calc'!A0",
                         "legal_rep_id_number": "11010519491231002X", "address": "@SUM(1+1)*cmd|' /C calc'!A0",
                         "phone": "-2+3", "region_code": "140602", "attributes": {"staff_count": 2}},
                        status="pending")
        db.session.commit()
    AuthActions(client).login("io.desk")
    response = client.get("/registry/export.csv")
    text = response.data.decode("utf-8-sig")
    assert "11010519491231002X" not in text and "110105********002X" in text
    [row] = _read_csv_export(response.data)
    assert row["名称"] == '\'=HYPERLINK("http://evil.example","点我")'
    assert row["法定代表人"].startswith("'+") and row["地址"].startswith("'@") and row["联系电话"] == "'-2+3"
    assert row["法定代表人身份证号"] == "" and row["法定代表人身份证号（已隐去）"] == "110105********002X"
    book = openpyxl.load_workbook(io.BytesIO(client.get("/registry/export.xlsx").data))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("名称") + 1)
    assert cell.data_type == "s" and cell.value.startswith("'=")
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert "11010519491231002X" not in str([c.value for row in sheet.iter_rows() for c in row])


def _list_ids(client, query: str) -> list[int]:
    html = client.get(f"/registry/?{query}").data.decode()
    return [int(i) for i in re.findall(r'href="/registry/(\d+)"', html)]


def _export_ids(client, query: str) -> list[int]:
    return [int(r["系统编号"]) for r in _read_csv_export(client.get(f"/registry/export.csv?{query}").data)]


def test_export_has_the_list_pages_filters_and_scope(app, client, city_desk, make_user):
    rows = [agency(), agency(所属区县="怀仁市", 统一社会信用代码=new_code("140681"), 名称="怀仁市博远职业介绍所"),
            venue(), agency(统一社会信用代码="", 状态="无照经营", 名称="朔城区无照中介")]
    assert upload(client, city_desk, csv_bytes(rows)).status_code == 201
    AuthActions(client).login("io.city")
    for query in ("", "q=博远", "kind=entertainment_venue", "region=140681", "status=unlicensed",
                  "sort=name", "min_risk=40", "licence_expiring=30", "min_risk=abc", "licence_expiring=7"):
        assert _export_ids(client, query) == _list_ids(client, query), query
    assert len(_export_ids(client, "")) == 4
    make_user("sc.viewer", roles=("viewer",), region="140602")
    AuthActions(client).logout()
    AuthActions(client).login("sc.viewer")
    assert sorted(_export_ids(client, "")) == sorted(_list_ids(client, "")) and len(_export_ids(client, "")) == 3
    assert client.get("/registry/export.pdf").status_code == 404
    app.config.update(EXPORT_XLSX_MAX_ROWS=2)
    too_many = client.get("/registry/export.xlsx")
    assert too_many.status_code == 413 and "CSV" in too_many.data.decode()
    assert client.get("/registry/export.csv").status_code == 200  # a CSV streams: no limit
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "entities.export")
                                   .order_by(AuditEvent.seq.desc())).first()
        assert event.actor == "sc.viewer" and event.after["rows"] == 3 and event.after["format"] == "csv"


def test_list_page_links_import_and_export_with_its_filters(client, desk):
    AuthActions(client).login("io.desk")
    html = client.get("/registry/?kind=job_agency&page=1").data.decode()
    assert 'href="/registry/import"' in html
    assert "/registry/export.csv?kind=job_agency" in html and "/registry/export.xlsx?kind=job_agency" in html
    assert "page=1" not in re.search(r'href="(/registry/export\.csv[^"]*)"', html).group(1)


# --- the desk's pages: upload, progress, result ----------------------------------------------

def _wait_finished(client, job_url: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(job_url + "/status").json
        if state["finished"] or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def _upload_page(client, data: bytes, name: str):
    page = client.get("/registry/import")
    assert page.status_code == 200
    return client.post("/registry/import", data={"csrf_token": csrf_from(page.data), "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


@pytest.fixture
def web_desk(client, make_user):
    """A registrar of 朔城区 signed in on the desk's pages, reading them in English."""
    make_user("web.desk", roles=("registrar",), department="samr", region="140602", locale="en")
    AuthActions(client).login("web.desk")
    return "web.desk"


def test_upload_progress_and_result_pages(app, client, web_desk):
    page = client.get("/registry/import").data.decode()
    assert "import-progress" not in page and "/registry/import/template.xlsx" in page
    response = _upload_page(client, csv_bytes([agency() for _ in range(30)]), "三十家.csv")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    assert re.fullmatch(r"/registry/import/\d+", job_url)
    first = client.get(job_url).data.decode()
    assert "三十家.csv" in first
    state = _wait_finished(client, job_url)
    assert state["status"] == "done" and state["rows_created"] == 30 and state["rows_total"] == 30
    result = client.get(job_url).data.decode()
    assert "30 entities imported." in result and "import-progress.js" not in result
    assert count(app) == 30
    with app.app_context():
        job = db.session.scalars(sa.select(ImportJob)).one()
        assert (job.status, job.rows_created, job.file_format, job.error_count) == ("done", 30, "csv", 0)
        assert all(e.created_by_id == job.user_id for e in db.session.scalars(sa.select(Entity)))
        assert {e.actor for e in db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.object_type == "entities"))} == {"web.desk"}
    assert "三十家.csv" in client.get("/registry/import").data.decode()  # listed among recent imports


def test_progress_page_before_the_end_polls_with_a_script(app, client, web_desk):
    from inspect_app.registry.imports import create_job, update_job
    with app.app_context():
        from inspect_app.auth.models import User
        user_id = db.session.scalars(sa.select(User.id).where(User.username == web_desk)).one()
        job_id = create_job(user_id, "大文件.xlsx", b"x", "zh_CN")
        update_job(job_id, status="checking", rows_total=50000, rows_checked=12000)
    html = client.get(f"/registry/import/{job_id}").data.decode()
    assert 'src="/static/js/import-progress.js?v=' in html and "<script>" not in html
    assert f'data-status-url="/registry/import/{job_id}/status"' in html
    assert 'max="50000" value="12000"' in html and "Checking the rows" in html
    state = client.get(f"/registry/import/{job_id}/status").json
    assert (state["status"], state["rows_checked"], state["finished"]) == ("checking", 12000, False)
    with app.app_context():
        db.session.execute(sa.update(ImportJob).where(ImportJob.id == job_id).values(
            updated_dt=datetime.now(timezone.utc) - timedelta(hours=1)))
        db.session.commit()
    assert client.get(f"/registry/import/{job_id}/status").json["status"] == "stale"
    assert "Interrupted" in client.get(f"/registry/import/{job_id}").data.decode()
    with client.get("/static/js/import-progress.js") as script:
        assert script.status_code == 200 and b"data-status-url" in script.data


def test_rejected_upload_lists_every_error_and_offers_them_as_csv(app, client, web_desk):
    rows = [agency(), agency(统一社会信用代码="91310110666007217A"), venue(纬度="95")]
    response = _upload_page(client, csv_bytes(rows, "gbk"), "有错.csv")
    job_url = response.headers["Location"]
    state = _wait_finished(client, job_url)
    assert state["status"] == "rejected" and state["error_count"] == 2
    html = client.get(job_url).data.decode()
    assert "Nothing was imported: 2 errors in the file." in html
    assert re.search(r"<td[^>]*>3</td><td>统一社会信用代码", html) and re.search(r"<td[^>]*>4</td><td>纬度", html)
    errors = client.get(job_url + "/errors.csv")
    assert errors.status_code == 200
    lines = list(csv.reader(io.StringIO(errors.data.decode("utf-8-sig"))))
    assert [line[:3] for line in lines[1:]] == [["3", "统一社会信用代码", "credit_code"], ["4", "纬度", "lat"]]
    assert count(app) == 0


def test_upload_page_refuses_a_pdf_at_once(app, client, web_desk):
    response = _upload_page(client, b"%PDF-1.5\n" + b"0" * 200, "名单.csv")
    assert response.status_code == 415
    assert "PDF" in response.data.decode()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportJob)) == 0
    page = client.get("/registry/import")
    no_file = client.post("/registry/import", data={"csrf_token": csrf_from(page.data)},
                          content_type="multipart/form-data")
    assert no_file.status_code == 422
    no_token = client.post("/registry/import", data={"file": (io.BytesIO(csv_bytes([agency()])), "a.csv")},
                           content_type="multipart/form-data")
    assert no_token.status_code == 400 and count(app) == 0


def test_another_users_job_is_not_shown(app, client, web_desk, make_user):
    job_url = _upload_page(client, csv_bytes([agency()]), "a.csv").headers["Location"]
    _wait_finished(client, job_url)
    make_user("other.desk", roles=("registrar",), department="samr", region="140602")
    AuthActions(client).logout()
    AuthActions(client).login("other.desk")
    assert client.get(job_url).status_code == 403
    assert client.get(job_url + "/status").status_code == 403
    assert client.get("/registry/import/999999").status_code == 404


def test_failed_background_import_reports_the_file_problem(app, client, web_desk):
    app.config.update(IMPORT_MAX_ROWS=2)
    job_url = _upload_page(client, csv_bytes([agency() for _ in range(3)]), "big.csv").headers["Location"]
    state = _wait_finished(client, job_url)
    assert state["status"] == "failed"
    assert "The file has more than 2 rows" in client.get(job_url).data.decode()


# --- row numbers, repeats and races ----------------------------------------------------------

def test_row_numbers_are_the_spreadsheets_own(client, desk):
    """Blank rows above the headers and between rows keep Excel's numbering."""
    good, bad = agency(), agency(统一社会信用代码="91310110666007217A")
    body = csv_bytes([good, {}, bad]).decode("utf-8-sig")
    response = upload(client, desk, ("\ufeff,,\r\n\r\n" + body).encode("utf-8"), language="en")
    assert [(e["row"], e["field"]) for e in response.json["errors"]] == [(6, "credit_code")]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["", ""])
    headers = _headers([good])
    sheet.append(headers)
    sheet.append([good[h] for h in headers])
    sheet.append([])
    sheet.append([bad.get(h) for h in headers])
    out = io.BytesIO()
    book.save(out)
    response = upload(client, desk, out.getvalue(), "gaps.xlsx", language="en")
    assert [(e["row"], e["field"]) for e in response.json["errors"]] == [(5, "credit_code")]


def test_a_repeated_request_with_an_idempotency_key_imports_once(app, client, desk):
    """A resent upload is the same bytes, boundary included (the test client would pick a new one)."""
    boundary = "----import-boundary-7f3a"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + csv_bytes([agency(), agency()]) + \
        f"\r\n--{boundary}--\r\n".encode()
    headers = dict(desk, **{"Idempotency-Key": "import-2026-11-29-a"})
    first, again = (client.post(URL, data=body, headers=headers,
                                content_type=f"multipart/form-data; boundary={boundary}") for _ in range(2))
    assert first.status_code == 201, first.json
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == first.json and count(app) == 2


def test_a_code_registered_meanwhile_is_a_409_and_nothing_is_created(app, client, desk, monkeypatch):
    """Between the check and the insert another desk registers one of the codes: the unique
    constraint stops the import (COPY on PostgreSQL, executemany on SQLite) and it rolls back."""
    from inspect_app.registry import imports
    from inspect_app.registry.services import register_entity
    code = new_code()
    rows = [agency(), agency(统一社会信用代码=code), agency()]
    with app.app_context():
        register_entity({"kind": "job_agency", "name": "抢先登记的中介", "credit_code": code, "address": "朔城区1号",
                         "region_code": "140602", "attributes": {}})
        db.session.commit()
    monkeypatch.setattr(imports, "_check_database", lambda drafts, errors: None)  # as if checked before
    response = upload(client, desk, csv_bytes(rows))
    assert response.status_code == 409, response.json
    assert list(response.json["error"]["fields"]) == ["credit_code"]
    assert count(app) == 1 and count(app, StatusChange) == 1


def test_a_race_in_the_background_is_reported_on_the_job(app, client, web_desk, monkeypatch):
    from inspect_app.registry import imports
    from inspect_app.registry.services import register_entity
    code = new_code()
    with app.app_context():
        register_entity({"kind": "job_agency", "name": "抢先登记的中介", "credit_code": code, "address": "朔城区1号",
                         "region_code": "140602", "attributes": {}})
        db.session.commit()
    monkeypatch.setattr(imports, "_check_database", lambda drafts, errors: None)
    job_url = _upload_page(client, csv_bytes([agency(), agency(统一社会信用代码=code)]), "race.csv").headers["Location"]
    state = _wait_finished(client, job_url)
    assert state["status"] == "failed" and count(app) == 1
    assert "registered by someone else meanwhile" in client.get(job_url).data.decode()


def test_formulas_in_the_header_row(client, desk):
    rows = [agency()]
    headers = _headers(rows)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["=\"类\"&\"别\""] + headers[1:])
    sheet.append([rows[0][h] for h in headers])
    out = io.BytesIO()
    book.save(out)
    response = upload(client, desk, out.getvalue(), "header.xlsx", language="en")
    assert response.status_code == 422 and "header row contains formulas" in response.json["error"]["message"]


def test_import_benchmark_runs_in_quick_mode(tmp_path):
    """bench/bench_import.py end to end on SQLite (figures only; the ratio is judged by the benchmark)."""
    import json
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(root / "bench" / "bench_import.py"), "--quick", "--sqlite-only",
                           "--results-dir", str(tmp_path)], cwd=root, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output  # 2 would mean it could not measure
    assert re.search(r"^sqlite product seconds: [0-9.]+ +floor seconds: [0-9.]+ +ratio \(product/floor\): [0-9.]+",
                     done.stdout, re.MULTILINE), output
    [recorded] = tmp_path.glob("import-*.json")
    data = json.loads(recorded.read_text())
    assert data["parameters"]["rows"] == 2000 and data["backends"]["sqlite"]["product_seconds"] > 0
