"""The registry over the API: codes, lifecycle, licences, scope, the entry gate."""
import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from inspect_app.extensions import db
from inspect_app.registry.models import BlacklistEntry, Entity, EntryCheck, SensitiveSite
from tests.registry_helpers import agency, new_code, venue


@pytest.fixture
def desk(make_user, token_for):
    make_user("desk.sc", roles=("registrar",), department="samr", region="140602")
    return token_for("desk.sc")


def _create(client, headers, data):
    return client.post("/api/v1/entities", json=data, headers=headers)


def test_register_returns_the_contract_fields(client, desk):
    response = _create(client, desk, agency())
    assert response.status_code == 201, response.json
    body = response.json
    assert {"id", "kind", "name", "credit_code", "legal_representative", "address", "region_code", "lat", "lon",
            "crs", "status", "risk_score", "attributes"} <= set(body)
    assert body["status"] == "pending" and body["kind"] == "job_agency" and body["attributes"] == {"staff_count": 6}


@pytest.mark.parametrize("raw", ["  91310110666007217t ", "９１３１０１１０６６６００７２１７Ｔ", "9131-0110-6660-0721-7T"])
def test_codes_are_normalised(client, desk, raw):
    response = _create(client, desk, agency(credit_code=raw))
    assert response.status_code == 201, response.json
    assert response.json["credit_code"] == "91310110666007217T"


@pytest.mark.parametrize("raw, fragment", [
    ("91310110666007217A", "check character"),
    ("9131011066600721", "18 characters; this one has 16"),
    ("91310110666OO7217T", "I, O, Z, S or V"),
])
def test_invalid_codes_say_what_is_wrong(client, desk, raw, fragment):
    response = client.post("/api/v1/entities", json=agency(credit_code=raw),
                           headers=dict(desk, **{"Accept-Language": "en"}))
    assert response.status_code == 422
    assert fragment in response.json["error"]["fields"]["credit_code"][0]


def test_invalid_code_in_chinese(client, desk):
    response = _create(client, desk, agency(credit_code="91310110666007217A"))
    assert response.status_code == 422 and "校验" in response.json["error"]["fields"]["credit_code"][0]


def test_duplicate_code_is_409(client, desk):
    code = new_code()
    assert _create(client, desk, agency(credit_code=code)).status_code == 201
    second = _create(client, desk, agency(credit_code=code, name="另一家公司"))
    assert second.status_code == 409
    assert "已登记" in second.json["error"]["fields"]["credit_code"][0]


@pytest.mark.parametrize("name", ["", "   ", "名" * 10000])
def test_bad_names(client, desk, name):
    response = _create(client, desk, agency(name=name))
    assert response.status_code == 422 and "name" in response.json["error"]["fields"]


@pytest.mark.parametrize("lat, lon, field", [(91, 112.4, "lat"), (39.3, 181, "lon"), ("north", 112.4, "lat")])
def test_bad_coordinates(client, desk, lat, lon, field):
    response = _create(client, desk, agency(lat=lat, lon=lon))
    assert response.status_code == 422 and field in response.json["error"]["fields"]


def test_without_code_only_as_unlicensed(client, desk, make_user, token_for):
    missing = _create(client, desk, agency(credit_code=None))
    assert missing.status_code == 422 and "credit_code" in missing.json["error"]["fields"]
    make_user("field.insp", roles=("inspector",), department="hrss", region="140602")
    found = _create(client, token_for("field.insp"), agency(credit_code=None, status="unlicensed",
                                                            name="无照黑中介"))
    assert found.status_code == 201 and found.json["status"] == "unlicensed"
    assert found.json["risk_score"] >= 50


def test_inspector_cannot_register_applications(client, make_user, token_for):
    make_user("insp.only", roles=("inspector",))
    assert _create(client, token_for("insp.only"), agency()).status_code == 403


