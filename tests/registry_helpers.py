"""Builders for registry tests."""
from inspect_app.registry.codes import make_credit_code

_serial = {"n": 5000}


def new_code(region: str = "140602") -> str:
    _serial["n"] += 7
    return make_credit_code(region, _serial["n"])


def venue(**overrides) -> dict:
    data = {"kind": "entertainment_venue", "subtype": "song_dance", "name": "朔城区金色年华量贩式KTV",
            "credit_code": new_code(), "legal_representative": "王建国", "address": "朔城区开发南路88号",
            "region_code": "140602",
            "attributes": {"capacity": 120, "floor_level": 2, "in_residential_building": False}}
    data.update(overrides)
    return data


def agency(**overrides) -> dict:
    data = {"kind": "job_agency", "subtype": "placement", "name": "朔州市众诚人力资源服务有限公司",
            "credit_code": new_code(), "legal_representative": "李娟", "address": "朔城区民福东街12号",
            "region_code": "140602", "attributes": {"staff_count": 6}}
    data.update(overrides)
    return data
