"""Adopting a Label Studio project someone else built: its controls mapped to ours.

A statistics office already runs annotation projects whose labeling configs were written by
hand or by scripts (Insee's ``create_template_*.py``): a ``Taxonomy`` named ``taxonomy``
whose leaves read ``"01.11Z // 0111Z - Culture de céréales"`` with an ``"Inclassable"``
(``XXXXX``) leaf, a ``TextArea`` named ``Remarques``, a ``Rating`` named ``rating``, a
``Oui``/``Non`` question on a code shown to the expert, ``Choices`` whose options are task
fields (``$NAF2025_1`` ... ``$NAF2025_39``). Rather than asking the office to start again,
``campaigns adopt`` reads the project's config, decides which control means what
(the *mapping*), stores it with the campaign, and from then on the campaign's kit translates
each annotation into our own control names before the ordinary readers parse it. Export,
the gold rule, metrics and agreement then run unchanged.

What maps to what (by tag, never by the words shown, which are the office's):

- a ``Taxonomy`` -> the code (undotted ``0111Z``, dotted, or ``"01.11Z // 0111Z - title"``:
  the code is kept); its "Inclassable" / ``XXXXX`` leaf -> *cannot be coded*, never "not in
  the nomenclature";
- a ``TextArea`` -> the remark; a ``Rating`` -> the difficulty;
- a two-option yes/no ``Choices`` -> the verdict on a given code (validation campaigns);
- ``Choices`` whose options are task fields (``$field``), or whose options come from a task
  field (``value="$field"``) -> the candidate picked (transition) or suggestion (gold);
- ``Choices`` with an "Inclassable"-like option -> *cannot be coded*.

The project's tasks become the campaign's units (a sample whose every unit has weight 1:
figures describe the project's tasks, not a traffic window). The config is untrusted input:
size-capped, DOCTYPE and entities refused, every surprise an error naming what to fix.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session, select

from campaigns.config import Settings
from campaigns.errors import ConflictError, InputFormatError, InvalidArgumentError
from campaigns.labelstudio.gateway import LabelStudioGateway
from campaigns.labelstudio.gold import config as gold_config
from campaigns.labelstudio.gold.results import annotations_table
from campaigns.labelstudio.kinds import CampaignKit
from campaigns.labelstudio.texts import CONTEXT_FIELDS
from campaigns.labelstudio.transition import config as transition_config
from campaigns.labelstudio.transition.results import transition_annotations
from campaigns.labelstudio.validation import config as validation_config
from campaigns.labelstudio.validation.results import validation_annotations
from campaigns.nomenclatures import new_nomenclature, old_nomenclature
from campaigns.sampling.registry import SAMPLES_DIR
from campaigns.state import crud
from campaigns.state.models import (
    Campaign,
    CampaignCreate,
    CampaignKind,
    CampaignStatus,
    Sample,
)
from campaigns.storage import Storage

MAPPING_VERSION = 1
MAX_CONFIG_BYTES = 5_000_000
"""Insee's NAF 2025 config with 746 subclasses and 39 candidate fields is about 200 KB."""
CANNOT_CODE_WORDS = ("xxxxx", "inclassable", "non classable", "cannot be coded", "cannot_code")
YES_WORDS = frozenset({"oui", "yes", "y", "o", "vrai", "true", "correct", "ok", "1"})
NO_WORDS = frozenset({"non", "no", "n", "faux", "false", "incorrect", "ko", "0"})
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_FIELD_ONLY = re.compile(r"^\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*$")
_LEADING_CODE = re.compile(r"^\s*(\d{2})\.?(\d{2})([A-Za-z])(?![0-9A-Za-z])")
_NUMBERED = re.compile(r"_\d+$")


# -- codes as offices write them -------------------------------------------------------------
def leading_code(value: Any) -> str | None:
    """The NAF subclass a value starts with, dotted: ``"0111Z - Culture"`` -> ``01.11Z``;
    ``"01.11Z // 0111Z - ..."`` -> ``01.11Z``; anything else -> None."""
    if value is None:
        return None
    match = _LEADING_CODE.match(str(value)[:200])
    return f"{match[1]}.{match[2]}{match[3].upper()}" if match else None


