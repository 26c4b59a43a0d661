"""The floor for bench_api_auth: a bare Flask app answering a small JSON like ``/api/v1/auth/me``.

No database, no extensions, no authentication; served the same way as the product
(``gunicorn -w 2 --chdir bench bare_app:app``) so that the ratio measures only what the
product adds to a request.
"""
from flask import Flask, jsonify

app = Flask(__name__)

ME = {
    "id": 1,
    "username": "benchuser",
    "full_name": "benchuser",
    "department": "hrss",
    "region_code": "140600",
    "roles": ["viewer"],
    "credential_number": None,
    "locale": None,
}


@app.get("/me")
def me():
    return jsonify(ME)


@app.get("/health")
def health():
    return jsonify({"status": "ok"})
