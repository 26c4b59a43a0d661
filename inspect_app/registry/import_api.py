"""POST /api/v1/entities/import: the registry's all-or-nothing import over HTTP (design.md 4.2)."""
from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_babel import ngettext
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from ..auth.permissions import permission_required
from ..errors import ApiError
from .imports import ImportFileError, import_entities, read_upload

blp = Blueprint("api_registry_io", __name__, url_prefix="/api/v1/entities",
                description="Import of entities from CSV or XLSX")


class ImportFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "XLSX, or CSV in UTF-8 (with or without BOM) or "
                                                          "GBK/GB18030; the template's Chinese headers or the "
                                                          "entity field names as headers"})


class ImportErrorSchema(Schema):
    row = fields.Integer(metadata={"description": "spreadsheet row number (the header is row 1)"})
    field = fields.String(metadata={"description": "entity field name, e.g. credit_code, attributes.capacity, "
                                                   "licences.business_licence.number"})
    column = fields.String(metadata={"description": "the column's header as written in the file"})
    message = fields.String()


class ImportResultSchema(Schema):
    created = fields.Integer()
    errors = fields.List(fields.Nested(ImportErrorSchema))
    error_count = fields.Integer(metadata={"description": "all errors, also those beyond the listed ones"})
    rows = fields.Integer(metadata={"description": "data rows read"})


@blp.route("/import")
class EntityImport(MethodView):
    @permission_required("entities.import")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(201, ImportResultSchema)
    @blp.alt_response(422, schema=ImportResultSchema,
                      description="Errors found: nothing was created; every error by row and field")
    @blp.alt_response(413, description="The file or its row count is over the limit")
    @blp.alt_response(415, description="Not an XLSX workbook or a CSV in UTF-8 or GBK/GB18030")
    def post(self, files):
        """Import entities, all or nothing: any error creates nothing and returns every error by row and
        field; otherwise every row is registered (pending, or unlicensed when its status column says so)."""
        upload = files["file"]
        try:
            result = import_entities(read_upload(upload.stream), current_user, filename=upload.filename or "")
        except ImportFileError as exc:
            raise ApiError(exc.status, exc.message, code=exc.code) from None
        if result.error_count:
            body = result.to_dict()
            body["error"] = {"code": "validation_error", "fields": {},
                             "message": ngettext("Nothing was imported: %(num)d error in the file.",
                                                 "Nothing was imported: %(num)d errors in the file.",
                                                 result.error_count)}
            response = jsonify(body)
            response.status_code = 422
            return response
        return result.to_dict()
