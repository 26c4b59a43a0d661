"""The double-random draw: deterministic, verifiable, fair to its constraints."""
import hashlib
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_app.planning.draw import SeedMismatch, commitment_of, run_draw, sha256_hex

SEED = "2026-12-01 朔州联席办 摇号 7f3a"
DEPARTMENTS = ["culture", "hrss", "samr"]
OFFICES = {"140602": [39.33, 112.43], "140681": [39.83, 113.09]}
WORKDAYS = ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07"]


def make_record(n_entities=200, per_dept=(3, 2), sample_size=None, sample_rate=0.1, tiers=(), exclusions=(),
                unavailable=(), cap=4, team_size=3, rng_seed=1):
    rng = random.Random(rng_seed)
    population = []
    for i in range(1, n_entities + 1):
        region = "140602" if i % 3 else "140681"
        lat, lon = OFFICES[region]
        population.append([i, region, "job_agency", rng.choice([0, 0, 0, 20, 50, 80]),
                           round(lat + rng.uniform(-0.05, 0.05), 6), round(lon + rng.uniform(-0.05, 0.05), 6)])
    inspectors, uid = [], 1000
    for department in DEPARTMENTS:
        for region, count in zip(OFFICES, per_dept):
            for _ in range(count):
                uid += 1
                inspectors.append([uid, department, region])
    return {"algorithm": "inspect-draw-v1",
            "campaign": {"id": 1, "lead_department": "hrss", "departments": DEPARTMENTS, "kinds": ["job_agency"],
                         "region_codes": list(OFFICES), "start_date": WORKDAYS[0], "end_date": WORKDAYS[-1],
                         "sample_rate": None if sample_size else sample_rate, "sample_size": sample_size,
                         "risk_tiers": list(tiers), "team_size": team_size, "max_per_team_day": cap},
            "workdays": WORKDAYS, "offices": OFFICES, "population": population,
            "population_hash": sha256_hex(population), "inspectors": inspectors,
            "unavailable": [list(u) for u in unavailable], "exclusions": [list(e) for e in exclusions],
            "seed_commitment": commitment_of(SEED)}


def _visits(result):
    return [(e, day) for day in result["team_days"] for e in day["entity_ids"]]


def test_commitment_is_sha256_of_the_seed():
    assert commitment_of("abc") == hashlib.sha256(b"abc").hexdigest()


def test_same_inputs_same_draw():
    record = make_record()
    first, second = run_draw(record, SEED), run_draw(make_record(), SEED)
    assert first == second and sha256_hex(first) == sha256_hex(second)
    assert len(first["targets"]) == 20  # ceil(10% of 200)


def test_wrong_seed_is_refused():
    with pytest.raises(SeedMismatch):
        run_draw(make_record(), SEED + " ")


def test_another_seed_draws_differently():
    record = make_record()
    other = dict(record, seed_commitment=commitment_of("another seed"))
    assert run_draw(record, SEED)["targets"] != run_draw(other, "another seed")["targets"]


def test_population_change_changes_its_hash():
    record = make_record()
    changed = [row[:] for row in record["population"]]
    changed[5][3] = changed[5][3] + 1
    assert sha256_hex(changed) != record["population_hash"]


def _share_of_risky(tiers):
    high = {row[0] for row in make_record()["population"] if row[3] >= 50}
    counts = Counter()
    for k in range(40):
        record = make_record(sample_size=20, tiers=tiers)
        seed = f"seed-{k}"
        record["seed_commitment"] = commitment_of(seed)
        result = run_draw(record, seed)
        assert len(result["targets"]) == 20
        counts.update("high" if e in high else "low" for e in result["targets"])
    return counts["high"] / sum(counts.values()), len(high) / 200


def test_sample_size_and_risk_tiers_raise_the_odds():
    plain, population_share = _share_of_risky([])
    assert abs(plain - population_share) < 0.1  # without tiers: about their share of the population
    tiered, _ = _share_of_risky([{"min_risk": 50, "rate": 0.9}])
    assert tiered > 0.8 > plain + 0.2  # rate 0.9 against a base of 20/200 = 0.1


def test_tier_rates_per_group():
    record = make_record(sample_rate=0.05, tiers=[{"min_risk": 80, "rate": 1.0}])
    result = run_draw(record, SEED)
    riskiest = {row[0] for row in record["population"] if row[3] >= 80}
    assert riskiest <= set(result["targets"])  # a 100% tier takes every one of them


def test_teams_cover_every_department_and_respect_caps():
    record = make_record()
    result = run_draw(record, SEED)
    departments = {row[0]: row[1] for row in record["inspectors"]}
    for day in result["team_days"]:
        assert len(day["entity_ids"]) <= 4
        assert {departments[m["user_id"]] for m in day["team"]} == set(DEPARTMENTS)
        assert len(day["team"]) >= 3
    per_day = Counter((m["user_id"], d["date"]) for d in result["team_days"] for m in d["team"])
    assert max(per_day.values()) == 1  # nobody is in two teams on one day


def test_shortfalls_are_listed_not_silent():
    record = make_record(per_dept=(0, 0))
    result = run_draw(record, SEED)
    assert result["team_days"] == []
    assert {s["entity_id"] for s in result["shortfalls"]} == set(result["targets"])
    assert all("inspector available" in s["reason"] for s in result["shortfalls"])


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=40),
       st.integers(min_value=1, max_value=6))
def test_recusal_and_coverage_hold(rng_seed, n_exclusions, cap):
    rng = random.Random(rng_seed)
    base = make_record(n_entities=60, sample_rate=0.3, cap=cap, rng_seed=rng_seed)
    users = [row[0] for row in base["inspectors"]]
    exclusions = {(rng.choice(users), rng.randint(1, 60)) for _ in range(n_exclusions)}
    leave = {(rng.choice(users), rng.choice(WORKDAYS)) for _ in range(rng.randint(0, 8))}
    record = make_record(n_entities=60, sample_rate=0.3, cap=cap, rng_seed=rng_seed, exclusions=sorted(exclusions),
                         unavailable=sorted(leave))
    result = run_draw(record, SEED)
    departments = {row[0]: row[1] for row in record["inspectors"]}
    visited = set()
    for day in result["team_days"]:
        members = {m["user_id"] for m in day["team"]}
        assert len(day["entity_ids"]) <= cap
        assert {departments[u] for u in members} == set(DEPARTMENTS)
        assert not any((u, day["date"]) in leave for u in members)
        for entity_id in day["entity_ids"]:
            assert not any((u, entity_id) in exclusions for u in members)
            visited.add(entity_id)
    left_out = {s["entity_id"] for s in result["shortfalls"]}
    assert visited | left_out == set(result["targets"]) and not visited & left_out


@pytest.mark.parametrize("seed", ["", "abc", SEED, "长" * 30, "x" * 64, "y" * 65, "种子" * 100])
def test_fast_uniforms_are_the_documented_hmac(seed):
    from inspect_app.planning.draw import Uniforms, _uniform
    key = seed.encode("utf-8")
    fast = Uniforms(key)
    for label in ("target:1", "target:123456", "officer:140602-2026-12-01-1:42", "目标:7"):
        assert fast(label) == _uniform(key, label)


def test_spliced_canonical_json_is_the_canonical_json():
    from inspect_app.planning.draw import canonical, canonical_spliced
    record = make_record(n_entities=50)
    record["campaign"]["name_with_quotes"] = 'a "population":0 b'  # the key's text inside a string
    part = canonical(record["population"])
    assert canonical_spliced(record, "population", part) == canonical(record)
