"""Idempotency-Key: a repeated tablet submission creates nothing twice."""
import threading

import pytest
import sqlalchemy as sa
from flask import jsonify, request

from inspect_app.auth.models import User
from inspect_app.auth.permissions import login_required
from inspect_app.auth.services import create_user
from inspect_app.extensions import csrf, db


@pytest.fixture
def writer(app):
    """A stand-in API write: creates an account from the body (the real ones come with later areas)."""
    @login_required
    def create_thing():
        body = request.get_json()
        user = create_user({"username": body["username"], "full_name": "x", "roles": ["viewer"],
                            "department_code": "hrss", "region_code": "140602",
                            "password": "long-enough-password"})
        return jsonify({"id": user.id, "username": user.username}), 201
    app.add_url_rule("/api/v1/test-things", "test_things", create_thing, methods=["POST"])
    csrf.exempt(create_thing)
    return "/api/v1/test-things"


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def test_repeat_returns_first_result_and_creates_nothing(app, client, make_user, token_for, writer):
    make_user("tablet")
    headers = dict(token_for("tablet"), **{"Idempotency-Key": "visit-42-violation-1"})
    first = client.post(writer, json={"username": "thing.one"}, headers=headers)
    second = client.post(writer, json={"username": "thing.one"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json == first.json and second.headers["Idempotent-Replayed"] == "true"
    assert _count(app) == 2


def test_same_key_different_body_is_refused(client, make_user, token_for, writer):
    make_user("tablet2")
    headers = dict(token_for("tablet2"), **{"Idempotency-Key": "k-1"})
    client.post(writer, json={"username": "thing.two"}, headers=headers)
    response = client.post(writer, json={"username": "thing.other"}, headers=headers)
    assert response.status_code == 422 and response.json["error"]["code"] == "idempotency_key_reused"


def test_failed_request_does_not_burn_the_key(app, client, make_user, token_for, writer):
    make_user("tablet3")
    make_user("taken.name")
    headers = dict(token_for("tablet3"), **{"Idempotency-Key": "retry-me"})
    failed = client.post(writer, json={"username": "taken.name"}, headers=headers)
    assert failed.status_code == 422
    assert client.post(writer, json={"username": "taken.name"}, headers=headers).status_code == 422
    ok = client.post(writer, json={"username": "taken.name"}, headers=dict(headers, **{"Idempotency-Key": "k2"}))
    assert ok.status_code == 422  # still a duplicate name: nothing was cached from the failures


def test_keys_are_per_user(app, client, make_user, token_for, writer):
    make_user("tablet4")
    make_user("tablet5")
    key = {"Idempotency-Key": "same"}
    a = client.post(writer, json={"username": "thing.a"}, headers=dict(token_for("tablet4"), **key))
    b = client.post(writer, json={"username": "thing.b"}, headers=dict(token_for("tablet5"), **key))
    assert a.status_code == b.status_code == 201 and a.json != b.json


def test_malformed_key(client, make_user, token_for, writer):
    make_user("tablet6")
    response = client.post(writer, json={"username": "thing.c"},
                           headers=dict(token_for("tablet6"), **{"Idempotency-Key": "x" * 101}))
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_idempotency_key"


def test_concurrent_twins_create_one(app, make_user, token_for, writer, backend):
    """Two copies of the same submission arriving at once (a tablet retrying on a flaky link)."""
    make_user("tablet7")
    headers = dict(token_for("tablet7"), **{"Idempotency-Key": "twin"})
    results, errors = [], []
    barrier = threading.Barrier(2)

    def send():
        try:
            barrier.wait()
            response = app.test_client().post(writer, json={"username": "thing.twin"}, headers=headers)
            results.append((response.status_code, response.json))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [r[0] for r in results] == [201, 201] and results[0][1] == results[1][1]
    assert _count(app) == 2
