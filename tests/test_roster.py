"""The staff-roster rules: ages from identity-card numbers around the 14th, 16th and 18th birthdays,
29 February births, invalid numbers, counts, and numbers that never leave the server in clear."""
from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa
from stdnum.cn import ric

from inspect_app import create_app
from inspect_app.checklist.roster import (UndecryptableIdNumber, age_on, age_reached_on, decrypt_id_number,
                                          encrypt_id_number, evaluate_roster, reveal_id_number)
from tests.conftest import base_config

# no database needed: the rules are pure; the module app only carries the catalogue and the keys
_app = create_app(base_config("sqlite://"))
VENUE, AGENCY, MARRIAGE = "entertainment_venue", "job_agency", "marriage_agency"


def id_number(born: date, serial: str = "123", region: str = "140602") -> str:
    """A valid 18-character number for someone born on ``born`` (check digit by python-stdnum)."""
    body = f"{region}{born:%Y%m%d}{serial}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last character


@pytest.fixture
def ctx():
    with _app.app_context():
        yield


def evaluate(born: date, on: date, kind: str = VENUE, counts_from: str | None = None, **entry):
    entries = [{"name": "张三", "id_number": id_number(born), **entry}]
    item = None
    if counts_from:
        from inspect_app.checklist.services import current_catalogue
        item = current_catalogue().roster_item(kind)
        item = replace(item, roster={**item.roster, "counts_from": counts_from})
    return evaluate_roster(entries, on, kind, item=item)


def violations(result) -> list[str]:
    return result.people[0].violations


BORN = date(2010, 6, 15)  # 16th birthday 2026-06-15, 18th birthday 2028-06-15


@pytest.mark.parametrize("on, counts_from, age, expected", [
    # the day before, the day of and the day after the 16th birthday
    (date(2026, 6, 14), "day_after_birthday", 15, ["child_labour_employment"]),
    (date(2026, 6, 15), "day_after_birthday", 15, ["child_labour_employment"]),
    (date(2026, 6, 16), "day_after_birthday", 16, ["ev_minors_employed"]),
    (date(2026, 6, 14), "birthday", 15, ["child_labour_employment"]),
    (date(2026, 6, 15), "birthday", 16, ["ev_minors_employed"]),
    # and around the 18th
    (date(2028, 6, 14), "day_after_birthday", 17, ["ev_minors_employed"]),
    (date(2028, 6, 15), "day_after_birthday", 17, ["ev_minors_employed"]),
    (date(2028, 6, 16), "day_after_birthday", 18, []),
    (date(2028, 6, 14), "birthday", 17, ["ev_minors_employed"]),
    (date(2028, 6, 15), "birthday", 18, []),
])
def test_venue_staff_around_the_16th_and_18th_birthdays(ctx, on, counts_from, age, expected):
    result = evaluate(BORN, on, counts_from=counts_from)
    assert result.people[0].age == age
    assert violations(result) == expected
    assert result.counts_from == counts_from
    assert ("birthday_today" in result.people[0].flags) == (on.day == 15)


def test_default_counting_is_the_day_after_the_birthday(ctx):
    """parameters.yaml: age_counts_from = day_after_birthday (SPC 2006 interpretation Art 2; [U] for labour)."""
    result = evaluate(BORN, date(2026, 6, 15))
    assert result.counts_from == "day_after_birthday"
    assert result.people[0].age == 15 and violations(result) == ["child_labour_employment"]


@pytest.mark.parametrize("on, counts_from, age", [
    (date(2024, 2, 28), "birthday", 15),
    (date(2024, 2, 29), "birthday", 16),          # a leap year: the birthday exists
    (date(2024, 2, 29), "day_after_birthday", 15),
    (date(2024, 3, 1), "day_after_birthday", 16),
    (date(2026, 2, 27), "birthday", 17),
    (date(2026, 2, 28), "birthday", 18),          # a common year: the 18th birthday is 28 February
    (date(2026, 2, 28), "day_after_birthday", 17),
    (date(2026, 3, 1), "day_after_birthday", 18),
])
def test_29_february_births(ctx, on, counts_from, age):
    result = evaluate(date(2008, 2, 29), on, counts_from=counts_from)
    assert result.people[0].age == age
    assert bool(violations(result)) == (age < 18)


