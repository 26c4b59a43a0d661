"""一公开: the public pages and API show published results, and never personal data."""
import csv
import io
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from inspect_app.extensions import db
from inspect_app.inspection.models import Inspection, InspectionMember, Referral, Violation
from inspect_app.planning.models import Campaign
from inspect_app.planning.publication import load_policy, results_cutoff
from inspect_app.reference import ReferenceDataError
from inspect_app.registry.models import Entity
from tests.planning_helpers import add_entities, add_inspectors, campaign_body, drawn_campaign, planner_headers

# Personal data planted in the database; none of it may appear in any public output.
INSPECTOR_NAME = "执法员甄秘密"
CREDENTIAL = "SX-CRED-770001"
LEGAL_REP = "法人代表贾隐私"
PARTY = "现场负责人郝保密"
VICTIM = "受害人小花"
CAUSE_NOTE = "群众举报人电话13900001111"
PUBLIC_API = ["/api/v1/public/results", "/api/v1/public/results.csv", "/api/v1/public/campaigns"]
PUBLIC_PAGES = ["/public/", "/public/results", "/public/results.csv"]
SECRETS = [INSPECTOR_NAME, CREDENTIAL, LEGAL_REP, PARTY, VICTIM, CAUSE_NOTE, "13900001111"]


def _publish(client, cid, headers):
    response = client.post(f"/api/v1/campaigns/{cid}/status", json={"status": "published"}, headers=headers)
    assert response.status_code == 200, response.json


# completed yesterday (results of the future are not public; a fixed past date would age out of the delay test)
DONE = (datetime.now(timezone.utc) - timedelta(days=1)).replace(microsecond=0)
DONE_LOCAL = DONE.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _complete(app, cid, outcome="compliant", when=DONE, count=None, outcomes=(), before=None):
    """Complete ``count`` (default all) of the campaign's inspections with ``outcome`` (or the n-th with
    ``outcomes[n]``), after ``before(ids)`` records their findings (a completed record is frozen);
    returns their ids."""
    with app.app_context():
        inspections = db.session.scalars(sa.select(Inspection).where(
            Inspection.campaign_id == cid, Inspection.status == "planned").order_by(Inspection.id)).all()
        chosen = inspections[:count] if count is not None else inspections
        if before is not None:
            before([i.id for i in chosen])
            db.session.flush()
        for number, inspection in enumerate(chosen):
            inspection.status, inspection.completed_dt = "completed", when
            inspection.outcome = outcomes[number] if number < len(outcomes) and outcomes[number] else outcome
            inspection.started_dt, inspection.party_name = when, PARTY
        db.session.commit()
        return [i.id for i in chosen]


@pytest.fixture
def published(app, client, make_user, token_for):
    """A published campaign whose inspectors, entities and violations carry personal data."""
    add_entities(app, 20, legal_representative=LEGAL_REP)
    add_inspectors(make_user, full_name=INSPECTOR_NAME)
    with app.app_context():  # every inspector gets a credential number of the same (recognisable) form
        from inspect_app.auth.models import User
        for n, user in enumerate(db.session.scalars(sa.select(User).where(User.username.like("i.%")))):
            user.credential_number = f"{CREDENTIAL}{n}"
        db.session.commit()
    headers = planner_headers(make_user, token_for)
    cid = client.post("/api/v1/campaigns", json=campaign_body(), headers=headers).json["id"]
    assert client.post(f"/api/v1/campaigns/{cid}/draw", json={"seed": "联合检查 2026 第四季度 9c1e"},
                       headers=headers).status_code == 201
    _publish(client, cid, headers)

    def findings(ids):
        first, second, third = ids
        entity_id = db.session.get(Inspection, third).entity_id
        db.session.add_all([
            Violation(inspection_id=second, entity_id=db.session.get(Inspection, second).entity_id,
                      type_code="ja_unlicensed", acting_department="hrss",
                      description=f"现场发现{VICTIM}的身份证被扣押", status="open"),
            Violation(inspection_id=third, entity_id=entity_id, type_code="ev_prostitution",
                      acting_department="police", description=f"{VICTIM}被强迫从事色情服务", criminal=True,
                      restricted=True, status="open"),
        ])
        db.session.flush()
        violation = db.session.scalar(sa.select(Violation).where(Violation.restricted.is_(True)))
        db.session.add(Referral(kind="criminal", from_department="hrss", to_department="police", entity_id=entity_id,
                                inspection_id=third, violation_id=violation.id, urgent=True,
                                reason=f"涉嫌强迫卖淫，{VICTIM}", restricted_data=f"{VICTIM} 身份证 140602200801011234"))
    _complete(app, cid, count=3, outcomes=(None, "violations", "referred"), before=findings)
    return cid, headers


def _catalogue_titles(app, *codes):
    with app.app_context():
        catalogue = app.extensions["inspect_checklists"].violation_types
        return [catalogue[code].title_zh for code in codes]


