"""A campaign's lifecycle after the draw: published -> in progress -> closed, by API and page."""
from datetime import datetime, timezone

import sqlalchemy as sa

from inspect_app.audit.models import AuditEvent
from inspect_app.extensions import db
from inspect_app.inspection.models import Inspection
from inspect_app.planning.models import Campaign
from tests.conftest import csrf_from
from tests.planning_helpers import drawn_campaign, set_inspections


def _status(client, cid, headers, status):
    return client.post(f"/api/v1/campaigns/{cid}/status", json={"status": status}, headers=headers)


def test_publish_begin_close(app, client, make_user, token_for):
    cid, headers = drawn_campaign(app, client, make_user, token_for)
    campaign = client.get(f"/api/v1/campaigns/{cid}", headers=headers).json
    assert campaign["status"] == "drawn" and campaign["next_statuses"] == ["published"]

    refused = _status(client, cid, headers, "closed")
    assert refused.status_code == 409
    error = refused.json["error"]
    assert error["code"] == "illegal_transition"
    assert error["message"] == "不能将专项行动从已抽取改为已结束。允许：已公示。"
    assert _status(client, cid, headers, "in_progress").status_code == 409

    published = _status(client, cid, headers, "published")
    assert published.status_code == 200, published.json
    assert published.json["status"] == "published" and published.json["published_at"]
    assert published.json["next_statuses"] == ["in_progress", "closed"]

    # unfinished inspections keep it open
    unfinished = _status(client, cid, headers, "closed")
    assert unfinished.status_code == 409 and unfinished.json["error"]["code"] == "campaign_state"
    assert "既未完成也未取消" in unfinished.json["error"]["message"]

    # the first inspection starts: the campaign is in progress when next read
    with app.app_context():
        first = db.session.scalars(sa.select(Inspection).where(Inspection.campaign_id == cid)
                                   .order_by(Inspection.id)).first()
        first.status, first.started_dt = "in_progress", datetime(2026, 12, 1, 1, 30, tzinfo=timezone.utc)
        db.session.commit()
    campaign = client.get(f"/api/v1/campaigns/{cid}", headers=headers).json
    assert campaign["status"] == "in_progress" and campaign["started_at"].startswith("2026-12-01T01:30")
    assert campaign["next_statuses"] == ["closed"]

    set_inspections(app, cid, status="completed", outcome="compliant",
                    completed_dt=datetime(2026, 12, 2, tzinfo=timezone.utc))
    closed = _status(client, cid, headers, "closed")
    assert closed.status_code == 200 and closed.json["status"] == "closed" and closed.json["closed_at"]
    again = _status(client, cid, headers, "published")
    assert again.status_code == 409 and "允许：无" in again.json["error"]["message"]

    with app.app_context():
        actions = [e.action for e in db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.object_type == "campaigns").order_by(AuditEvent.seq))]
    assert actions.count("campaign.status_refused") == 3  # the refusals are kept despite the 409
    assert ["campaign.published", "campaign.in_progress", "campaign.closed"] == \
        [a for a in actions if a in ("campaign.published", "campaign.in_progress", "campaign.closed")]


def test_message_in_english_names_the_allowed_steps(app, client, make_user, token_for):
    cid, headers = drawn_campaign(app, client, make_user, token_for)
    refused = client.post(f"/api/v1/campaigns/{cid}/status", json={"status": "closed"},
                          headers=dict(headers, **{"Accept-Language": "en"}))
    assert refused.json["error"]["message"] == \
        "Cannot move the campaign from Drawn to Closed. Allowed: Published."


def test_bad_status_and_roles(app, client, make_user, token_for):
    cid, headers = drawn_campaign(app, client, make_user, token_for)
    assert _status(client, cid, headers, "finished").status_code == 422
    assert _status(client, cid, headers, "drawn").status_code == 409  # drawn -> drawn is no step
    make_user("viewer.city", roles=("inspector",), department="hrss", region="140600")
    assert _status(client, cid, token_for("viewer.city"), "published").status_code == 403
    assert client.post("/api/v1/campaigns/999/status", json={"status": "published"}, headers=headers).status_code == 404


def test_list_with_status_filter(app, client, make_user, token_for):
    cid, headers = drawn_campaign(app, client, make_user, token_for)
    listed = client.get("/api/v1/campaigns", headers=headers).json
    assert listed["total"] == 1 and listed["items"][0]["id"] == cid
    assert client.get("/api/v1/campaigns?status=published", headers=headers).json["total"] == 0
    _status(client, cid, headers, "published")
    assert client.get("/api/v1/campaigns?status=published", headers=headers).json["items"][0]["id"] == cid
    assert client.get("/api/v1/campaigns?status=nonsense", headers=headers).status_code == 422


def test_pages_publish_and_refuse(app, client, auth, make_user, token_for):
    cid, _headers = drawn_campaign(app, client, make_user, token_for)
    make_user("planner.page", roles=("planner",), department="hrss", region="140600")
    auth.login("planner.page")
    page = client.get(f"/campaigns/{cid}")
    assert "公示（一公开）" in page.text and "结束专项行动" not in page.text
    done = client.post(f"/campaigns/{cid}", data={"csrf_token": csrf_from(page.text), "action": "status",
                                                  "status-status": "published"}, follow_redirects=True)
    assert "专项行动状态：已公示" in done.text and "公开页面" in done.text
    with app.app_context():
        assert db.session.get(Campaign, cid).status == "published"
    refused = client.post(f"/campaigns/{cid}", data={"csrf_token": csrf_from(done.text), "action": "status",
                                                     "status-status": "published"}, follow_redirects=True)
    assert "不能将专项行动从已公示改为已公示" in refused.text
    closing = client.post(f"/campaigns/{cid}", data={"csrf_token": csrf_from(done.text), "action": "status",
                                                     "status-status": "closed"}, follow_redirects=True)
    assert "项检查既未完成也未取消" in closing.text
