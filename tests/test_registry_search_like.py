"""Registry search: plain LIKE for queries without cased letters, ILIKE otherwise; the same rows."""
import sqlalchemy as sa

from inspect_app.extensions import db
from inspect_app.registry.queries import entity_query
from tests.planning_helpers import add_entities


def test_search_finds_the_same_rows_with_and_without_cased_letters(app, make_user, token_for, client):
    add_entities(app, 3, name="朔州市鸿运人力资源有限公司")
    add_entities(app, 1, name="Sunrise KTV 朔城店")
    make_user("reg.city", roles=("registrar",), department="samr", region="140600")
    headers = token_for("reg.city")
    for q, total in (("鸿运", 3), ("sunrise ktv", 1), ("SUNRISE", 1), ("ktv 朔城", 1), ("无此名称", 0)):
        assert client.get("/api/v1/entities", query_string={"q": q}, headers=headers).json["total"] == total, q
    with app.app_context():
        chinese = str(entity_query({"q": "鸿运"}).compile(db.engine))
        latin = str(entity_query({"q": "Sunrise"}).compile(db.engine))
    assert "lower(" not in chinese.lower() and "ilike" not in chinese.lower()
    assert "lower(" in latin.lower() or "ilike" in latin.lower()


def test_default_order_has_an_index(app):
    with app.app_context():
        indexes = sa.inspect(db.engine).get_indexes("entities")
    assert ["updated_dt", "id"] in [index["column_names"] for index in indexes]