def is_cannot_code(value: Any) -> bool:
    """An "Inclassable" / ``XXXXX`` / "cannot be coded" option, in either language."""
    text = str(value or "").strip().lower()
    return any(text == word or text.startswith(word) for word in CANNOT_CODE_WORDS)


def _answer_word(value: str) -> str:
    return re.split(r"[\s,;:.!/-]+", value.strip().lower(), maxsplit=1)[0] if value else ""


# -- the config as a list of controls ---------------------------------------------------------
@dataclass(frozen=True)
class Option:
    value: str
    alias: str | None

    @property
    def stored(self) -> set[str]:
        """What a result may hold for this option: its alias, or its value without one."""
        return {v for v in (self.alias, self.value) if v}


@dataclass(frozen=True)
class Control:
    tag: str
    name: str
    options: tuple[Option, ...] = ()
    value: str | None = None
    to_name: str | None = None
    leaves: tuple[Option, ...] = ()


def parse_label_config(config: str) -> tuple[list[Control], dict[str, str]]:
    """The project's controls in document order, and each ``Text`` tag's value by name.

    Untrusted input: refused above ``MAX_CONFIG_BYTES`` and with any DOCTYPE or entity
    declaration (no entity expansion, no external fetch), and not-XML is a clear error.
    """
    if not isinstance(config, str) or not config.strip():
        raise InputFormatError(
            "The project has no labeling config.", "Open it in Label Studio and check its setup."
        )
    if len(config.encode("utf-8", errors="replace")) > MAX_CONFIG_BYTES:
        raise InputFormatError(
            f"The project's labeling config is larger than {MAX_CONFIG_BYTES // 1_000_000} MB: "
            "refused.",
            "A NAF config is a few hundred KB; check the project.",
        )
    if re.search(r"<!\s*(DOCTYPE|ENTITY)", config, re.IGNORECASE):
        raise InputFormatError(
            "The project's labeling config declares a DOCTYPE or entities: refused.",
            "Label Studio configs need neither; remove them from the project's config.",
        )
    try:
        root = ET.fromstring(config)
    except ET.ParseError as err:
        raise InputFormatError(f"The project's labeling config is not valid XML: {err}.") from err
    controls: list[Control] = []
    texts: dict[str, str] = {}
    for element in root.iter():
        tag, name = element.tag, element.get("name")
        if not isinstance(tag, str) or not name:
            continue
        if tag in ("Text", "HyperText", "Paragraphs"):
            texts[name] = element.get("value") or ""
        elif tag == "Choices":
            options = tuple(
                Option(c.get("value") or "", c.get("alias")) for c in element if c.tag == "Choice"
            )
            controls.append(
                Control(tag, name, options, element.get("value"), element.get("toName"))
            )
        elif tag == "Taxonomy":
            controls.append(
                Control(tag, name, to_name=element.get("toName"), leaves=tuple(_leaves(element)))
            )
        elif tag in ("TextArea", "Rating"):
            controls.append(Control(tag, name, to_name=element.get("toName")))
    return controls, texts


def _leaves(taxonomy: ET.Element) -> Iterable[Option]:
    stack = [c for c in taxonomy if c.tag == "Choice"]
    while stack:
        choice = stack.pop()
        children = [c for c in choice if c.tag == "Choice"]
        if children:
            stack.extend(children)
        else:
            yield Option(choice.get("value") or "", choice.get("alias"))


