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
from campaigns.labelstudio.regions import (
    annotation_rows,
    annotator_of,
    canonical,
    choices_of,
    first_choice,
    has_choice,
    rating_of,
    taxonomy_code,
    text_of,
)
from campaigns.labelstudio.remark_codes import flag_code_in_remark

__all__ = ["ANNOTATION_SCHEMA", "annotations_table", "canonical", "has_choice", "parse_annotation"]

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


def parse_annotation(annotation: dict[str, Any], is_valid: Callable[[str], bool]) -> dict[str, Any]:
    result = annotation.get("result")
    suggested = first_choice(result, SUGGESTED)
    suggested_code = canonical(str(suggested)) if suggested is not None else None
    taxonomy = taxonomy_code(result, TAXONOMY)
    flags = choices_of(result, FLAGS)

    code, reason = taxonomy or suggested_code, None
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
        "annotator": annotator_of(annotation),
        "status": status,
        "code": code if status == "coded" else None,
        "suggested_code": suggested_code,
        "taxonomy_code": taxonomy,
        "invalid_reason": reason,
        "unsure": has_choice(flags, UNSURE),
        "remark": text_of(result, REMARK),
        "difficulty": rating_of(result, DIFFICULTY),
        "lead_time": annotation.get("lead_time"),
        "created_at": annotation.get("created_at"),
        "updated_at": annotation.get("updated_at"),
    }
    return flag_code_in_remark(row, is_valid)  # a code typed in the remark is not lost


def annotations_table(tasks: Iterable[dict[str, Any]], is_valid: Callable[[str], bool]) -> pa.Table:
    """One row per annotation of the exported tasks (Label Studio JSON export format)."""
    return annotation_rows(
        tasks, lambda annotation, _data: parse_annotation(annotation, is_valid), ANNOTATION_SCHEMA
    )
