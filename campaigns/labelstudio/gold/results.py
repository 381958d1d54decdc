"""Reading gold-standard annotations back from Label Studio's JSON.

Label Studio does not validate results against the labeling config, so every code is
checked here: a code outside the nomenclature makes the annotation ``invalid`` (kept, with
its reason), never silently a model error.

Results are read by ``from_name`` and stored value (codes, the flags' aliases), never by the
label the expert saw: an annotation made on the French screen reads the same as one made on
the English screen. A flag stored as a label (a hand-written result) is still recognised in
every language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from campaigns.labelstudio.gold.config import (
    CANNOT_CODE,
    DIFFICULTY,
    FLAGS,
    REMARK,
    SUGGESTED,
    TAXONOMY,
    UNSURE,
)
from campaigns.labelstudio.remark_codes import flag_code_in_remark
from campaigns.labelstudio.texts import labels_of

ANNOTATION_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("task_id", pa.int64()),
        ("annotation_id", pa.int64()),
        ("annotator", pa.string()),
        ("status", pa.string()),
        ("code", pa.string()),
        ("suggested_code", pa.string()),
        ("taxonomy_code", pa.string()),
        ("invalid_reason", pa.string()),
        ("unsure", pa.bool_()),
        ("remark", pa.string()),
        ("difficulty", pa.int64()),
        ("lead_time", pa.float64()),
        ("created_at", pa.string()),
        ("updated_at", pa.string()),
    ]
)

_SUBCLASS = re.compile(r"^(\d{2})\.?(\d{2})([A-Za-z]?)$")


def canonical(code: str | None) -> str | None:
    """``6201z`` -> ``62.01Z``; anything else is returned stripped (then fails validation)."""
    if code is None:
        return None
    text = code.strip().split(" ")[0]
    match = _SUBCLASS.match(text)
    return f"{match[1]}.{match[2]}{match[3].upper()}" if match else text


def _values(result: list[dict[str, Any]], from_name: str, key: str) -> list[Any]:
    return [r.get("value", {}).get(key) for r in result if r.get("from_name") == from_name]


def _annotator(annotation: dict[str, Any]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id"))
    return str(who)


def has_choice(values: Iterable[Any], alias: str) -> bool:
    """Whether ``alias`` (a config's stored value) was chosen, stored as alias or as label."""
    accepted = {alias} | labels_of(alias)
    return any(str(value) in accepted for value in values)


def parse_annotation(annotation: dict[str, Any], is_valid: Callable[[str], bool]) -> dict[str, Any]:
    result = annotation.get("result") or []
    suggested = next(iter(_values(result, SUGGESTED, "choices")), None)
    suggested_code = canonical(suggested[0]) if suggested else None
    paths = next(iter(_values(result, TAXONOMY, "taxonomy")), None)
    taxonomy_code = canonical(paths[0][-1]) if paths and paths[0] else None
    flags = next(iter(_values(result, FLAGS, "choices")), None) or []
    remark = next(iter(_values(result, REMARK, "text")), None)
    rating = next(iter(_values(result, DIFFICULTY, "rating")), None)

    code, reason = taxonomy_code or suggested_code, None
    if annotation.get("was_cancelled"):
        status, code = "skipped", None
    elif has_choice(flags, CANNOT_CODE):
        status, code = "cannot_code", None
    elif code is None:
        status, reason = "invalid", "no code chosen"
    elif not is_valid(code):
        status, reason = "invalid", f"code {code} is not in the nomenclature"
    else:
        status = "coded"
    row = {
        "annotation_id": annotation.get("id"),
        "annotator": _annotator(annotation),
        "status": status,
        "code": code if status == "coded" else None,
        "suggested_code": suggested_code,
        "taxonomy_code": taxonomy_code,
        "invalid_reason": reason,
        "unsure": has_choice(flags, UNSURE),
        "remark": remark[0] if isinstance(remark, list) and remark else remark,
        "difficulty": int(rating) if rating is not None else None,
        "lead_time": annotation.get("lead_time"),
        "created_at": annotation.get("created_at"),
        "updated_at": annotation.get("updated_at"),
    }
    return flag_code_in_remark(row, is_valid)  # a code typed in the remark is not lost


def annotations_table(tasks: Iterable[dict[str, Any]], is_valid: Callable[[str], bool]) -> pa.Table:
    """One row per annotation of the exported tasks (Label Studio JSON export format)."""
    rows = []
    for task in tasks:
        data = task.get("data") or {}
        for annotation in task.get("annotations") or []:
            row = parse_annotation(annotation, is_valid)
            row["request_id"] = data.get("request_id")
            row["task_id"] = task.get("id")
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=ANNOTATION_SCHEMA)