# -- the mapping stored with the campaign -----------------------------------------------------
@dataclass
class AdoptedMapping:
    """Which of the project's controls and task fields mean what, for one campaign kind."""

    kind: str
    project_id: int
    text_field: str
    id_field: str | None = None
    code_field: str | None = None
    """The given code (validation), the old code (transition), the model's code (gold)."""
    confidence_field: str | None = None
    taxonomy: str | None = None
    cannot_code_leaves: list[str] = field(default_factory=list)
    cannot_code_choices: dict[str, list[str]] = field(default_factory=dict)
    """Choices control name -> its stored values that mean "cannot be coded"."""
    remark: str | None = None
    difficulty: str | None = None
    verdict: dict[str, Any] | None = None
    """``{"name", "yes": [stored values], "no": [stored values]}``."""
    candidates: dict[str, Any] | None = None
    """``{"name", "fields": [task fields], "dynamic": task field or None}``."""
    ignored: list[str] = field(default_factory=list)
    version: int = MAPPING_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AdoptedMapping:
        try:
            raw = json.loads(text)
            mapping = cls(**raw)
        except (TypeError, ValueError) as err:
            raise InputFormatError(
                f"The campaign's stored mapping cannot be read: {err}.",
                "Run 'campaigns adopt' again for this project to rebuild it.",
            ) from err
        if mapping.version != MAPPING_VERSION or mapping.kind not in set(CampaignKind):
            raise InputFormatError(
                f"The campaign's stored mapping (version {mapping.version}, kind "
                f"{mapping.kind!r}) is not one this version reads.",
                "Run 'campaigns adopt' again for this project to rebuild it.",
            )
        return mapping


def _variables(template: str) -> list[str]:
    return _VARIABLE.findall(template or "")


def _candidate_fields(control: Control) -> list[str] | None:
    """``$field`` options (every option a task field), or None."""
    fields = [_FIELD_ONLY.match(o.value) for o in control.options]
    if control.options and all(fields):
        return [m[1] for m in fields if m]
    return None


def _yes_no(control: Control) -> dict[str, Any] | None:
    if len(control.options) != 2:
        return None
    yes, no = [], []
    for option in control.options:
        words = {_answer_word(v) for v in option.stored}
        if words & YES_WORDS:
            yes.extend(sorted(option.stored))
        elif words & NO_WORDS:
            no.extend(sorted(option.stored))
    return {"name": control.name, "yes": yes, "no": no} if yes and no else None


def map_controls(
    controls: list[Control],
    texts: dict[str, str],
    kind: CampaignKind,
    *,
    text_field: str | None = None,
) -> AdoptedMapping:
    """Decide what each control means for ``kind``; what cannot be used is listed in ``ignored``.

    Raises ``InvalidArgumentError`` when the kind's essential control is missing (no code
    source for gold, no candidates nor taxonomy for transition, no yes/no for validation) or
    when several taxonomies make the code ambiguous.
    """
    taxonomies = [c for c in controls if c.tag == "Taxonomy"]
    if len(taxonomies) > 1:
        raise InvalidArgumentError(
            f"The project has {len(taxonomies)} taxonomies "
            f"({', '.join(t.name for t in taxonomies)}): which one holds the code is ambiguous.",
            "Adopt projects with one Taxonomy control.",
        )
    mapping = AdoptedMapping(kind=str(kind), project_id=0, text_field="")
    ignored: list[str] = []
    taxonomy = taxonomies[0] if taxonomies else None
    if taxonomy is not None:
        mapping.taxonomy = taxonomy.name
        mapping.cannot_code_leaves = sorted(
            {v for leaf in taxonomy.leaves if any(map(is_cannot_code, leaf.stored))
             for v in leaf.stored}
        )  # fmt: skip
    for control in controls:
        if control.tag == "TextArea":
            if mapping.remark is None:
                mapping.remark = control.name
            else:
                ignored.append(f"{control.name} (a second remark)")
        elif control.tag == "Rating":
            if mapping.difficulty is None:
                mapping.difficulty = control.name
            else:
                ignored.append(f"{control.name} (a second rating)")
        elif control.tag == "Choices":
            _map_choices(mapping, control, kind, ignored)
    mapping.ignored = ignored
    _require_essentials(mapping, kind)
    code_control = next(
        (c for c in controls if c.tag in ("Taxonomy", "Choices") and c.to_name), None
    )
    mapping.text_field = text_field or _text_field(code_control, texts)
    return mapping