def test_age_helpers():
    assert age_reached_on(date(2008, 2, 29), 18, "birthday") == date(2026, 2, 28)
    assert age_reached_on(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert age_on(date(2010, 6, 15), date(2010, 6, 15)) == 0
    assert age_on(date(2010, 6, 15), date(2011, 6, 16)) == 1
    with pytest.raises(ValueError):
        age_reached_on(BORN, 16, "tomorrow")


def test_under_14_is_child_labour_and_a_criminal_referral(ctx):
    """Art 11: a child under 14 goes to the police; the administrative rule applying is child labour (one act,
    one fine: not also 'minors employed')."""
    result = evaluate(date(2013, 1, 10), date(2026, 11, 30))
    assert result.people[0].age == 13
    assert violations(result) == ["child_labour_employment", "child_labour_criminal"]
    assert set(result.people[0].flags) >= {"under_14", "under_16", "under_18"}
    assert [v.code for v in result.violations] == ["child_labour_employment", "child_labour_criminal"]


def test_criminal_threshold_around_the_14th_birthday(ctx):
    born = date(2012, 11, 30)
    assert violations(evaluate(born, date(2026, 11, 29))) == ["child_labour_employment", "child_labour_criminal"]
    assert violations(evaluate(born, date(2026, 12, 1))) == ["child_labour_employment"]


def test_job_agency_placing_under_16(ctx):
    assert violations(evaluate(BORN, date(2026, 6, 14), kind=AGENCY)) == ["ja_underage_placement"]
    assert violations(evaluate(BORN, date(2026, 6, 16), kind=AGENCY)) == []  # 16 and 17 may be placed


def test_kind_without_a_roster_item_reports_ages_only(ctx):
    result = evaluate(BORN, date(2026, 6, 14), kind=MARRIAGE)
    assert result.people[0].age == 15 and result.violations == [] and result.item is None


def test_counts_per_person_and_per_person_month(ctx):
    on = date(2026, 11, 30)
    entries = [
        {"name": "甲", "id_number": id_number(date(2011, 3, 1), "101"), "hired_on": "2026-09-15"},  # 15: 3 months
        {"name": "乙", "id_number": id_number(date(2010, 1, 2), "102"), "hired_on": date(2026, 11, 1)},  # 16: 1
        {"name": "丙", "id_number": id_number(date(2009, 12, 1), "103"), "hired_on": "2026-10-30"},  # 16: 2
        {"name": "丁", "id_number": id_number(date(1990, 5, 5), "104")},  # adult
    ]
    result = evaluate_roster(entries, on, VENUE)
    by_code = {v.code: v for v in result.violations}
    assert by_code["child_labour_employment"].persons == 1
    assert by_code["child_labour_employment"].person_months == 3
    assert by_code["ev_minors_employed"].persons == 2
    assert by_code["ev_minors_employed"].person_indices == [2, 3]
    assert by_code["ev_minors_employed"].person_months == 1 + 2
    assert result.fails and result.people[3].violations == []
    # without a hiring date the monthly total is unknown, the head count is not
    entries[0].pop("hired_on")
    again = {v.code: v for v in evaluate_roster(entries, on, VENUE).violations}
    assert again["child_labour_employment"].persons == 1 and again["child_labour_employment"].person_months is None


def test_invalid_missing_and_duplicate_numbers_are_flagged(ctx):
    good = id_number(date(2011, 3, 1))
    bad_checksum = good[:-1] + ("0" if good[-1] != "0" else "1")
    future = id_number(date(2027, 1, 1))
    result = evaluate_roster([
        {"name": "甲", "id_number": bad_checksum},
        {"name": "乙", "id_number": ""},
        {"name": "丙", "id_number": good},
        {"name": "丁", "id_number": " ".join(good)},  # spaces and the same person again
        {"name": "戊", "id_number": "14060219900101123"},  # 17 characters
        {"name": "己", "id_number": future},
    ], date(2026, 11, 30), VENUE)
    flags = [p.flags for p in result.people]
    assert "invalid_id" in flags[0] and flags[1] == ["missing_id"]
    assert "duplicate" in flags[3] and "invalid_id" in flags[4] and "invalid_id" in flags[5]
    assert result.invalid_count == 4
    assert [v.persons for v in result.violations] == [1]  # the duplicate is not counted twice
    assert result.people[0].id_masked is None and result.people[0].error


def test_full_width_digits_are_accepted(ctx):
    number = id_number(date(2011, 3, 1))
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number)
    result = evaluate_roster([{"name": "甲", "id_number": full_width}], date(2026, 11, 30), VENUE)
    assert result.people[0].id_masked == number[:6] + "********" + number[-4:]


