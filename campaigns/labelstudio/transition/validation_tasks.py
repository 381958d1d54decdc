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

Self-contained: its own labeling config, payloads, parser and ``CampaignKit`` builder, over
the shared texts (``campaigns.labelstudio.texts``) and the transition payload helpers. Stored
values are aliases and codes, never displayed words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from html import escape
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

import pyarrow as pa

from campaigns.labelstudio.gateway import KEY_FIELD
from campaigns.labelstudio.gold.config import HasTree, search_taxonomy
from campaigns.labelstudio.gold.results import canonical
from campaigns.labelstudio.gold.tasks import ContextTitles, context_display
from campaigns.labelstudio.texts import CONTEXT_FIELDS, DEFAULT_LANGUAGE, labels_of, texts_for
from campaigns.labelstudio.transition.config import (
    CANDIDATE,
    FALLBACK,
    NONE_OF_THESE,
    REMARK,
    TEXT,
)
from campaigns.labelstudio.transition.tasks import candidate_html, context_json

if TYPE_CHECKING:
    from campaigns.config import Settings
    from campaigns.labelstudio.kinds import CampaignKit

VERDICT = "verdict"
YES = "yes"
NO = "no"
PROPOSED = "proposed"
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
        ("lead_time", pa.float64()),
        ("updated_at", pa.string()),
    ]
)
"""One row per annotation. ``status``: ``coded`` (with ``new_code``), ``none_of_these``,
``rejected`` (a "no" that names no code), ``invalid`` (no answer), ``skipped``."""


def transition_validation_config(
    new_nomenclature: HasTree, language: str = DEFAULT_LANGUAGE
) -> str:
    """The labeling config: the proposal, yes/no, and on "no" the other candidates."""
    texts = texts_for(language)
    view = ET.Element("View")
    ET.SubElement(view, "Header", value=texts.description_header)
    ET.SubElement(view, "Text", name=TEXT, value="$text")
    ET.SubElement(view, "Text", name="context", value="$context_display")
    ET.SubElement(view, "Text", name="old_code", value="$old_code_display")
    ET.SubElement(view, "Text", name=PROPOSED, value="$proposed_display")
    ET.SubElement(view, "Header", value=texts.validation_question)
    verdict = ET.SubElement(
        view,
        "Choices",
        name=VERDICT,
        toName=TEXT,
        choice="single",
        showInline="true",
        required="true",
    )
    ET.SubElement(verdict, "Choice", value=texts.validation_yes, alias=YES)
    ET.SubElement(verdict, "Choice", value=texts.validation_no, alias=NO)
    other = ET.SubElement(
        view, "View", visibleWhen="choice-selected", whenTagName=VERDICT, whenChoiceValue=NO
    )
    ET.SubElement(other, "Header", value=texts.candidates_header)
    ET.SubElement(
        other, "Choices", name=CANDIDATE, toName=TEXT, value="$candidates", choice="single"
    )
    ET.SubElement(other, "Header", value=texts.fallback_header)
    search_taxonomy(other, FALLBACK, new_nomenclature, texts.search_placeholder)
    ET.SubElement(
        view,
        "TextArea",
        name=REMARK,
        toName=TEXT,
        placeholder=texts.remark_placeholder,
        maxSubmissions="1",
        rows="2",
    )
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
        others = [
            {
                "value": code,
                "html": candidate_html(
                    code, new_title(code) or texts.untitled, notes.get(canonical(code) or code)
                ),
            }
            for code in row.get("candidates") or []
            if code != proposed
        ]
        others.append({"value": NONE_OF_THESE, "html": f"<i>{escape(texts.none_of_these)}</i>"})
        confidence = row.get("confidence")
        source = texts.given_by_model.format(
            confidence=f"{confidence:.2f}" if isinstance(confidence, float) else "-"
        )
        old = row["old_code"]
        tasks.append(
            {
                "data": {
                    KEY_FIELD: f"{campaign_id}:{row['request_id']}",
                    "request_id": row["request_id"],
                    "text": row["text"],
                    "context_display": context_display(context_json(row), context_titles, language),
                    "old_code": old,
                    "old_code_display": texts.old_code_line.format(
                        code=old, title=old_title(old) or texts.untitled
                    ),
                    "proposed_code": proposed,
                    "proposed_display": texts.given_code_line.format(
                        source=source, code=proposed, title=new_title(proposed) or texts.untitled
                    ),
                    "candidates": others,
                    "n_candidates": len(row.get("candidates") or []),
                }
            }
        )
    return tasks