def _map_choices(
    mapping: AdoptedMapping, control: Control, kind: CampaignKind, ignored: list[str]
) -> None:
    fields = _candidate_fields(control)
    dynamic = _FIELD_ONLY.match(control.value or "")
    if (fields or dynamic) and mapping.candidates is None and kind != CampaignKind.VALIDATION:
        mapping.candidates = {
            "name": control.name,
            "fields": fields or [],
            "dynamic": dynamic[1] if dynamic else None,
        }
        return
    answer = _yes_no(control)
    if answer is not None:
        if kind == CampaignKind.VALIDATION and mapping.verdict is None:
            mapping.verdict = answer
        else:
            ignored.append(f"{control.name} (a yes/no question)")
        return
    cannot = sorted({v for o in control.options if any(map(is_cannot_code, o.stored))
                     for v in o.stored})  # fmt: skip
    if cannot:
        mapping.cannot_code_choices[control.name] = cannot
        return
    ignored.append(f"{control.name} (choices with no meaning for a {kind} campaign)")


def _require_essentials(mapping: AdoptedMapping, kind: CampaignKind) -> None:
    if kind == CampaignKind.GOLD and not (mapping.taxonomy or mapping.candidates):
        raise InvalidArgumentError(
            "The project has no Taxonomy nor code choices: nothing holds a code.",
            "A gold campaign needs a Taxonomy of codes; check --kind.",
        )
    if kind == CampaignKind.TRANSITION and not (mapping.taxonomy or mapping.candidates):
        raise InvalidArgumentError(
            "The project has no candidate choices nor Taxonomy: nothing holds a new code.",
            "A transition campaign needs choices over candidate fields ($NAF2025_1...) or a "
            "Taxonomy; check --kind.",
        )
    if kind == CampaignKind.VALIDATION and mapping.verdict is None:
        raise InvalidArgumentError(
            "The project has no yes/no question (two Choices like Oui/Non): nothing says "
            "whether the given code is right.",
            "A validation campaign needs one; check --kind.",
        )


def _text_field(control: Control | None, texts: dict[str, str]) -> str:
    """The task field of the text the controls label (their ``toName`` Text tag)."""
    template = texts.get(control.to_name or "") if control else None
    found = _variables(template or "")
    if len(found) == 1:
        return found[0]
    raise InvalidArgumentError(
        "Cannot tell which task field holds the text to code"
        + (f" (the Text tag shows {', '.join('$' + f for f in found)})." if found else "."),
        "Name it with --text-field (e.g. --text-field libelle).",
    )


# -- translating one annotation into our own control names ------------------------------------
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
        field_ref = _FIELD_ONLY.match(text)
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


# -- adopting: the campaign, its units, its mapping -------------------------------------------
@dataclass
class AdoptionSummary:
    campaign_id: int
    name: str
    kind: str
    project_id: int
    project_title: str
    tasks: int
    refreshed: bool
    mapping: dict[str, Any]
    notes: list[str]


def _field_codes(tasks: list[dict[str, Any]], name: str, valid: Callable[[str], bool]) -> float:
    """Share of tasks whose ``name`` field starts with a valid code (0 when mostly empty)."""
    values = [t["data"].get(name) for t in tasks]
    filled = [v for v in values if v not in (None, "")]
    if len(filled) < len(values) / 2 or not filled:
        return 0.0
    return sum(1 for v in filled if (c := leading_code(v)) and valid(c)) / len(filled)


def _detect_code_field(
    tasks: list[dict[str, Any]],
    texts: dict[str, str],
    mapping: AdoptedMapping,
    valid: Callable[[str], bool],
) -> list[str]:
    """Fields shown in a Text tag whose values are codes (numbered lists left out)."""
    excluded = {mapping.text_field, *((mapping.candidates or {}).get("fields") or [])}
    shown = dict.fromkeys(v for t in texts.values() for v in _variables(t))
    return [
        f
        for f in shown
        if f not in excluded and not _NUMBERED.search(f) and _field_codes(tasks, f, valid) >= 0.8
    ]