def test_numbers_are_masked_and_stored_encrypted(ctx):
    number = id_number(date(2011, 3, 1), "375")
    result = evaluate_roster([{"name": "甲", "id_number": number}], date(2026, 11, 30), VENUE)
    person = result.people[0]
    assert person.id_masked == number[:6] + "********" + number[-4:]
    stored = json.dumps(result.to_stored(), ensure_ascii=False).encode("utf-8")
    public = json.dumps(person.to_public(), ensure_ascii=False)
    assert number.encode() not in stored and number[6:14].encode() not in stored.replace(b"-", b"")
    assert number not in public and "id_encrypted" not in public and "id_hmac" not in public
    assert decrypt_id_number(person.id_encrypted) == number
    assert encrypt_id_number(number) != person.id_encrypted  # a fresh nonce every time


def test_tokens_refuse_tampering_and_other_keys(ctx):
    token = encrypt_id_number(id_number(date(2011, 3, 1)))
    prefix, key_id, payload = token.split(":")
    blob = bytearray(base64.urlsafe_b64decode(payload))
    blob[-1] ^= 0x01  # one bit of the authentication tag (editing a base64 character may change no bit at all)
    flipped = base64.urlsafe_b64encode(bytes(blob)).decode("ascii")
    with pytest.raises(UndecryptableIdNumber):
        decrypt_id_number(f"{prefix}:{key_id}:{flipped}")
    with pytest.raises(UndecryptableIdNumber):
        decrypt_id_number("not a token")
    other = create_app(base_config("sqlite://", ID_ENCRYPTION_KEY="another-key-of-at-least-thirty-two-chars"))
    with other.app_context(), pytest.raises(UndecryptableIdNumber, match="another key|not the configured key"):
        decrypt_id_number(token)