_YES = {YES} | labels_of("validation_yes")
_NO = {NO} | labels_of("validation_no")


def _first(result: list[dict[str, Any]], name: str, key: str) -> Any:
    for region in result:
        if isinstance(region, dict) and region.get("from_name") == name:
            value = region.get("value")
            return value.get(key) if isinstance(value, dict) else None
    return None


def parse_transition_validation(
    annotation: dict[str, Any], data: dict[str, Any], is_new_code: Callable[[str], bool]
) -> dict[str, Any]:
    """One annotation as a row of ``VALIDATION_SCHEMA`` (see its statuses).

    A code picked on "no" (a candidate, or one found in the whole nomenclature, which wins as
    the more specific act) is the answer; a code equal to the proposal is a confirmation.
    """
    result = annotation.get("result") or []
    proposed = data.get("proposed_code")
    choices = _first(result, VERDICT, "choices") or []
    verdict = (
        NO if any(c in _NO for c in choices) else YES if any(c in _YES for c in choices) else None
    )
    picked = (_first(result, CANDIDATE, "choices") or [None])[0]
    path = (_first(result, FALLBACK, "taxonomy") or [[]])[0]
    fallback = canonical(path[-1]) if path else None
    remark = _first(result, REMARK, "text")
    code: str | None = None
    if annotation.get("was_cancelled"):
        status = "skipped"
    elif verdict == YES and not fallback:
        status, code = "coded", proposed
    elif verdict == NO or fallback:
        code = fallback or (canonical(picked) if picked and picked != NONE_OF_THESE else None)
        if code is not None:
            status = "coded" if is_new_code(code) else "invalid"
            code = code if status == "coded" else None
        else:
            status = "none_of_these" if picked == NONE_OF_THESE else "rejected"
    else:
        status = "invalid"
    candidates = {c["value"] for c in data.get("candidates", [])} - {NONE_OF_THESE}
    if proposed:
        candidates.add(proposed)
    return {
        "annotation_id": annotation.get("id"),
        "annotator": str(annotation.get("completed_by")),
        "old_code": data.get("old_code"),
        "status": status,
        "new_code": code,
        "proposed_code": proposed,
        "verdict": verdict,
        "confirmed": (code == proposed)
        if status == "coded"
        else (False if verdict == NO else None),
        "in_candidates": code in candidates if code else None,
        "remark": remark[0] if isinstance(remark, list) and remark else remark,
        "lead_time": annotation.get("lead_time"),
        "updated_at": annotation.get("updated_at"),
    }


def transition_validation_annotations(
    tasks: Iterable[dict[str, Any]], is_new_code: Callable[[str], bool]
) -> pa.Table:
    """Every annotation of ``tasks`` (Label Studio's JSON) as ``VALIDATION_SCHEMA`` rows."""
    rows = []
    for task in tasks:
        data = task.get("data") or {}
        for annotation in task.get("annotations") or []:
            row = parse_transition_validation(annotation, data, is_new_code)
            row["request_id"] = data.get("request_id")
            row["task_id"] = task.get("id")
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=VALIDATION_SCHEMA)


def transition_validation_kit(settings: Settings) -> CampaignKit:
    """The ``CampaignKit`` of a transition validation campaign (config, tasks, parsing).

    Annotations come out with ``code`` (as every kit's), so the export's gold rule, the
    agreement and ``campaigns transition dataset`` read them unchanged.
    """
    from campaigns.labelstudio.context_titles import context_titles
    from campaigns.labelstudio.kinds import CampaignKit
    from campaigns.labelstudio.transition.notes import candidate_notes
    from campaigns.nomenclatures import new_nomenclature, old_nomenclature

    old = old_nomenclature(settings)
    new = new_nomenclature(settings)
    language = settings.language
    return CampaignKit(
        label_config=lambda: transition_validation_config(new, language),
        tasks=lambda table, cid: transition_validation_tasks(
            table,
            cid,
            old.title,
            new.title,
            context_titles=context_titles(settings),
            candidate_notes=candidate_notes(settings),
            language=language,
        ),
        annotations=lambda tasks: transition_validation_annotations(
            tasks, new.__contains__
        ).rename_columns({"new_code": "code"}),
    )
