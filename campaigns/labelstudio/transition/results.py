"""Reading transition annotations: the chosen new code, or why there is none.

Read by stored values (codes, ``NONE``, the scope aliases), never by displayed labels, so
the language of the screen does not matter. A new code typed in the remark when nothing was
picked ("aucun de ces codes", "plutôt 6120Y") is proposed for a person to confirm
(``code_in_remark``, see ``campaigns.labelstudio.remark_codes``), never lost as "no code".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from campaigns.labelstudio.regions import (
    annotation_rows,
    annotator_of,
    canonical,
    first_choice,
    has_choice,
    taxonomy_code,
    text_of,
)
from campaigns.labelstudio.remark_codes import code_in_remark
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
        ("invalid_reason", pa.string()),
        ("lead_time", pa.float64()),
        ("updated_at", pa.string()),
    ]
)


def candidate_values(data: dict[str, Any]) -> set[str]:
    """The candidate codes a task offered (its dynamic choices, "none of these" left out)."""
    candidates = data.get("candidates")
    values = {str(c["value"]) for c in candidates or [] if isinstance(c, dict) and "value" in c}
    return values - {NONE_OF_THESE}


def picked_code(result: Any) -> str | None:
    """The new code an expert picked: one found in the whole nomenclature wins (the more
    specific act) over a candidate; "none of these" is no code."""
    fallback = taxonomy_code(result, FALLBACK)
    picked = first_choice(result, CANDIDATE)
    if fallback:
        return fallback
    return canonical(str(picked)) if picked and picked != NONE_OF_THESE else None


def parse_transition_annotation(
    annotation: dict[str, Any], data: dict[str, Any], is_new_code: Callable[[str], bool]
) -> dict[str, Any]:
    result = annotation.get("result")
    candidates = candidate_values(data)
    picked = first_choice(result, CANDIDATE)
    scope = first_choice(result, SCOPE)
    code = picked_code(result)
    remark = text_of(result, REMARK)
    reason: str | None = None
    if annotation.get("was_cancelled"):
        status, code = "skipped", None
    elif code is None:
        status = "none_of_these" if picked == NONE_OF_THESE else "invalid"
        reason = None if status == "none_of_these" else "no code chosen"
    elif not is_new_code(code):
        status, code, reason = "invalid", None, f"code {code} is not in the nomenclature"
    else:
        status = "coded"
    if status in ("invalid", "none_of_these"):  # a picked code is an explicit choice
        flagged = code_in_remark(remark, None, is_new_code)
        if flagged is not None:
            status, reason = flagged
    return {
        "annotation_id": annotation.get("id"),
        "annotator": annotator_of(annotation),
        "old_code": data.get("old_code"),
        "status": status,
        "new_code": code,
        "in_candidates": code in candidates if code else None,
        "out_of_scope": has_choice([scope], OUT_OF_SCOPE) if scope else None,
        "remark": remark,
        "invalid_reason": reason,
        "lead_time": annotation.get("lead_time"),
        "updated_at": annotation.get("updated_at"),
    }


def transition_annotations(
    tasks: Iterable[dict[str, Any]], is_new_code: Callable[[str], bool]
) -> pa.Table:
    return annotation_rows(
        tasks,
        lambda annotation, data: parse_transition_annotation(annotation, data, is_new_code),
        TRANSITION_SCHEMA,
    )
