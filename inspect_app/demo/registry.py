"""Demo registry: about 300 realistic entities across the six counties, with licences (some
expiring, some expired), statuses, schools and kindergartens. Deterministic (fixed seed)."""
from __future__ import annotations

import random
from datetime import date, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..registry.codes import make_credit_code
from ..registry.models import Entity, Licence, SensitiveSite, StatusChange
from ..registry.services import refresh_risk

SEED = 20261129
WORDS = ["鑫源", "恒达", "众诚", "金桥", "华兴", "博远", "富民", "晋北", "应州", "玉龙", "桑干", "雁门", "朔方",
         "宏图", "盛世", "同心", "安泰", "顺通", "佳和", "新程", "旭日", "长城", "瑞丰", "锦程", "诚信", "天宇",
         "美好", "百合", "鸿运", "乐天", "星光", "欢乐", "金色", "皇冠", "海韵", "麦霸", "音悦", "红磨坊"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马胡朱郭何罗高林郑梁谢唐许冯宋韩邓彭曹曾田萧潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏傅方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万钱严覃武戴莫孔向常"  # noqa: E501
GIVEN = "建国伟强军磊洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰芳敏静丽红梅飞鹏辉斌宇浩凯健俊帆帅旭宁婷雪琳晶瑶"
STREETS = {
    "140602": ["开发南路", "民福东街", "张辽北路", "鄯阳街", "文远路", "北旭路", "神头镇", "南榆林乡"],
    "140603": ["井坪镇新华街", "井坪镇府前路", "凤凰城镇", "白堂乡", "陶村乡"],
    "140621": ["岱岳镇新建街", "岱岳镇育才路", "玉井镇", "古城镇", "北周庄镇"],
    "140622": ["金城镇木塔路", "金城镇应州街", "南河种镇", "臧寨乡", "下社镇"],
    "140623": ["新城镇长城路", "新城镇玉林街", "右卫镇", "威远镇", "杀虎口"],
    "140681": ["云中镇仁和路", "云中镇怀玉路", "吴家窑镇", "金沙滩镇", "亲和乡", "海北头乡"],
}
COUNTIES = list(STREETS)
KIND_PLAN = [("job_agency", 120), ("marriage_agency", 60), ("entertainment_venue", 120)]


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _name(rng: random.Random, kind: str, county_name: str) -> tuple[str, str | None]:
    word = rng.choice(WORDS)
    city = "朔州市" if rng.random() < 0.5 else county_name
    if kind == "job_agency":
        subtype = rng.choice(["placement", "placement", "online", "dispatch"])
        tail = {"placement": rng.choice(["人力资源服务有限公司", "职业介绍所", "职业中介服务部"]),
                "online": "网络科技有限公司", "dispatch": "劳务派遣有限公司"}[subtype]
        return f"{city}{word}{tail}", subtype
    if kind == "marriage_agency":
        return f"{city}{word}{rng.choice(['婚姻介绍所', '婚恋服务有限公司', '红娘婚介中心'])}", None
    subtype = rng.choice(["song_dance", "song_dance", "amusement"])
    tail = rng.choice(["量贩式KTV", "歌舞厅", "娱乐会所"]) if subtype == "song_dance" else rng.choice(["电玩城", "游艺厅"])
    return f"{county_name}{word}{tail}", subtype


def _location(rng: random.Random, region) -> tuple[float, float]:
    return (round(region.seat_lat + rng.uniform(-0.03, 0.03), 6),
            round(region.seat_lon + rng.uniform(-0.04, 0.04), 6))


def _attributes(rng: random.Random, kind: str) -> dict:
    if kind == "job_agency":
        return {"staff_count": rng.randint(2, 40), "service_items": "职业介绍、招聘信息发布"}
    if kind == "marriage_agency":
        return {"staff_count": rng.randint(1, 12), "service_items": "婚恋咨询、婚姻介绍",
                "foreign_related": False}
    return {"capacity": rng.choice([60, 80, 120, 200, 300]), "room_count": rng.randint(4, 30),
            "floor_level": rng.choice([1, 1, 2, 3, -1]), "in_residential_building": False,
            "business_hours": "12:00-02:00"}


def seed_demo_registry(reference, today: date | None = None) -> int:
    """Create the demo registry unless entities exist already; returns the number created."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Entity)):
        return 0
    today = today or date.today()
    rng = random.Random(SEED)
    serial = 1000
    created = 0
    for kind_code, count in KIND_PLAN:
        kind = reference.kinds[kind_code]
        for i in range(count):
            region = reference.regions[COUNTIES[i % len(COUNTIES)]]
            name, subtype = _name(rng, kind_code, region.name_zh)
            serial += rng.randint(1, 97)
            lat, lon = _location(rng, region)
            roll = rng.random()
            status = ("unlicensed" if roll < 0.04 else "pending" if roll < 0.10 else "suspended" if roll < 0.15
                      else "revoked" if roll < 0.17 else "closed" if roll < 0.20 else "active")
            entity = Entity(kind=kind_code, subtype=subtype, name=name,
                            credit_code=None if status == "unlicensed" else make_credit_code(region.code, serial),
                            legal_representative=_person(rng),
                            address=f"{region.name_zh}{rng.choice(STREETS[region.code])}{rng.randint(1, 300)}号",
                            region_code=region.code, lat=lat, lon=lon, crs="wgs84", location_source="demo",
                            location_precision_m=50, status=status, attributes=_attributes(rng, kind_code),
                            phone=f"0349-{rng.randint(2000000, 8999999)}")
            db.session.add(entity)
            entity.status_changes.append(StatusChange(from_status=None, to_status="pending" if status != "unlicensed"
                                                      else "unlicensed", reason="演示数据：登记"))
            if status not in ("pending", "unlicensed"):
                entity.status_changes.append(StatusChange(from_status="pending", to_status="active",
                                                          reason="演示数据：准予许可"))
                if status != "active":
                    entity.status_changes.append(StatusChange(from_status="active", to_status=status,
                                                              reason="演示数据：状态变更",
                                                              legal_basis="娱乐场所管理条例 第53条"
                                                              if kind_code == "entertainment_venue" else None))
                _licences(rng, entity, kind, today)
            created += 1
    db.session.flush()
    for entity in db.session.scalars(sa.select(Entity)):
        refresh_risk(entity, today)
    _sites(rng, reference)
    db.session.flush()
    return created


def _licences(rng: random.Random, entity: Entity, kind, today: date) -> None:
    for spec in kind.licences:
        if spec["type"] != "business_licence" and rng.random() < 0.05:
            continue  # a few are missing a required licence
        issued = today - timedelta(days=rng.randint(200, 3000))
        if spec["type"] == "business_licence" or spec["type"] == "police_filing":
            expires = None
        else:
            roll = rng.random()
            expires = (today + timedelta(days=rng.randint(1, 29)) if roll < 0.08 else
                       today + timedelta(days=rng.randint(30, 90)) if roll < 0.18 else
                       today - timedelta(days=rng.randint(1, 200)) if roll < 0.25 else
                       today + timedelta(days=rng.randint(91, 1500)))
        prefix = {"business_licence": "BL", "hr_service_licence": "HR", "entertainment_licence": "YL",
                  "police_filing": "GA"}.get(spec["type"], "LC")
        number = f"{prefix}{entity.region_code}{rng.randint(10**7, 10**8 - 1)}"
        entity.licences.append(Licence(type=spec["type"], department=spec["department"], issued_on=issued,
                                       expires_on=expires, number=number))


SITE_NAMES = [("school", "第{n}小学"), ("school", "第{n}中学"), ("kindergarten", "{w}幼儿园"),
              ("kindergarten", "实验幼儿园{n}部"), ("hospital", "{w}医院")]


def _sites(rng: random.Random, reference) -> None:
    for region in reference.counties:
        for n in range(1, 7):
            site_kind, pattern = SITE_NAMES[(n - 1) % len(SITE_NAMES)]
            lat, lon = _location(rng, region)
            name = region.name_zh + pattern.format(n=n, w=rng.choice(WORDS))
            db.session.add(SensitiveSite(site_kind=site_kind, name=name, region_code=region.code, lat=lat, lon=lon,
                                         address=f"{region.name_zh}{rng.choice(STREETS[region.code])}"))