def test_results_json_lists_published_results_with_violation_types(app, client, published):
    cid, _headers = published
    body = client.get("/api/v1/public/results").json  # anonymous
    assert body["total"] == 3 and body["page"] == 1
    items = {i["outcome"]: i for i in body["items"]}
    compliant = items["compliant"]
    assert set(compliant) == {"id", "campaign_id", "campaign", "entity_name", "credit_code", "kind", "kind_name",
                              "region_code", "county", "inspection_date", "outcome", "outcome_label", "violations"}
    with app.app_context():
        kind_name = app.extensions["inspect_reference"].kinds["job_agency"].name_zh
    assert compliant["campaign_id"] == cid and compliant["kind"] == "job_agency" and compliant["kind_name"] == kind_name
    assert compliant["inspection_date"] == DONE_LOCAL and compliant["outcome_label"] == "未发现问题"
    assert compliant["violations"] == []
    [title] = _catalogue_titles(app, "ja_unlicensed")
    assert items["violations"]["violations"] == [{"code": "ja_unlicensed", "title": title}]
    # the restricted (criminal) violation: only that it went to the police
    assert items["referred"]["violations"] == [{"code": "referred_to_police", "title": "已移送公安机关"}]


def test_nothing_personal_leaks(app, client, published):
    cid, headers = published
    with app.app_context():  # a cause-based inspection with a tip-off note, completed
        inspection = db.session.scalars(sa.select(Inspection).where(Inspection.campaign_id == cid)).first()
        cause = Inspection(entity_id=inspection.entity_id, campaign_id=cid, origin="cause", cause_note=CAUSE_NOTE,
                           region_code=inspection.region_code, lead_department="hrss", status="completed",
                           outcome="violations", completed_dt=DONE)
        db.session.add(cause)
        db.session.commit()
        cause_id = cause.id
    assert client.get("/api/v1/public/results").json["total"] == 3  # there is something to leak
    urls = PUBLIC_API + PUBLIC_PAGES + [f"/public/campaigns/{cid}", f"/api/v1/public/campaigns/{cid}",
                                        f"/api/v1/public/campaigns/{cid}/record", f"/public/results?campaign={cid}"]
    for url in urls:
        for language in ("zh-CN", "en"):
            response = client.get(url, headers={"Accept-Language": language})
            assert response.status_code == 200, url
            text = response.get_data(as_text=True)
            for secret in SECRETS:
                assert secret not in text, (url, secret)
    results = client.get("/api/v1/public/results").json["items"]
    assert cause_id not in {r["id"] for r in results}  # cause-based inspections are never published here
    record = client.get(f"/api/v1/public/campaigns/{cid}/record").json
    assert set(record) == {"algorithm", "record", "inputs_hash", "population_hash", "seed_commitment", "seed",
                           "result", "result_hash"}


