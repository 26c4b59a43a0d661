"""The catalogue's penalty ranges applied to a case: which fine of each violation's penalty article holds
under the facts, and what it comes to with the case's figures (persons, months, illegal income,
advertising fee). Plain data, shown to the officer beside the amount they propose.

Each violation is a separate act and its fine is computed separately, then summed (分别裁量、合并处罚);
one act that breaches several provisions is fined once, under the heaviest (行政处罚法 Art 29) — the
officer adjusts the amount, with the reason, when two recorded violations are one act.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..checklist.catalogue import CONDITIONS, FINE_UNITS, MEASURES

INPUTS = {
    "persons": _l("Persons concerned"),
    "months": _l("Months"),
    "illegal_income": _l("Illegal income (yuan)"),
    "advertising_fee": _l("Advertising fee (yuan)"),
}
# What each unit multiplies the range by
UNIT_INPUTS = {
    "yuan": (),
    "yuan_per_person": ("persons",),
    "yuan_per_person_month": ("persons", "months"),
    "multiple_of_illegal_income": ("illegal_income",),
    "multiple_of_advertising_fee": ("advertising_fee",),
}
# Measures that give the right to a hearing whatever the amount (行政处罚法 Art 63)
HEARING_MEASURES = frozenset({"suspend_business", "revoke_licence", "revoke_business_licence", "close", "ban"})


@dataclass
class Facts:
    """What the conditions of a fine are judged on."""

    refused_to_rectify: bool = False
    serious: bool = False


def _number(value) -> float | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _conditions(fine: dict) -> list[str]:
    when = fine.get("when") or "always"
    return [when] if isinstance(when, str) else list(when)


def _holds(condition: str, fine: dict, fines: list[dict], inputs: dict, facts: Facts) -> bool:
    income = _number(inputs.get("illegal_income")) or 0
    fee = _number(inputs.get("advertising_fee"))
    below = [f["income_below"] for f in fines if f.get("income_below")]
    if condition == "always":
        return True
    if condition == "has_illegal_income":  # a sibling "income below X" fine takes small incomes
        return income > 0 and not any(income < limit for limit in below)
    if condition == "no_illegal_income":
        limit = fine.get("income_below")
        return income == 0 or (limit is not None and income < limit)
    if condition in ("refused_to_rectify", "not_returned_by_deadline"):
        return facts.refused_to_rectify
    if condition == "serious":
        return facts.serious
    if condition == "refused_or_serious":
        return facts.refused_to_rectify or facts.serious
    if condition == "fee_known":
        return bool(fee)
    if condition == "fee_unknown":
        return not fee
    return False


def applicable_fine(penalty: dict | None, inputs: dict, facts: Facts) -> dict | None:
    """The fine that holds: of those whose conditions all hold, the most specific (most conditions)."""
    fines = list((penalty or {}).get("fines") or [])
    holding = [f for f in fines if all(_holds(c, f, fines, inputs, facts) for c in _conditions(f))]
    if not holding:
        return None
    return max(holding, key=lambda f: (len([c for c in _conditions(f) if c != "always"]), f["max"]))


def applicable_measures(penalty: dict | None, inputs: dict, facts: Facts) -> list[dict]:
    out = []
    for measure in (penalty or {}).get("measures") or []:
        if all(_holds(c, measure, [], inputs, facts) for c in _conditions(measure)):
            out.append(measure)
    return out


def relevant_inputs(penalty: dict | None) -> list[str]:
    """The figures a penalty article's fines depend on (by unit and by condition)."""
    keys = set()
    for fine in (penalty or {}).get("fines") or []:
        keys.update(UNIT_INPUTS.get(fine["unit"], ()))
        conditions = set(_conditions(fine))
        if conditions & {"has_illegal_income", "no_illegal_income"}:
            keys.add("illegal_income")
        if conditions & {"fee_known", "fee_unknown"}:
            keys.add("advertising_fee")
    return [k for k in INPUTS if k in keys]


