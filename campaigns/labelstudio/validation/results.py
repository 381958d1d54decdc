"""Reading validation annotations: the code each expert stands by, and whether it confirms.

Every annotation that ends with a code has the status ``coded`` with that code, whether it
confirms the given code (``confirmed`` true) or corrects it: the gold rule, agreement and
expert figures then work as for a gold-standard campaign, and the share confirmed is read
from the gold code against the given code. A code picked in the taxonomy wins over the
yes/no answer (it is the more specific act; in Label Studio's screen it is only reachable
after "no"). A "no" without a code, or nothing answered, is ``invalid`` with its reason,
unless the remark names a code (``code_in_remark``, see ``campaigns.labelstudio.remark_codes``).

Read by stored values (aliases and codes), never by displayed labels: the language of the
screen does not matter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from campaigns.labelstudio.regions import (
    annotation_rows,
    annotator_of,
    canonical,
    choices_of,
    has_choice,
    rating_of,
    taxonomy_code,
    text_of,
    verdict_of,
)
from campaigns.labelstudio.remark_codes import code_in_remark
from campaigns.labelstudio.validation.config import (
    CANNOT_CODE,
    DIFFICULTY,
    FLAGS,
    NO,
    REMARK,
    TAXONOMY,
    UNSURE,
    VERDICT,
    YES,
)

VALIDATION_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("task_id", pa.int64()),
        ("annotation_id", pa.int64()),
        ("annotator", pa.string()),
        ("status", pa.string()),
        ("code", pa.string()),
        ("given_code", pa.string()),
        ("verdict", pa.string()),
        ("confirmed", pa.bool_()),
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


def parse_validation_annotation(
    annotation: dict[str, Any], data: dict[str, Any], is_valid: Callable[[str], bool]
) -> dict[str, Any]:
    result = annotation.get("result")
    given = canonical(str(data["given_code"])) if data.get("given_code") else None
    verdict = verdict_of(result, VERDICT)
    taxonomy = taxonomy_code(result, TAXONOMY)
    flags = choices_of(result, FLAGS)
    remark = text_of(result, REMARK)

    code, reason = None, None
    if annotation.get("was_cancelled"):
        status = "skipped"
    elif has_choice(flags, CANNOT_CODE):
        status = "cannot_code"
    elif taxonomy is not None:
        code = taxonomy
        status = "coded" if is_valid(code) else "invalid"
        if status == "invalid":
            reason, code = f"code {taxonomy} is not in the nomenclature", None
    elif verdict == YES:
        if given is not None and is_valid(given):
            status, code = "coded", given
        else:
            status, reason = "invalid", f"the given code {given} is not in the nomenclature"
    elif verdict == NO:
        status, reason = "invalid", "answered no without picking a code"
    else:
        status, reason = "invalid", "no answer"
    if taxonomy is None and (status == "invalid" or (status == "coded" and verdict == YES)):
        flagged = code_in_remark(remark, code, is_valid)
        if flagged is not None:
            (status, reason), code = flagged, None
    return {
        "annotation_id": annotation.get("id"),
        "annotator": annotator_of(annotation),
        "status": status,
        "code": code,
        "given_code": given,
        "verdict": verdict,
        "confirmed": (code == given) if status == "coded" else None,
        "taxonomy_code": taxonomy,
        "invalid_reason": reason,
        "unsure": has_choice(flags, UNSURE),
        "remark": remark,
        "difficulty": rating_of(result, DIFFICULTY),
        "lead_time": annotation.get("lead_time"),
        "created_at": annotation.get("created_at"),
        "updated_at": annotation.get("updated_at"),
    }


def validation_annotations(
    tasks: Iterable[dict[str, Any]], is_valid: Callable[[str], bool]
) -> pa.Table:
    """One row per annotation of the exported tasks (Label Studio JSON export format)."""
    return annotation_rows(
        tasks,
        lambda annotation, data: parse_validation_annotation(annotation, data, is_valid),
        VALIDATION_SCHEMA,
    )