def test_csv_has_the_same_rows_escaped(app, client, published):
    cid, _headers = published
    with app.app_context():
        inspection = db.session.scalars(sa.select(Inspection).where(Inspection.status == "completed")).first()
        db.session.get(Entity, inspection.entity_id).name = "=HYPERLINK(\"http://x\")中介"
        db.session.commit()
    response = client.get(f"/api/v1/public/results.csv?campaign={cid}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert len(rows) == 3 and rows[0].keys() >= {"entity_name", "credit_code", "outcome_label", "violations"}
    assert any(r["entity_name"].startswith("'=HYPERLINK") for r in rows)
    assert {r["outcome"] for r in rows} == {"compliant", "violations", "referred"}
    page = client.get("/public/results.csv?outcome=referred").get_data(as_text=True)
    assert "已移送公安机关" in page and page.count("\n") == 2
    assert client.get("/api/v1/public/results?outcome=nonsense").status_code == 422


def test_only_published_campaigns_and_filters(app, client, make_user, token_for):
    cid, headers = drawn_campaign(app, client, make_user, token_for)
    _complete(app, cid)
    assert client.get("/api/v1/public/results").json["total"] == 0  # drawn, not published
    assert client.get(f"/api/v1/public/campaigns/{cid}").status_code == 404
    assert client.get(f"/public/campaigns/{cid}").status_code == 404
    _publish(client, cid, headers)
    body = client.get("/api/v1/public/results").json
    assert body["total"] > 0
    region = body["items"][0]["region_code"]
    filtered = client.get(f"/api/v1/public/results?region={region}&per_page=1").json
    assert filtered["per_page"] == 1 and len(filtered["items"]) == 1
    assert all(i["region_code"] == region for i in client.get(f"/api/v1/public/results?region={region}").json["items"])
    name = body["items"][0]["entity_name"]
    assert client.get("/api/v1/public/results", query_string={"q": name}).json["items"][0]["entity_name"] == name
    assert client.get("/api/v1/public/results?q=%25").json["total"] == 0  # LIKE wildcards are literal
    campaigns = client.get("/api/v1/public/campaigns").json
    assert campaigns["total"] == 1 and campaigns["items"][0]["draw"]["seed"]


def test_policy_targets_representatives_restricted_and_delay(app, client, published):
    cid, headers = published
    base = app.extensions["inspect_publication"]
    page = client.get(f"/public/campaigns/{cid}").text
    assert "抽取的检查对象" in page
    assert len(client.get(f"/api/v1/public/campaigns/{cid}").json["targets"]) == 8

    app.extensions["inspect_publication"] = replace(base, drawn_targets="at_close")
    assert client.get(f"/api/v1/public/campaigns/{cid}").json["targets"] == []
    assert "抽取的检查对象名单在专项行动结束时公示" in client.get(f"/public/campaigns/{cid}").text
    app.extensions["inspect_publication"] = replace(base, drawn_targets="never")
    assert client.get(f"/api/v1/public/campaigns/{cid}").json["targets_public"] is False

    app.extensions["inspect_publication"] = replace(base, legal_representative=True)
    items = client.get("/api/v1/public/results").json["items"]
    assert all(i["legal_representative"] == LEGAL_REP for i in items)
    assert LEGAL_REP in client.get("/api/v1/public/results.csv").get_data(as_text=True)

    app.extensions["inspect_publication"] = replace(base, restricted_violations="omit")
    referred = client.get("/api/v1/public/results?outcome=referred").json["items"][0]
    assert referred["violations"] == []

    app.extensions["inspect_publication"] = replace(base, delay_workdays=20)
    assert client.get("/api/v1/public/results").json["total"] == 0  # completed yesterday: not yet
    app.extensions["inspect_publication"] = base


def test_results_cutoff_counts_working_days(app):
    with app.test_request_context():
        # 2026-12-02 (Wednesday) + 3 working days = 2026-12-07 (Monday)
        assert results_cutoff(date(2026, 12, 7), 3) == datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)
        assert results_cutoff(date(2026, 12, 6), 3) == datetime(2026, 12, 1, 16, 0, tzinfo=timezone.utc)
        assert results_cutoff(date(2026, 12, 6), 0) == datetime(2026, 12, 6, 16, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, field", [
    ("drawn_targets: sometimes\n", "drawn_targets"),
    ("results: {delay_workdays: 25, deadline_workdays: 20}\n", "results.delay_workdays"),
    ("results: {delay_workdays: -1}\n", "results.delay_workdays"),
    ("legal_representative: perhaps\n", "legal_representative"),
    ("restricted_violations: everything\n", "restricted_violations"),
    ("publish_inspectors: true\n", "publish_inspectors"),
])
def test_bad_policy_names_the_field(tmp_path, text, field):
    (tmp_path / "publication.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=f"field '{field}'"):
        load_policy(tmp_path)


def test_shipped_policy_is_the_documented_default():
    from pathlib import Path
    policy = load_policy(Path(__file__).resolve().parent.parent / "registries")
    assert (policy.drawn_targets, policy.delay_workdays, policy.deadline_workdays, policy.legal_representative,
            policy.restricted_violations) == ("at_publication", 0, 20, False, "referred")


def test_public_endpoints_are_rate_limited(make_app):
    limited = make_app(RATELIMIT_ENABLED=True, PUBLIC_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    for url in ("/api/v1/public/results", "/public/results"):
        statuses = [client.get(url).status_code for _ in range(3)]
        assert statuses == [200, 200, 429], url
    assert client.get("/api/v1/public/results").json["error"]["code"] == "rate_limited"


def test_the_published_record_has_a_tighter_limit(app, client, make_user, token_for, make_app):
    cid, headers = drawn_campaign(app, client, make_user, token_for)
    _publish(client, cid, headers)
    limited = make_app(RATELIMIT_ENABLED=True, PUBLIC_RATE_LIMIT="100 per minute", PUBLIC_RECORD_RATE_LIMIT="1/minute")
    other = limited.test_client()
    assert [other.get(f"/api/v1/public/campaigns/{cid}/record").status_code for _ in range(2)] == [200, 429]
    assert other.get(f"/api/v1/public/campaigns/{cid}").status_code == 200


def test_unpublished_deadline_warning(app, client, auth, make_user, token_for):
    cid, _headers = drawn_campaign(app, client, make_user, token_for)
    _complete(app, cid, count=1, when=datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc))
    make_user("planner.page", roles=("planner",), department="hrss", region="140600")
    auth.login("planner.page")
    page = client.get(f"/campaigns/{cid}").text
    # 20 working days after 2026-12-02
    assert "2026-12-30" in page and "公示" in page
    with app.app_context():
        assert db.session.get(Campaign, cid).status == "drawn"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(InspectionMember)) > 0