def test_only_police_liaisons_read_full_numbers_and_each_reading_is_audited(app, make_user):
    from inspect_app.audit.models import AuditEvent
    from inspect_app.auth.models import User
    from inspect_app.extensions import db
    number = id_number(date(2011, 3, 1))
    police = make_user("police.liaison", roles=("police_liaison",), department="police")
    inspector = make_user("inspector.one", roles=("inspector",), department="hrss")
    with app.test_request_context():
        token = evaluate_roster([{"name": "甲", "id_number": number}], date(2026, 11, 30), VENUE) \
            .people[0].id_encrypted
        with pytest.raises(PermissionError):
            reveal_id_number(db.session.get(User, inspector), token, "curiosity")
        with pytest.raises(ValueError):
            reveal_id_number(db.session.get(User, police), token, " ")
        assert reveal_id_number(db.session.get(User, police), token, "移送公安：朔城区某KTV使用童工") == number
        db.session.commit()
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reveal")).one()
        assert event.after["masked"] == number[:6] + "********" + number[-4:]
        assert number not in json.dumps(event.after, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Reading a full number from a recorded roster: API and the record page

ROSTER_ITEM = "entertainment_venue.hrss.staff_roster"


def _completed_venue_with_roster(app, make_user, people: list[dict]) -> dict:
    """A venue inspected by an hrss and a culture inspector, its roster answered with ``people`` (adults and
    invalid numbers: no violation), every other item passed, completed."""
    from datetime import datetime, timezone

    from inspect_app.auth.models import User
    from inspect_app.extensions import db
    from inspect_app.inspection import services as svc
    from inspect_app.inspection.models import Inspection
    from tests.inspection_helpers import (PIN, SITE, make_entity, make_inspection, make_team, passing_answer,
                                          set_pins, signature_png)
    team = make_team(make_user)
    set_pins(app, [team["hrss"], team["culture"]])
    inspection_id = make_inspection(app, make_entity(app, kind=VENUE), [team["hrss"], team["culture"]])
    with app.test_request_context():
        inspection = db.session.get(Inspection, inspection_id)
        hrss, culture = db.session.get(User, team["hrss"]), db.session.get(User, team["culture"])
        svc.start_inspection(inspection, hrss, party_name="王建国", party_role="店长")
        svc.attest(inspection, hrss, hrss, method="session")
        svc.attest(inspection, hrss, culture, method="pin", secret=PIN)
        svc.check_in(inspection, hrss, lat=SITE[0], lon=SITE[1], accuracy_m=8.0, at=datetime.now(timezone.utc))
        for _checklist, items in svc.pinned_items(inspection):
            for item in items:
                body = {"value": people} if item.code == ROSTER_ITEM else passing_answer(item)
                svc.save_answer(inspection, hrss, item.code, result=body.get("result"), value=body.get("value"),
                                note=body.get("note"))
        for officer in (hrss, culture):
            svc.sign(inspection, hrss, role="officer", signer_name="", officer=officer, png=signature_png())
        svc.sign(inspection, hrss, role="party", signer_name="王建国", png=signature_png())
        svc.complete(inspection, hrss)
        db.session.commit()
    return {"team": team, "inspection_id": inspection_id}


@pytest.fixture
def roster_record(app, make_user):
    number = id_number(date(1990, 5, 17), serial="246")
    done = _completed_venue_with_roster(app, make_user, [
        {"name": "王小明", "id_number": number, "post": "服务员", "hired_on": "2026-01-05"},
        {"name": "李四", "id_number": "140602199013"}])  # invalid: flagged, nothing to read
    make_user("other.police", roles=("police_liaison",), department="police", region="140681")
    return {**done, "number": number, "masked": number[:6] + "********" + number[-4:]}


def _reveal_url(done: dict, index: int = 1, item: str = ROSTER_ITEM) -> str:
    return f"/api/v1/inspections/{done['inspection_id']}/answers/{item}/people/{index}/reveal"


def test_police_liaison_reads_one_full_number_with_a_reason_and_the_reading_is_audited(
        app, client, token_for, roster_record):
    from inspect_app.audit.models import AuditEvent
    from inspect_app.extensions import db
    done = roster_record
    police = token_for("t.police")
    # everyone else is refused, whatever the reason: the team's own inspectors, a supervisor, another county
    for username in ("t.hrss", "t.culture", "t.supervisor", "t.planner", "other.police"):
        r = client.post(_reveal_url(done), headers=token_for(username), json={"reason": "核对身份"})
        assert r.status_code == 403, username
        assert done["number"] not in r.get_data(as_text=True)
    # a reason is required: a field error, in the user's language
    missing = client.post(_reveal_url(done), headers=police, json={})
    assert missing.status_code == 422 and set(missing.json["error"]["fields"]) == {"reason"}
    assert "说明" in missing.json["error"]["fields"]["reason"][0]
    blank = client.post(_reveal_url(done), headers={**police, "Accept-Language": "en"}, json={"reason": "   "})
    assert blank.status_code == 422 and "Say why" in blank.json["error"]["fields"]["reason"][0]
    # a person whose number was invalid has none to read; a line or item that is not there is 404
    invalid = client.post(_reveal_url(done, index=2), headers=police, json={"reason": "移送公安"})
    assert invalid.status_code == 422 and set(invalid.json["error"]["fields"]) == {"index"}
    assert client.post(_reveal_url(done, index=9), headers=police, json={"reason": "移送公安"}).status_code == 404
    assert client.post(_reveal_url(done, item="entertainment_venue.culture.licence"), headers=police,
                       json={"reason": "移送公安"}).status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "reveal")) == 0  # nothing read so far
    # the police liaison of the county, with a reason (and a tablet's Idempotency-Key, never honoured here)
    r = client.post(_reveal_url(done), headers={**police, "Idempotency-Key": "reveal-1"},
                    json={"reason": "移送公安：核实从业人员身份"})
    assert r.status_code == 200, r.json
    assert r.json == {"inspection_id": done["inspection_id"], "item_code": ROSTER_ITEM, "index": 1,
                      "name": "王小明", "id_masked": done["masked"], "id_number": done["number"]}
    assert r.headers["Cache-Control"] == "no-store"
    again = client.post(_reveal_url(done), headers={**police, "Idempotency-Key": "reveal-1"},
                        json={"reason": "移送公安：核实从业人员身份"})
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers  # read again, not replayed
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reveal")
                                    .order_by(AuditEvent.id)).all()
        assert len(events) == 2
        assert events[0].actor == "t.police" and events[0].after["reason"] == "移送公安：核实从业人员身份"
        assert (events[0].after["inspection_id"], events[0].after["item_code"], events[0].after["index"]) == \
            (done["inspection_id"], ROSTER_ITEM, 1)
        assert events[0].after["masked"] == done["masked"]
        # the number is kept nowhere in clear: not in the audit log, not as a stored response to replay
        dumped = "".join(json.dumps([e.before, e.after], ensure_ascii=False)
                         for e in db.session.scalars(sa.select(AuditEvent)))
        assert done["number"] not in dumped
        from inspect_app.api.models import IdempotencyKey
        assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 0