def violation_range(violation, vtype, inputs: dict, facts: Facts) -> dict:
    """One violation's computed range, with the inputs it used and the inputs it misses."""
    entry = {"violation_id": violation.id, "type_code": violation.type_code,
             "title": vtype.title(_locale()) if vtype else violation.type_code,
             "article": (vtype.penalty or {}).get("article") if vtype else None,
             "text": ((vtype.penalty or {}).get("text_en" if _locale().startswith("en") else "text_zh")
                      if vtype and vtype.penalty else None),
             "inputs": {k: inputs.get(k) for k in INPUTS if inputs.get(k) not in (None, "")},
             "fine": None, "min": 0, "max": 0, "missing": [], "payer": "entity", "note": None,
             "measures": [], "relevant_inputs": []}
    if vtype is None:
        entry["note"] = str(_l("Not in the violation catalogue: no range can be computed."))
        entry["relevant_inputs"] = []
        return entry
    entry["relevant_inputs"] = relevant_inputs(vtype.penalty)
    entry["measures"] = [{"type": m["type"], "label": str(MEASURES.get(m["type"], m["type"])),
                          "months_min": m.get("months_min"), "months_max": m.get("months_max")}
                         for m in applicable_measures(vtype.penalty, inputs, facts)]
    fine = applicable_fine(vtype.penalty, inputs, facts)
    if fine is None:
        conditions = sorted({c for f in (vtype.penalty or {}).get("fines") or [] for c in _conditions(f)})
        entry["note"] = (str(_l("No fine applies under these facts; a fine applies: %(when)s.",
                                when="; ".join(str(CONDITIONS.get(c, c)) for c in conditions)))
                         if conditions else str(_l("The penalty article provides no fine.")))
        return entry
    entry["fine"] = {"min": fine["min"], "max": fine["max"], "unit": fine["unit"],
                     "unit_label": str(FINE_UNITS.get(fine["unit"], fine["unit"])),
                     "when": [str(CONDITIONS.get(c, c)) for c in _conditions(fine)]}
    entry["payer"] = fine.get("payer", "entity")
    factor = 1.0
    for key in UNIT_INPUTS.get(fine["unit"], ()):
        value = _number(inputs.get(key))
        if not value:
            entry["missing"].append(key)
        else:
            factor *= value
    if entry["missing"]:
        entry["min"] = entry["max"] = None
        return entry
    entry["min"], entry["max"] = int(round(fine["min"] * factor)), int(round(fine["max"] * factor))
    if entry["payer"] != "entity":
        entry["note"] = str(_l("This fine is imposed on the managers responsible, not on the business."))
    return entry


def case_range(case, overrides: dict | None = None, *, serious: bool = False,
               refused: bool | None = None) -> dict:
    """Every violation's range and the case's total for the business (the managers' fines apart).

    ``overrides`` maps a violation id (int or str) to inputs that replace its recorded quantities.
    """
    from ..inspection.services import violation_type_for
    if refused is None:
        refused = case.status == "not_rectified" or any(e.to_status == "not_rectified" for e in case.events)
    facts = Facts(refused_to_rectify=refused, serious=serious)
    items, missing = [], []
    # the same violation found again at the re-inspection is the same act going on: fined once, on the
    # latest findings (its figures may have grown)
    latest: dict[str, object] = {}
    for violation in case.violations:
        if violation.status != "withdrawn":
            latest[violation.type_code] = violation
    for violation in sorted(latest.values(), key=lambda v: v.id):
        inputs = dict(violation.quantities or {})
        extra = (overrides or {}).get(violation.id) or (overrides or {}).get(str(violation.id)) or {}
        inputs.update({k: v for k, v in extra.items() if k in INPUTS and v not in (None, "")})
        entry = violation_range(violation, violation_type_for(violation), inputs, facts)
        items.append(entry)
        missing += [{"violation_id": violation.id, "input": key} for key in entry["missing"]]
    for_entity = [i for i in items if i["payer"] == "entity"]
    total_min = None if missing else sum(i["min"] for i in for_entity)
    total_max = None if missing else sum(i["max"] for i in for_entity)
    measures = {m["type"]: m for i in items for m in i["measures"]}
    return {"items": items, "min": total_min, "max": total_max, "missing": missing,
            "measures": list(measures.values()), "refused_to_rectify": refused, "serious": serious}


def _locale() -> str:
    from flask_babel import get_locale
    return str(get_locale() or "zh_CN")