def test_lifecycle(client, desk):
    entity = _create(client, desk, agency()).json
    url = f"/api/v1/entities/{entity['id']}/status"
    ok = client.post(url, json={"status": "active", "reason": "准予许可", "legal_basis": "人力资源市场暂行条例 第19条"},
                     headers=desk)
    assert ok.status_code == 201 and ok.json["from_status"] == "pending"
    refused = client.post(url, json={"status": "pending", "reason": "x"}, headers=desk)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "illegal_transition"
    message = refused.json["error"]["message"]
    assert "停业整顿" in message and "吊销" in message and "注销" in message  # the allowed ones are named
    missing_reason = client.post(url, json={"status": "suspended", "reason": " "}, headers=desk)
    assert missing_reason.status_code == 422 and "reason" in missing_reason.json["error"]["fields"]


def test_refused_transition_is_audited(app, client, desk):
    from inspect_app.audit.models import AuditEvent
    entity = _create(client, desk, agency()).json
    client.post(f"/api/v1/entities/{entity['id']}/status", json={"status": "closed", "reason": "x"}, headers=desk)
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "entity.status_refused" in actions


def test_other_county_cannot_change_status(client, desk, make_user, token_for):
    entity = _create(client, desk, agency()).json
    make_user("desk.hr", roles=("registrar",), department="samr", region="140681")
    response = client.post(f"/api/v1/entities/{entity['id']}/status", json={"status": "active", "reason": "x"},
                           headers=token_for("desk.hr"))
    assert response.status_code == 403
    assert client.get(f"/api/v1/entities/{entity['id']}", headers=token_for("desk.hr")).status_code == 403


def test_county_desk_cannot_register_elsewhere(client, desk):
    response = _create(client, desk, agency(region_code="140681"))
    assert response.status_code == 403


def test_list_search_filters_scope(client, desk, make_user, token_for):
    _create(client, desk, agency(name="朔州市金桥人力资源服务有限公司"))
    _create(client, desk, venue(name="朔城区星光KTV"))
    make_user("desk.city", roles=("registrar",), department="samr", region="140600")
    make_user("desk.hr2", roles=("registrar",), department="samr", region="140681")
    city = token_for("desk.city")
    _create(client, city, agency(name="怀仁市金桥婚介", kind="marriage_agency", region_code="140681", subtype=None,
                                 attributes={"foreign_related": False}))
    assert client.get("/api/v1/entities?q=金桥", headers=city).json["total"] == 2
    assert client.get("/api/v1/entities?q=金桥", headers=desk).json["total"] == 1  # own county only
    assert client.get("/api/v1/entities?q=金桥", headers=token_for("desk.hr2")).json["total"] == 1
    kinds = client.get("/api/v1/entities?kind=entertainment_venue", headers=city).json
    assert [e["name"] for e in kinds["items"]] == ["朔城区星光KTV"]
    page = client.get("/api/v1/entities?per_page=1&page=2&sort=name", headers=city).json
    assert page["total"] == 3 and len(page["items"]) == 1 and page["page"] == 2
    assert client.get("/api/v1/entities?per_page=1000", headers=city).status_code == 422


def test_search_by_code_prefix_and_representative(client, desk):
    code = new_code()
    _create(client, desk, agency(credit_code=code, legal_representative="欧阳锋"))
    assert client.get(f"/api/v1/entities?q={code[:12].lower()}", headers=desk).json["total"] == 1
    assert client.get("/api/v1/entities?q=欧阳", headers=desk).json["total"] == 1


def test_licences_and_expiry_filter(client, desk):
    entity = _create(client, desk, agency()).json
    url = f"/api/v1/entities/{entity['id']}/licences"
    soon = (date.today() + timedelta(days=20)).isoformat()
    added = client.post(url, json={"type": "hr_service_licence", "number": "HR140602-001", "issued_on": "2024-01-01",
                                   "expires_on": soon}, headers=desk)
    assert added.status_code == 201 and added.json["department"] == "hrss"
    wrong = client.post(url, json={"type": "entertainment_licence", "number": "X"}, headers=desk)
    assert wrong.status_code == 422 and "type" in wrong.json["error"]["fields"]
    backwards = client.post(url, json={"type": "business_licence", "number": "B1", "issued_on": "2025-01-01",
                                       "expires_on": "2024-01-01"}, headers=desk)
    assert backwards.status_code == 422 and "expires_on" in backwards.json["error"]["fields"]
    assert client.get("/api/v1/entities?licence_expiring=30", headers=desk).json["total"] == 1
    assert client.get(url, headers=desk).json["total"] == 1


