"""Transition validation tasks: confirm or reject the model's proposed NAF 2025 code.

For a multivocal row the candidate model is confident about, choosing among the candidates
is slower than checking one: the expert reads the text, its context, the old code and the
proposed new code (title, explanatory note, the model's confidence), and answers "is this
the right code?". "Yes" is one click. "No" opens the old code's other candidates (and "none
of these", and the whole NAF 2025 to search): a rejection names the right code whenever the
expert can, so every answer is a full label.

Why the answers count in the model's measured accuracy: a confirmed proposal is the gold
code ``= proposed``, a corrected one the gold code ``!= proposed``; both become expert rows of
their batch, with the batch's inclusion probabilities, so the cross-validated accuracy and
the split (``campaigns.recoding``) read them like any other answer, and the share of
proposals confirmed is itself a design-weighted accuracy of the proposing model. (A known
risk of confirm-or-reject screens is anchoring on the proposal; no answer is pre-selected,
and the "no" path costs little more than a choice.)

Its labeling config, payloads and parser, over the shared texts
(``campaigns.labelstudio.texts``) and the transition payload helpers; ``kinds.transition_kit``
assembles them. Stored values are aliases and codes, never displayed words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

import pyarrow as pa

from campaigns.labelstudio.blocks import (
    NO,
    VERDICT,
    YES,
    HasTree,
    remark_area,
    text_and_context,
    verdict_block,
)
from campaigns.labelstudio.gold.tasks import ContextTitles
from campaigns.labelstudio.regions import (
    annotation_rows,
    annotator_of,
    first_choice,
    taxonomy_code,
    text_of,
    verdict_of,
)
from campaigns.labelstudio.remark_codes import code_in_remark
from campaigns.labelstudio.texts import CONTEXT_FIELDS, DEFAULT_LANGUAGE, texts_for
from campaigns.labelstudio.transition.config import (
    CANDIDATE,
    FALLBACK,
    NONE_OF_THESE,
    REMARK,
    candidates_and_search,
)
from campaigns.labelstudio.transition.results import candidate_values, picked_code
from campaigns.labelstudio.transition.tasks import candidate_choices, transition_task_data

PROPOSED = "proposed"
VALIDATION_SAMPLE_SUFFIX = "-validate"
"""The suffix of a transition batch's validation sample (``transition-batch-<id>-validate``,
named by ``campaigns.recoding.workflow``): a campaign on it gets the validation kit."""
TitleLookup = Callable[[str], str | None]

VALIDATION_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("task_id", pa.int64()),
        ("annotation_id", pa.int64()),
        ("annotator", pa.string()),
        ("old_code", pa.string()),
        ("status", pa.string()),
        ("new_code", pa.string()),
        ("proposed_code", pa.string()),
        ("verdict", pa.string()),
        ("confirmed", pa.bool_()),
        ("in_candidates", pa.bool_()),
        ("remark", pa.string()),
        ("invalid_reason", pa.string()),
        ("lead_time", pa.float64()),
        ("updated_at", pa.string()),
    ]
)
"""One row per annotation. ``status``: ``coded`` (with ``new_code``), ``none_of_these``,
``rejected`` (a "no" that names no code), ``invalid`` (no answer), ``skipped``, and
``code_in_remark`` (no code picked but the remark names one: proposed in ``invalid_reason``)."""


def is_validation_sample(sample_id: str) -> bool:
    """Whether a transition campaign on ``sample_id`` confirms proposals (this module's kit)."""
    return sample_id.startswith("transition-batch-") and sample_id.endswith(
        VALIDATION_SAMPLE_SUFFIX
    )


def transition_validation_config(
    new_nomenclature: HasTree, language: str = DEFAULT_LANGUAGE
) -> str:
    """The labeling config: the proposal, yes/no, and on "no" the other candidates."""
    texts = texts_for(language)
    view = ET.Element("View")
    text_and_context(view, texts)
    ET.SubElement(view, "Text", name="old_code", value="$old_code_display")
    ET.SubElement(view, "Text", name=PROPOSED, value="$proposed_display")
    candidates_and_search(verdict_block(view, texts), texts, new_nomenclature)
    remark_area(view, texts)
    return ET.tostring(view, encoding="unicode")


def transition_validation_tasks(
    sample: pa.Table,
    campaign_id: int,
    old_title: TitleLookup,
    new_title: TitleLookup,
    *,
    context_titles: ContextTitles | None = None,
    candidate_notes: Mapping[str, str] | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> list[dict[str, Any]]:
    """Payloads for the rows of ``sample`` that carry a ``proposed_code``.

    ``sample`` has ``request_id, text, old_code, candidates, proposed_code`` and
    ``confidence`` (as written by ``campaigns transition next-batch``); context columns are
    read as in transition tasks. The choices offered on "no" are the other candidates and
    "none of these".
    """
    texts = texts_for(language)
    notes = candidate_notes or {}
    wanted = [
        "request_id",
        "text",
        "old_code",
        "candidates",
        "proposed_code",
        "confidence",
        "context",
        *CONTEXT_FIELDS,
    ]
    columns = [c for c in wanted if c in sample.column_names]
    tasks = []
    for row in sample.select(columns).to_pylist():
        proposed = row.get("proposed_code")
        if not proposed:
            continue  # nothing to confirm
        candidates = row.get("candidates") or []
        others = [code for code in candidates if code != proposed]
        confidence = row.get("confidence")
        source = texts.given_by_model.format(
            confidence=f"{confidence:.2f}" if isinstance(confidence, float) else "-"
        )
        data = transition_task_data(
            row, campaign_id, old_title, texts, context_titles=context_titles, language=language
        )
        tasks.append(
            {
                "data": data
                | {
                    "proposed_code": proposed,
                    "proposed_display": texts.given_code_line.format(
                        source=source, code=proposed, title=new_title(proposed) or texts.untitled
                    ),
                    "candidates": candidate_choices(others, new_title, notes, texts),
                    "n_candidates": len(candidates),
                }
            }
        )
    return tasks


def parse_transition_validation(
    annotation: dict[str, Any], data: dict[str, Any], is_new_code: Callable[[str], bool]
) -> dict[str, Any]:
    """One annotation as a row of ``VALIDATION_SCHEMA`` (see its statuses).

    A code picked on "no" (a candidate, or one found in the whole nomenclature, which wins as
    the more specific act) is the answer; a code equal to the proposal is a confirmation.
    """
    result = annotation.get("result")
    proposed = data.get("proposed_code")
    verdict = verdict_of(result, VERDICT)
    picked = first_choice(result, CANDIDATE)
    fallback = taxonomy_code(result, FALLBACK)
    code: str | None = None
    if annotation.get("was_cancelled"):
        status = "skipped"
    elif verdict == YES and not fallback:
        status, code = "coded", proposed
    elif verdict == NO or fallback:
        code = picked_code(result)
        if code is not None:
            status = "coded" if is_new_code(code) else "invalid"
            code = code if status == "coded" else None
        else:
            status = "none_of_these" if picked == NONE_OF_THESE else "rejected"
    else:
        status = "invalid"
    remark, reason = text_of(result, REMARK), None
    if not picked_code(result) and status in ("coded", "invalid", "none_of_these", "rejected"):
        # nothing picked but the proposal at most: a code typed in the remark is proposed
        flagged = code_in_remark(remark, code if status == "coded" else None, is_new_code)
        if flagged is not None:
            (status, reason), code = flagged, None
    candidates = candidate_values(data)
    if proposed:
        candidates.add(proposed)
    return {
        "annotation_id": annotation.get("id"),
        "annotator": annotator_of(annotation),
        "old_code": data.get("old_code"),
        "status": status,
        "new_code": code,
        "proposed_code": proposed,
        "verdict": verdict,
        "confirmed": (code == proposed)
        if status == "coded"
        else (False if verdict == NO else None),
        "in_candidates": code in candidates if code else None,
        "remark": remark,
        "invalid_reason": reason,
        "lead_time": annotation.get("lead_time"),
        "updated_at": annotation.get("updated_at"),
    }


def transition_validation_annotations(
    tasks: Iterable[dict[str, Any]], is_new_code: Callable[[str], bool]
) -> pa.Table:
    """Every annotation of ``tasks`` (Label Studio's JSON) as ``VALIDATION_SCHEMA`` rows."""
    return annotation_rows(
        tasks,
        lambda annotation, data: parse_transition_validation(annotation, data, is_new_code),
        VALIDATION_SCHEMA,
    )