def _check_taxonomy(
    controls: list[Control], mapping: AdoptedMapping, valid: Callable[[str], bool], edition: str
) -> str | None:
    taxonomy = next((c for c in controls if c.name == mapping.taxonomy), None)
    if taxonomy is None or not taxonomy.leaves:
        return None
    leaves = [leaf for leaf in taxonomy.leaves if not any(map(is_cannot_code, leaf.stored))]
    known = sum(
        1
        for leaf in leaves
        if any((c := leading_code(v.split("//")[0])) and valid(c) for v in leaf.stored)
    )
    if leaves and known < len(leaves) / 2:
        raise InvalidArgumentError(
            f"The taxonomy {taxonomy.name!r} has {len(leaves)} code leaves but only {known} "
            f"are {edition} subclasses.",
            "A gold or validation campaign reads NAF rév.2 codes, a transition campaign NAF "
            "2025: check --kind (or the nomenclature settings).",
        )
    cannot = len(taxonomy.leaves) - len(leaves)
    return (
        f"taxonomy {taxonomy.name!r}: {known} of {len(leaves)} leaves are {edition} subclasses"
        + (f", {cannot} means 'cannot be coded'" if cannot else "")
    )


def _confidence(value: Any) -> float | None:
    """A confidence index in [0, 1], or None (missing, not a number, out of range, NaN)."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0.0 <= number <= 1.0 else None


_UNIT_COLUMNS = {
    "request_id": pa.string(),
    "ls_task_id": pa.int64(),
    "text": pa.string(),
    "context": pa.string(),
    "confidence": pa.float64(),
}
_KIND_COLUMNS = {
    CampaignKind.GOLD: {"predicted_code": pa.string(), "predicted_codes": pa.list_(pa.string())},
    CampaignKind.VALIDATION: {"given_code": pa.string()},
    CampaignKind.TRANSITION: {"old_code": pa.string(), "candidates": pa.list_(pa.string())},
}


def _units(tasks: list[dict[str, Any]], mapping: AdoptedMapping, sample_id: str) -> pa.Table:
    """One unit per task, with the columns the kind's metrics read, typed even when empty."""
    translator = Translator(mapping)
    kind = CampaignKind(mapping.kind)
    rows = []
    for task in tasks:
        data = task["data"]
        code = translator.code_of_field(data, mapping.code_field)
        confidence = _confidence(data.get(mapping.confidence_field or ""))
        context = {k: data[k] for k in CONTEXT_FIELDS if data.get(k) not in (None, "")}
        row: dict[str, Any] = {
            "request_id": translator.request_id(task),
            "ls_task_id": int(task["id"]),
            "text": str(data.get(mapping.text_field) or ""),
            "context": json.dumps(context, ensure_ascii=False, default=str) if context else None,
            "confidence": confidence,
        }
        if kind == CampaignKind.GOLD:
            row["predicted_code"] = code
            row["predicted_codes"] = [code] if code else []
        elif kind == CampaignKind.VALIDATION:
            row["given_code"] = code
        else:
            row["old_code"] = code
            row["candidates"] = translator.candidates(data)
        rows.append(row)
    n = len(rows)
    table = pa.Table.from_pylist(rows, schema=pa.schema(_UNIT_COLUMNS | _KIND_COLUMNS[kind]))
    design = {
        "stratum": pa.array(["all"] * n),
        "inclusion_prob": pa.array([1.0] * n),
        "weight": pa.array([1.0] * n),
        "stratum_population": pa.array([n] * n, pa.int64()),
        "stratum_sample_size": pa.array([n] * n, pa.int64()),
        "sample_id": pa.array([sample_id] * n),
    }
    for name, column in design.items():
        table = table.append_column(name, column)
    return table


def _read_tasks(gateway: LabelStudioGateway, project_id: int) -> list[dict[str, Any]]:
    tasks = [
        t
        for t in gateway.task_data(project_id)
        if isinstance(t, dict) and isinstance(t.get("id"), int) and isinstance(t.get("data"), dict)
    ]
    if not tasks:
        raise InvalidArgumentError(
            f"Label Studio project {project_id} has no tasks: there is nothing to adopt.",
            "Import its tasks first, or check the project id.",
        )
    return tasks


