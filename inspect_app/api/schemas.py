"""Schemas shared by every API area: errors, pagination."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

MAX_PER_PAGE = 200


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A list-response schema: items, total, page, per_page."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema), required=True),
        "total": fields.Integer(required=True),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
    }, name=name)


def page_of(items: list, total: int | None = None, page: int = 1, per_page: int | None = None) -> dict:
    """A list-response body for an in-memory list (reference data) or a page of a query."""
    if total is None:
        total = len(items)
    return {"items": items, "total": total, "page": page, "per_page": per_page or max(len(items), 1)}


def page_slice(items: list, args: dict) -> dict:
    """One page of an in-memory list (reference data, the checklist catalogue) by the query's page and per_page."""
    page, per_page = args["page"], args["per_page"]
    return {"items": items[(page - 1) * per_page: page * per_page], "total": len(items), "page": page,
            "per_page": per_page}


def paginate(session, select_stmt, args: dict, *, rows: bool = False) -> dict:
    """Run a SELECT for one page and count the whole; returns the list body with ORM items (with
    ``rows``, the statement's result rows: a SELECT of columns, read without building objects)."""
    import sqlalchemy as sa
    page, per_page = args["page"], args["per_page"]
    offset = (page - 1) * per_page
    result = session.execute(select_stmt.limit(per_page).offset(offset))
    items = result.all() if rows else result.scalars().all()
    if 0 < len(items) < per_page or (page == 1 and not items):
        total = offset + len(items)  # a short page is the last one: no COUNT needed
    else:
        total = session.scalar(sa.select(sa.func.count()).select_from(select_stmt.order_by(None).subquery()))
    return {"items": items, "total": total, "page": page, "per_page": per_page}
