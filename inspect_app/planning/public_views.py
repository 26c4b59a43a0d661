"""The public pages of 一公开 (no sign-in; rate-limited): published campaigns with their verifiable
draw, their drawn targets (as the policy says) and the results of their random inspections."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, current_app, render_template, request, stream_with_context

from ..auth.permissions import public
from ..extensions import db, limiter
from ..inspection.models import OUTCOMES
from ..registry.exports import BOM, escape_cell
from .publication import (OUTCOME_LABELS, RESULT_FIELDS, campaign_summary, init_policy, iter_results, policy,
                          public_campaign, public_campaigns_query, public_targets, results_page)

bp = Blueprint("publication", __name__, url_prefix="/public")
PER_PAGE = 50


@bp.record_once
def _load_policy(state) -> None:
    init_policy(state.app)  # checked at start-up: a bad publication.yaml stops the application


def public_limit() -> str:
    return current_app.config.get("PUBLIC_RATE_LIMIT", "120 per minute")


def result_filters(args) -> dict:
    """The results' filters from query arguments; unknown values are ignored (a public URL)."""
    ref = current_app.extensions["inspect_reference"]
    filters = {}
    campaign = args.get("campaign", type=int)
    if campaign:
        filters["campaign"] = campaign
    if args.get("region") in ref.regions:
        filters["region"] = args["region"]
    if args.get("kind") in ref.kinds:
        filters["kind"] = args["kind"]
    if args.get("outcome") in OUTCOMES:
        filters["outcome"] = args["outcome"]
    q = " ".join((args.get("q") or "").split())[:100]
    if q:
        filters["q"] = q
    return filters


@bp.route("/")
@public
@limiter.limit(public_limit)
def index():
    page = max(request.args.get("page", 1, type=int), 1)
    campaigns = db.paginate(public_campaigns_query(), page=page, per_page=PER_PAGE, error_out=False)
    return render_template("publication/index.html", campaigns=campaigns, policy=policy())


@bp.route("/campaigns/<int:campaign_id>")
@public
@limiter.limit(public_limit)
def campaign(campaign_id: int):
    found = public_campaign(campaign_id)
    if found is None:
        abort(404)
    results = results_page({"campaign": campaign_id}, 1, PER_PAGE)
    return render_template("publication/campaign.html", campaign=found, summary=campaign_summary(found),
                           targets=public_targets(found), results=results, policy=policy())


@bp.route("/results")
@public
@limiter.limit(public_limit)
def results():
    filters = result_filters(request.args)
    page = results_page(filters, max(request.args.get("page", 1, type=int), 1), PER_PAGE)
    ref = current_app.extensions["inspect_reference"]
    campaigns = db.session.scalars(public_campaigns_query()).all()
    return render_template("publication/results.html", page=page, args=request.args, filters=filters,
                           campaigns=campaigns, kinds=ref.kinds, counties=ref.counties, outcomes=OUTCOMES,
                           outcome_labels=OUTCOME_LABELS)


def csv_response(filters: dict) -> Response:
    """The results of ``filters`` as CSV (UTF-8 with BOM, for Excel), streamed; violation types joined by "；"."""
    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        fields = list(RESULT_FIELDS) + (["legal_representative"] if policy().legal_representative else [])
        writer.writerow(fields)
        yield BOM + buffer.getvalue()
        for item in iter_results(filters):
            buffer.seek(0)
            buffer.truncate()
            item = dict(item, violations="；".join(v["title"] for v in item["violations"]))
            writer.writerow([escape_cell("" if item.get(f) is None else str(item[f])) for f in fields])
            yield buffer.getvalue()
    return Response(stream_with_context(rows()), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=inspection-results.csv"})


@bp.route("/results.csv")
@public
@limiter.limit(public_limit)
def results_csv():
    return csv_response(result_filters(request.args))