def _check_ids(tasks: list[dict[str, Any]], id_field: str | None) -> None:
    if id_field is None:
        return
    missing = [t["id"] for t in tasks if str(t["data"].get(id_field, "") or "").strip() == ""]
    if missing:
        raise InvalidArgumentError(
            f"{len(missing)} of {len(tasks)} tasks have no {id_field!r} (tasks "
            f"{', '.join(map(str, missing[:5]))}{'...' if len(missing) > 5 else ''}).",
            "Choose a field every task has with --id-field, or leave it out to use task ids.",
        )
    counts = Counter(str(t["data"][id_field]).strip() for t in tasks)
    duplicated = [value for value, n in counts.items() if n > 1]
    if duplicated:
        raise InvalidArgumentError(
            f"{len(duplicated)} values of {id_field!r} are shared by several tasks "
            f"(e.g. {duplicated[0]!r}): it cannot identify a unit.",
            "Choose a unique field with --id-field, or leave it out to use task ids.",
        )


def build_mapping(
    config: str,
    tasks: list[dict[str, Any]],
    kind: CampaignKind,
    settings: Settings,
    *,
    project_id: int,
    id_field: str | None = None,
    text_field: str | None = None,
    code_field: str | None = None,
    confidence_field: str | None = None,
) -> tuple[AdoptedMapping, list[str]]:
    """The mapping of a project's config and tasks for ``kind``, and notes for the user."""
    controls, texts = parse_label_config(config)
    mapping = map_controls(controls, texts, kind, text_field=text_field)
    mapping.project_id = project_id
    mapping.id_field = id_field
    mapping.confidence_field = confidence_field
    if not any(mapping.text_field in t["data"] for t in tasks):
        raise InvalidArgumentError(
            f"No task of project {project_id} has the text field {mapping.text_field!r}.",
            "Name the field holding the text with --text-field.",
        )
    _check_ids(tasks, id_field)
    old = old_nomenclature(settings)
    new = new_nomenclature(settings)
    expected, edition = (new, "NAF 2025") if kind == CampaignKind.TRANSITION else (old, "NAF rév.2")
    notes = [n for n in [_check_taxonomy(controls, mapping, expected.__contains__, edition)] if n]
    code_valid = old.__contains__  # given, old and model codes are NAF rév.2 codes
    if code_field is not None:
        if not any(code_field in t["data"] for t in tasks):
            raise InvalidArgumentError(
                f"No task of project {project_id} has the field {code_field!r}.",
                "Check --code-field against the tasks' data.",
            )
        if _field_codes(tasks, code_field, code_valid) < 0.5:
            example = next((t["data"][code_field] for t in tasks if code_field in t["data"]), None)
            raise InvalidArgumentError(
                f"The field {code_field!r} does not hold NAF rév.2 codes in most tasks "
                f"(e.g. {str(example)[:40]!r}).",
                "Name the field holding the code (4711Z, 47.11Z or '47.11Z - title').",
            )
        mapping.code_field = code_field
    if confidence_field is not None and not any(
        _confidence(t["data"].get(confidence_field)) is not None for t in tasks
    ):
        raise InvalidArgumentError(
            f"No task of project {project_id} has a confidence index in {confidence_field!r} "
            "(a number between 0 and 1).",
            "Check --confidence-field against the tasks' data, or leave it out.",
        )
    elif kind != CampaignKind.GOLD:  # a gold project's shown code may not be the model's
        found = _detect_code_field(tasks, texts, mapping, code_valid)
        if len(found) == 1:
            mapping.code_field = found[0]
            notes.append(f"code field {found[0]!r} found among the fields the experts see")
        elif kind == CampaignKind.VALIDATION:
            raise InvalidArgumentError(
                "Cannot tell which task field holds the code to validate"
                + (f" (candidates: {', '.join(found)})." if found else "."),
                "Name it with --code-field (e.g. --code-field apet_manual).",
            )
    if kind == CampaignKind.GOLD and mapping.code_field is None:
        notes.append(
            "no model code given (--code-field): the export and the gold labels are complete, "
            "the model's accuracy cannot be computed"
        )
    if mapping.ignored:
        notes.append("not used: " + "; ".join(mapping.ignored))
    return mapping, notes


