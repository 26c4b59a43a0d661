"""Finding entities: search, filters, sort, region scope. Shared by the list page, the API and export."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from .codes import normalise_credit_code
from .models import Entity, Licence

SORTS = {
    "name": (Entity.name,), "-name": (Entity.name.desc(),),
    "risk": (Entity.risk_score, Entity.id), "-risk": (Entity.risk_score.desc(), Entity.id),
    "updated": (Entity.updated_dt, Entity.id), "-updated": (Entity.updated_dt.desc(), Entity.id.desc()),
    "id": (Entity.id,), "-id": (Entity.id.desc(),),
}
DEFAULT_SORT = "-updated"


def scope_to_user(stmt, user, city_code: str):
    """Limit to the user's county unless they work city-wide."""
    if user.region_code != city_code:
        stmt = stmt.where(Entity.region_code == user.region_code)
    return stmt


def list_filters(args) -> dict:
    """The registry list's filters from request arguments (the list page and its exports)."""
    filters = {key: args.get(key) for key in ("q", "kind", "region", "status", "sort", "licence_expiring",
                                              "min_risk")}
    if filters["licence_expiring"] not in (None, "", "30", "60", "90"):
        filters["licence_expiring"] = None
    if filters["min_risk"] and not filters["min_risk"].isdigit():
        filters["min_risk"] = None
    filters["licence_expired"] = args.get("licence_expired") == "1"
    return filters


def entity_query(filters: dict, today: date | None = None):
    """A SELECT of entities for filters: q, kind, region, status, min_risk, licence_expiring (days),
    licence_expired, sort."""
    today = today or date.today()
    stmt = sa.select(Entity)
    q = (filters.get("q") or "").strip()
    if q:
        like = f"%{q}%"
        # Without cased letters (Chinese, digits) a plain LIKE finds the same rows without lower() on every
        # row (SQLite renders ILIKE as lower(x) LIKE lower(y)).
        cased = q.lower() != q.upper()
        conditions = [column.ilike(like) if cased else column.like(like)
                      for column in (Entity.name, Entity.legal_representative, Entity.address)]
        code = normalise_credit_code(q)
        if code and len(code) >= 4 and code.isascii() and code.isalnum():  # looks like the start of a code
            conditions.append(Entity.credit_code.like(f"{code}%"))
        stmt = stmt.where(sa.or_(*conditions))
    for key, column in (("kind", Entity.kind), ("region", Entity.region_code), ("status", Entity.status)):
        value = filters.get(key)
        if value:
            stmt = stmt.where(column.in_(value) if isinstance(value, (list, tuple)) else column == value)
    if filters.get("min_risk") not in (None, ""):
        stmt = stmt.where(Entity.risk_score >= int(filters["min_risk"]))
    if filters.get("licence_expiring") not in (None, ""):
        horizon = today + timedelta(days=int(filters["licence_expiring"]))
        stmt = stmt.where(Entity.id.in_(sa.select(Licence.entity_id).where(
            Licence.status == "valid", Licence.expires_on >= today, Licence.expires_on <= horizon)))
    if filters.get("licence_expired"):
        stmt = stmt.where(Entity.id.in_(sa.select(Licence.entity_id).where(
            Licence.status == "valid", Licence.expires_on < today)))
    return stmt.order_by(*SORTS.get(filters.get("sort") or DEFAULT_SORT, SORTS[DEFAULT_SORT]))


def expiring_licences_query(days: int, today: date | None = None, region: str | None = None):
    today = today or date.today()
    stmt = (sa.select(Licence).join(Licence.entity)
            .where(Licence.status == "valid", Licence.expires_on >= today,
                   Licence.expires_on <= today + timedelta(days=days))
            .order_by(Licence.expires_on, Licence.id))
    if region:
        stmt = stmt.where(Entity.region_code == region)
    return stmt