def test_the_full_number_appears_in_no_other_response(app, client, token_for, auth, roster_record):
    done = roster_record
    inspection = done["inspection_id"]
    police = token_for("t.police")
    assert client.post(_reveal_url(done), headers=police, json={"reason": "移送公安"}).status_code == 200
    for username in ("t.police", "t.hrss", "t.supervisor"):
        headers = token_for(username)
        for url in (f"/api/v1/inspections/{inspection}", f"/api/v1/inspections/{inspection}/record",
                    f"/api/v1/violations?inspection_id={inspection}"):
            r = client.get(url, headers=headers)
            assert r.status_code in (200, 403), url
            assert done["number"] not in r.get_data(as_text=True), (username, url)
    detail = client.get(f"/api/v1/inspections/{inspection}", headers=police).json
    roster = next(a for a in detail["answers"] if a["item_code"] == ROSTER_ITEM)["value"]["people"]
    assert roster[0]["id_masked"] == done["masked"] and "id_encrypted" not in roster[0]
    auth.login("t.police")
    page = client.get(f"/inspections/{inspection}/record").get_data(as_text=True)
    assert done["masked"] in page and done["number"] not in page


def test_record_page_reveal_form_for_police_liaisons_only(app, client, auth, roster_record):
    from tests.conftest import csrf_from
    done = roster_record
    url = f"/inspections/{done['inspection_id']}/record"
    action = f"/inspections/{done['inspection_id']}/roster/{ROSTER_ITEM}/reveal"
    auth.login("t.hrss")  # the team sees the roster masked, and no way to read it in full
    page = client.get(url)
    assert done["masked"] in page.get_data(as_text=True) and action not in page.get_data(as_text=True)
    assert client.post(action, data={"csrf_token": csrf_from(page.data), "index": "1",
                                     "reason": "好奇"}).status_code == 403
    auth.logout()
    auth.login("t.police")
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert action in html and done["number"] not in html
    token = csrf_from(page.data)
    refused = client.post(action, data={"csrf_token": token, "index": "1", "reason": " "})
    assert refused.status_code == 422
    assert "说明需要完整号码的原因" in refused.get_data(as_text=True)
    assert done["number"] not in refused.get_data(as_text=True)
    shown = client.post(action, data={"csrf_token": token, "index": "1", "reason": "移送公安：核实身份"})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert f'data-id-revealed>{done["number"]}<' in shown.get_data(as_text=True)
    # on that response only
    assert done["number"] not in client.get(url).get_data(as_text=True)
