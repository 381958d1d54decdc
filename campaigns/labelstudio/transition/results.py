"""Reading transition annotations: the chosen new code, or why there is none.

Read by stored values (codes, ``NONE``, the scope aliases), never by displayed labels, so
the language of the screen does not matter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from campaigns.labelstudio.gold.results import canonical, has_choice
from campaigns.labelstudio.transition.config import (
    CANDIDATE,
    FALLBACK,
    NONE_OF_THESE,
    OUT_OF_SCOPE,
    REMARK,
    SCOPE,
)

TRANSITION_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("task_id", pa.int64()),
        ("annotation_id", pa.int64()),
        ("annotator", pa.string()),
        ("old_code", pa.string()),
        ("status", pa.string()),
        ("new_code", pa.string()),
        ("in_candidates", pa.bool_()),
        ("out_of_scope", pa.bool_()),
        ("remark", pa.string()),
        ("lead_time", pa.float64()),
        ("updated_at", pa.string()),
    ]
)


def _first(result: list[dict[str, Any]], name: str, key: str) -> Any:
    for region in result:
        if region.get("from_name") == name:
            return region.get("value", {}).get(key)
    return None


def parse_transition_annotation(
    annotation: dict[str, Any], data: dict[str, Any], is_new_code: Callable[[str], bool]
) -> dict[str, Any]:
    result = annotation.get("result") or []
    candidates = {c["value"] for c in data.get("candidates", [])} - {NONE_OF_THESE}
    picked = (_first(result, CANDIDATE, "choices") or [None])[0]
    path = (_first(result, FALLBACK, "taxonomy") or [[]])[0]
    fallback = canonical(path[-1]) if path else None
    scope = (_first(result, SCOPE, "choices") or [None])[0]
    remark = _first(result, REMARK, "text")
    code = fallback or (canonical(picked) if picked and picked != NONE_OF_THESE else None)
    if annotation.get("was_cancelled"):
        status, code = "skipped", None
    elif code is None:
        status = "none_of_these" if picked == NONE_OF_THESE else "invalid"
    elif not is_new_code(code):
        status, code = "invalid", None
    else:
        status = "coded"
    return {
        "annotation_id": annotation.get("id"),
        "annotator": str(annotation.get("completed_by")),
        "old_code": data.get("old_code"),
        "status": status,
        "new_code": code,
        "in_candidates": code in candidates if code else None,
        "out_of_scope": has_choice([scope], OUT_OF_SCOPE) if scope else None,
        "remark": remark[0] if isinstance(remark, list) and remark else remark,
        "lead_time": annotation.get("lead_time"),
        "updated_at": annotation.get("updated_at"),
    }


def transition_annotations(
    tasks: Iterable[dict[str, Any]], is_new_code: Callable[[str], bool]
) -> pa.Table:
    rows = []
    for task in tasks:
        data = task.get("data") or {}
        for annotation in task.get("annotations") or []:
            row = parse_transition_annotation(annotation, data, is_new_code)
            row["request_id"] = data.get("request_id")
            row["task_id"] = task.get("id")
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=TRANSITION_SCHEMA)