def test_id_number_is_never_stored_in_clear(app, client, desk):
    response = _create(client, desk, agency(legal_rep_id_number="11010519491231002X"))
    assert response.status_code == 201
    assert response.json["legal_rep_id_masked"] == "110105********002X"
    with app.app_context():
        row = db.session.execute(sa.text("SELECT * FROM entities")).mappings().one()
        assert "11010519491231002X" not in str(dict(row))
        checks = db.session.execute(sa.text("SELECT * FROM entry_checks")).mappings().all()
        assert "11010519491231002X" not in str([dict(c) for c in checks])


def test_gate_records_each_check(app, client, desk):
    result = client.post("/api/v1/entities/check", json=agency(), headers=desk)
    assert result.status_code == 200 and result.json["decision"] == "pass" and result.json["findings"] == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EntryCheck)) == 1


def test_gate_blacklists(app, client, desk):
    code = new_code()
    with app.app_context():
        from inspect_app.pii import id_hmac
        db.session.add(BlacklistEntry(subject_type="entity", credit_code=code, name="黑名单公司",
                                      reason="2024年因介绍未成年人就业被吊销许可证", legal_basis="禁止使用童工规定 第7条"))
        db.session.add(BlacklistEntry(subject_type="person", person_id_hmac=id_hmac("11010519491231002X"),
                                      person_id_masked="110105********002X", name="张某",
                                      reason="曾因组织卖淫被判刑", legal_basis="娱乐场所管理条例 第5条",
                                      bars_venue_work=True))
        db.session.add(BlacklistEntry(subject_type="entity", credit_code=new_code(), name="过期", reason="x",
                                      legal_basis="x", until=date.today() - timedelta(days=1)))
        db.session.commit()
    listed = client.post("/api/v1/entities/check", json=agency(credit_code=code), headers=desk).json
    assert listed["decision"] == "block" and listed["findings"][0]["code"] == "entity_blacklisted"
    assert "禁止使用童工规定" in listed["findings"][0]["basis"]
    barred = client.post("/api/v1/entities/check", json=venue(legal_rep_id_number="11010519491231002X"),
                         headers=desk).json
    assert barred["decision"] == "block"
    assert [f["code"] for f in barred["findings"]] == ["person_barred", "location_missing"]
    # the venue-work bar (条例 Art 5) does not stop a job agency
    other = client.post("/api/v1/entities/check", json=agency(legal_rep_id_number="11010519491231002X"),
                        headers=desk).json
    assert other["decision"] == "pass"


def test_gate_invalid_id_number(client, desk):
    result = client.post("/api/v1/entities/check", json=venue(legal_rep_id_number="110105194912310021"),
                         headers=desk).json
    assert result["decision"] == "block" and result["findings"][0]["field"] == "legal_rep_id_number"


@pytest.mark.parametrize("attributes, decision, code", [
    ({"capacity": 80, "floor_level": 2, "in_residential_building": True}, "block", "rule_in_residential_building"),
    ({"capacity": 80, "floor_level": -2, "in_residential_building": False}, "block", "rule_floor_level"),
    ({"capacity": 80, "floor_level": -1, "in_residential_building": False}, "warn", "rule_floor_level"),
])
def test_gate_venue_premises(client, desk, attributes, decision, code):
    result = client.post("/api/v1/entities/check", json=venue(attributes=attributes), headers=desk).json
    assert result["decision"] == decision
    assert code in [f["code"] for f in result["findings"]]
    assert all(f["basis"] for f in result["findings"] if f["code"] == code)


def test_gate_foreign_marriage_introduction(client, desk):
    data = agency(kind="marriage_agency", subtype=None, attributes={"foreign_related": True})
    result = client.post("/api/v1/entities/check", json=data, headers=desk).json
    assert result["decision"] == "block" and "涉外" in result["findings"][0]["message"]


