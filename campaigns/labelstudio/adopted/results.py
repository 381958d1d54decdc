"""An adopted project's annotations translated into our own control names, then parsed by the
ordinary readers of their kind; and the kit of an adopted campaign, which reads them and never
writes the office's config or tasks. The mapping: :mod:`campaigns.labelstudio.adopted.config`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from campaigns.config import Settings
from campaigns.errors import ConflictError
from campaigns.labelstudio.adopted.config import (
    FIELD_ONLY,
    AdoptedMapping,
    is_cannot_code,
    leading_code,
)
from campaigns.labelstudio.gold import config as gold_config
from campaigns.labelstudio.gold.results import annotations_table
from campaigns.labelstudio.kit import CampaignKit
from campaigns.labelstudio.transition import config as transition_config
from campaigns.labelstudio.transition.results import transition_annotations
from campaigns.labelstudio.validation import config as validation_config
from campaigns.labelstudio.validation.results import validation_annotations
from campaigns.nomenclatures import new_nomenclature, old_nomenclature
from campaigns.state.models import (
    CampaignKind,
)


def _region(name: str, to_name: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"from_name": name, "to_name": to_name, "type": kind, "value": value}


def _first_list(value: Any, key: str) -> list[Any]:
    got = value.get(key) if isinstance(value, dict) else None
    return got if isinstance(got, list) else []


@dataclass(frozen=True)
class _Translated:
    task: dict[str, Any]
    cannot_code_ids: frozenset[Any]


class Translator:
    """Rewrites an adopted project's exported tasks as if our own config had produced them."""

    def __init__(self, mapping: AdoptedMapping) -> None:
        self.m = mapping
        kind = CampaignKind(mapping.kind)
        self.names = {
            CampaignKind.GOLD: gold_config,
            CampaignKind.TRANSITION: transition_config,
            CampaignKind.VALIDATION: validation_config,
        }[kind]
        self.kind = kind
        self.cannot_leaves = {v.strip().lower() for v in mapping.cannot_code_leaves}

    def request_id(self, task: dict[str, Any]) -> str | None:
        data = task.get("data") if isinstance(task.get("data"), dict) else {}
        if self.m.id_field is None:
            return str(task["id"]) if task.get("id") is not None else None
        value = data.get(self.m.id_field)
        return None if value is None or str(value).strip() == "" else str(value).strip()

    def code_of_field(self, data: dict[str, Any], name: str | None) -> str | None:
        return leading_code(data.get(name)) if name else None

    def candidates(self, data: dict[str, Any]) -> list[str]:
        spec = self.m.candidates or {}
        codes = [leading_code(data.get(f)) for f in spec.get("fields", [])]
        dynamic = data.get(spec.get("dynamic") or "") if spec.get("dynamic") else None
        if isinstance(dynamic, list):
            codes += [leading_code(c.get("value") if isinstance(c, dict) else c) for c in dynamic]
        return [c for c in dict.fromkeys(codes) if c]

    def _leaf(self, leaf: Any) -> tuple[str | None, bool]:
        """(code, cannot_code) of a taxonomy leaf as stored (alias or value)."""
        text = str(leaf or "").strip()
        if text.lower() in self.cannot_leaves or is_cannot_code(text):
            return None, True
        return leading_code(text.split("//")[0]) or text.split(" ")[0], False

    def _picked(self, choice: Any, data: dict[str, Any]) -> str | None:
        """A candidate choice as stored: ``$field`` (a hand-written result) or its value."""
        text = str(choice or "")
        field_ref = FIELD_ONLY.match(text)
        return leading_code(data.get(field_ref[1])) if field_ref else leading_code(text) or text

    def translate(self, task: dict[str, Any]) -> _Translated:
        data = task.get("data") if isinstance(task.get("data"), dict) else {}
        ours: dict[str, Any] = {"request_id": self.request_id(task)}
        if self.kind == CampaignKind.TRANSITION:
            ours["candidates"] = [{"value": c} for c in self.candidates(data)]
            ours["old_code"] = self.code_of_field(data, self.m.code_field)
        elif self.kind == CampaignKind.VALIDATION:
            ours["given_code"] = self.code_of_field(data, self.m.code_field)
        cannot: set[Any] = set()
        annotations = []
        for annotation in task.get("annotations") or []:
            if not isinstance(annotation, dict):
                continue
            result, says_cannot = self._result(annotation.get("result"), data)
            if says_cannot:
                cannot.add(annotation.get("id"))
            annotations.append(annotation | {"result": result})
        return _Translated(
            {"id": task.get("id"), "data": ours, "annotations": annotations}, frozenset(cannot)
        )

    def _result(self, result: Any, data: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        names, m = self.names, self.m
        text = names.TEXT
        out: list[dict[str, Any]] = []
        cannot = False
        for region in result if isinstance(result, list) else []:
            if not isinstance(region, dict):
                continue
            name, value = region.get("from_name"), region.get("value")
            if name == m.taxonomy:
                paths = _first_list(value, "taxonomy")
                leaf = paths[0][-1] if paths and isinstance(paths[0], list) and paths[0] else None
                code, says_cannot = self._leaf(leaf)
                if says_cannot:
                    cannot = True
                    if self.kind != CampaignKind.TRANSITION:
                        out.append(_region(names.FLAGS, text, "choices",
                                           {"choices": [names.CANNOT_CODE]}))  # fmt: skip
                elif code:
                    target = (
                        transition_config.FALLBACK
                        if self.kind == CampaignKind.TRANSITION
                        else names.TAXONOMY
                    )
                    out.append(_region(target, text, "taxonomy", {"taxonomy": [[code]]}))
            elif name == m.remark:
                out.append(_region(names.REMARK, text, "textarea",
                                   {"text": _first_list(value, "text")}))  # fmt: skip
            elif name == m.difficulty and self.kind != CampaignKind.TRANSITION:
                rating = value.get("rating") if isinstance(value, dict) else None
                if isinstance(rating, int | float) and not isinstance(rating, bool):
                    out.append(_region(names.DIFFICULTY, text, "rating", {"rating": int(rating)}))
            elif m.verdict and name == m.verdict["name"]:
                chosen = {str(c) for c in _first_list(value, "choices")}
                answer = (
                    validation_config.NO
                    if chosen & set(m.verdict["no"])
                    else validation_config.YES
                    if chosen & set(m.verdict["yes"])
                    else None
                )
                if answer:
                    out.append(_region(validation_config.VERDICT, text, "choices",
                                       {"choices": [answer]}))  # fmt: skip
            elif m.candidates and name == m.candidates["name"]:
                chosen = _first_list(value, "choices")
                code = self._picked(chosen[0], data) if chosen else None
                if code:
                    target = (
                        transition_config.CANDIDATE
                        if self.kind == CampaignKind.TRANSITION
                        else gold_config.SUGGESTED
                    )
                    out.append(_region(target, text, "choices", {"choices": [code]}))
            elif name in m.cannot_code_choices:
                chosen = {str(c) for c in _first_list(value, "choices")}
                if chosen & set(m.cannot_code_choices[name]):
                    cannot = True
                    if self.kind != CampaignKind.TRANSITION:
                        out.append(_region(names.FLAGS, text, "choices",
                                           {"choices": [names.CANNOT_CODE]}))  # fmt: skip
        if cannot:  # "cannot be coded" wins over a code picked beside it, as on our screens
            out = [r for r in out if r["from_name"] not in _CODE_CONTROLS]
        return out, cannot


_CODE_CONTROLS = {
    gold_config.TAXONOMY,
    gold_config.SUGGESTED,
    transition_config.FALLBACK,
    transition_config.CANDIDATE,
}


def adopted_annotations(
    mapping: AdoptedMapping,
    tasks: Iterable[dict[str, Any]],
    is_valid: Callable[[str], bool],
) -> pa.Table:
    """The project's exported tasks read by the kind's own reader, through the mapping."""
    translator = Translator(mapping)
    translated = [translator.translate(t) for t in tasks if isinstance(t, dict)]
    ours = [t.task for t in translated]
    kind = CampaignKind(mapping.kind)
    if kind == CampaignKind.GOLD:
        return annotations_table(ours, is_valid)
    if kind == CampaignKind.VALIDATION:
        return validation_annotations(ours, is_valid)
    table = transition_annotations(ours, is_valid)
    cannot = [i for t in translated for i in t.cannot_code_ids if isinstance(i, int)]
    if cannot:  # the transition reader has no such status: "Inclassable" is not "invalid"
        flagged = pc.is_in(table.column("annotation_id"), pa.array(cannot, pa.int64()))
        status = pc.if_else(flagged, "cannot_code", table.column("status"))
        table = table.set_column(table.schema.get_field_index("status"), "status", status)
    return table.rename_columns({"new_code": "code"})


def adopted_kit(mapping_json: str, settings: Settings) -> CampaignKit:
    """The kit of an adopted campaign: its annotations read through the stored mapping.

    The project's config and tasks are the office's: this kit never writes either, so
    building a config or tasks is refused with a clear error.
    """
    mapping = AdoptedMapping.from_json(mapping_json)
    kind = CampaignKind(mapping.kind)
    nomenclature = (
        new_nomenclature(settings)
        if kind == CampaignKind.TRANSITION
        else old_nomenclature(settings)
    )

    def refuse(*_: Any) -> Any:
        raise ConflictError(
            f"This campaign adopts Label Studio project {mapping.project_id} as it is: its "
            "config and tasks are the project's own.",
            "Add tasks in that project, then run 'campaigns adopt' again to take them in.",
        )

    return CampaignKit(
        label_config=refuse,
        tasks=refuse,
        annotations=lambda tasks: adopted_annotations(mapping, tasks, nomenclature.__contains__),
    )