def adopt_project(
    session: Session,
    storage: Storage,
    gateway: LabelStudioGateway,
    settings: Settings,
    project_id: int,
    *,
    kind: CampaignKind,
    name: str,
    id_field: str | None = None,
    text_field: str | None = None,
    code_field: str | None = None,
    confidence_field: str | None = None,
) -> AdoptionSummary:
    """Make Label Studio project ``project_id`` the campaign ``name`` (or refresh it).

    Adopting again the project of an adopted campaign of that name takes in the tasks added
    since and re-reads the config (options not given keep their earlier value); any other
    clash of name or project is refused. The project itself is only read, never changed.
    """
    existing = session.exec(select(Campaign).where(Campaign.name == name)).first()
    previous: AdoptedMapping | None = None
    if existing is not None:
        if existing.ls_project_id != project_id or not existing.adopted_mapping:
            raise ConflictError(
                f"A campaign named {name!r} exists and is not project {project_id} adopted.",
                "Choose another name.",
            )
        previous = AdoptedMapping.from_json(existing.adopted_mapping)
        if kind != existing.kind:
            raise ConflictError(
                f"Campaign {name!r} adopted project {project_id} as a {existing.kind} campaign.",
                f"Adopt it again with --kind {existing.kind}, or under another name.",
            )
    other = session.exec(
        select(Campaign).where(Campaign.ls_project_id == project_id, Campaign.name != name)
    ).first()
    if other is not None:
        raise ConflictError(
            f"Label Studio project {project_id} already is campaign {other.name!r}.",
            f"Work with 'campaigns export {other.name}', or adopt it again under that name.",
        )
    project = gateway.project_details(project_id)
    tasks = _read_tasks(gateway, project_id)
    mapping, notes = build_mapping(
        project["label_config"],
        tasks,
        kind,
        settings,
        project_id=project_id,
        id_field=id_field or (previous.id_field if previous else None),
        text_field=text_field or (previous.text_field if previous else None),
        code_field=code_field or (previous.code_field if previous else None),
        confidence_field=confidence_field or (previous.confidence_field if previous else None),
    )
    sample = _record_units(session, storage, tasks, mapping, name)
    if existing is None:
        campaign = crud.add_campaign(
            session,
            CampaignCreate(
                name=name,
                kind=kind,
                sample_id=sample.id,
                description=f"Label Studio project {project_id} adopted: {project['title']}",
                annotations_per_task=min(max(int(project["maximum_annotations"] or 1), 1), 10),
            ),
        )
    else:
        campaign = existing
    campaign.ls_project_id = project_id
    campaign.adopted_mapping = mapping.to_json()
    campaign.tasks_pushed = len(tasks)
    if campaign.status == CampaignStatus.CREATED:
        campaign.status = CampaignStatus.PUSHED
    campaign = crud.save(session, campaign)
    return AdoptionSummary(
        campaign_id=campaign.id or 0,
        name=campaign.name,
        kind=str(kind),
        project_id=project_id,
        project_title=str(project["title"]),
        tasks=len(tasks),
        refreshed=existing is not None,
        mapping=asdict(mapping),
        notes=notes,
    )


def _record_units(
    session: Session,
    storage: Storage,
    tasks: list[dict[str, Any]],
    mapping: AdoptedMapping,
    name: str,
) -> Sample:
    """The project's tasks as the campaign's sample (rewritten whole on a refresh)."""
    key = json.dumps([mapping.project_id, mapping.kind, name], sort_keys=True)
    sample_id = f"adopted-{mapping.project_id}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    table = _units(tasks, mapping, sample_id)
    uri = storage.write_table(table, f"{SAMPLES_DIR}/{sample_id}.parquet")
    today = datetime.now(UTC).date()
    sample = session.get(Sample, sample_id) or Sample(
        id=sample_id,
        window_start=today,
        window_end=today,
        design="adopted",
        population_size=table.num_rows,
        sample_size=table.num_rows,
        uri=uri,
    )
    sample.design_params = json.dumps(
        {"project_id": mapping.project_id, "kind": mapping.kind, "id_field": mapping.id_field}
    )
    sample.population_size = sample.sample_size = table.num_rows
    sample.window_end = today
    session.add(sample)
    session.commit()
    session.refresh(sample)
    return sample