def test_gate_school_nearby(app, client, desk):
    with app.app_context():
        db.session.add(SensitiveSite(site_kind="school", name="朔城区第二小学", region_code="140602",
                                     lat=39.3300, lon=112.4300))
        db.session.add(SensitiveSite(site_kind="hospital", name="朔州市人民医院", region_code="140602",
                                     lat=39.3301, lon=112.4301))
        db.session.commit()
    near = client.post("/api/v1/entities/check", json=venue(lat=39.3310, lon=112.4300), headers=desk).json
    assert near["decision"] == "block"
    finding = next(f for f in near["findings"] if f["code"] == "sensitive_site_near")
    assert "朔城区第二小学" in finding["message"] and 100 < finding["detail"]["distance_m"] < 120
    assert "医院" not in str(near["findings"])  # hospitals are not in the venue rule's site kinds
    far = client.post("/api/v1/entities/check", json=venue(lat=39.3400, lon=112.4300,
                                                           legal_rep_id_number="11010519491231002X"), headers=desk).json
    assert far["decision"] == "pass", far["findings"]
    nowhere = client.post("/api/v1/entities/check", json=venue(legal_rep_id_number="11010519491231002X"),
                          headers=desk).json
    assert nowhere["decision"] == "warn" and [f["code"] for f in nowhere["findings"]] == ["location_missing"]


def test_blocked_application_is_not_registered(app, client, desk):
    data = venue(attributes={"capacity": 80, "floor_level": -3, "in_residential_building": False})
    response = _create(client, desk, data)
    assert response.status_code == 409 and response.json["error"]["code"] == "entry_blocked"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Entity)) == 0


def test_gcj02_is_stored_as_wgs84(client, desk):
    response = _create(client, desk, agency(lat=39.33163, lon=112.43610, crs="gcj02"))
    body = response.json
    assert body["crs"] == "gcj02" and abs(body["lat"] - 39.33163) > 1e-4  # shifted back to WGS-84


def test_concurrent_registration_of_one_code(app, client, desk, backend):
    """Two desks registering the same code at the same moment: one wins, the other gets 409."""
    code = new_code()
    statuses, errors = [], []
    barrier = threading.Barrier(2)

    def register(name):
        try:
            barrier.wait()
            r = app.test_client().post("/api/v1/entities", json=agency(credit_code=code, name=name), headers=desk)
            statuses.append(r.status_code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(f"并发公司{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(statuses) == [201, 409]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Entity)) == 1


def test_the_fast_list_serialiser_equals_the_documented_schema(app):
    """The list endpoint bypasses marshmallow for speed; its items must stay what EntitySchema says."""
    from inspect_app.registry.api import EntitySchema, entity_json
    from inspect_app.registry.services import register_entity
    with app.test_request_context():
        register_entity(venue(lat=39.33, lon=112.43, crs="gcj02"))
        register_entity(agency(phone="0349-1234567"))
        register_entity({"kind": "job_agency", "name": "无照黑中介", "address": "朔城区某处", "region_code": "140602"},
                        status="unlicensed")
        db.session.commit()
        entities = db.session.scalars(sa.select(Entity)).all()
        assert len(entities) == 3
        for entity in entities:
            assert entity_json(entity) == EntitySchema().dump(entity)


def test_a_short_page_reports_the_true_total(app, client, make_user, token_for):
    from inspect_app.registry.services import register_entity
    with app.test_request_context():
        for number in range(5):
            register_entity(agency(name=f"朔州市第{number}人力资源服务公司"))
        db.session.commit()
    make_user("viewer.list", roles=("viewer",), department="samr", region="140600")
    headers = token_for("viewer.list")
    pages = [client.get(f"/api/v1/entities?per_page=2&page={n}", headers=headers).get_json() for n in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [2, 2, 1, 0]
    assert [p["total"] for p in pages] == [5, 5, 5, 5]


@pytest.mark.postgresql
def test_substring_search_can_use_the_trigram_indexes_on_postgresql(app):
    """The search box's ILIKE '%q%' (Chinese included) must match the pg_trgm indexes' operator class."""
    from inspect_app.registry.queries import entity_query
    with app.app_context():
        for q, columns in (("星光量贩", ("name", "legal_representative", "address")),
                           ("91140602", ("name", "legal_representative", "address", "credit_code"))):
            stmt = entity_query({"q": q}).order_by(None).with_only_columns(Entity.id)
            sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
            with db.engine.connect() as conn:
                conn.exec_driver_sql("SET enable_seqscan = off")
                plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
            assert "Seq Scan" not in plan, plan
            for column in columns:
                assert f"ix_entities_{column}_trgm" in plan, plan
