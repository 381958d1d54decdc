"""Reading an adopted project's labeling config: which control means what (the *mapping*).

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

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from campaigns.errors import InputFormatError, InvalidArgumentError
from campaigns.state.models import (
    CampaignKind,
)

MAPPING_VERSION = 1
MAX_CONFIG_BYTES = 5_000_000
"""Insee's NAF 2025 config with 746 subclasses and 39 candidate fields is about 200 KB."""
CANNOT_CODE_WORDS = ("xxxxx", "inclassable", "non classable", "cannot be coded", "cannot_code")
YES_WORDS = frozenset({"oui", "yes", "y", "o", "vrai", "true", "correct", "ok", "1"})
NO_WORDS = frozenset({"non", "no", "n", "faux", "false", "incorrect", "ko", "0"})
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
FIELD_ONLY = re.compile(r"^\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*$")
_LEADING_CODE = re.compile(r"^\s*(\d{2})\.?(\d{2})([A-Za-z])(?![0-9A-Za-z])")
NUMBERED = re.compile(r"_\d+$")


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


def template_variables(template: str) -> list[str]:
    return _VARIABLE.findall(template or "")


def _candidate_fields(control: Control) -> list[str] | None:
    """``$field`` options (every option a task field), or None."""
    fields = [FIELD_ONLY.match(o.value) for o in control.options]
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
    dynamic = FIELD_ONLY.match(control.value or "")
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
    found = template_variables(template or "")
    if len(found) == 1:
        return found[0]
    raise InvalidArgumentError(
        "Cannot tell which task field holds the text to code"
        + (f" (the Text tag shows {', '.join('$' + f for f in found)})." if found else "."),
        "Name it with --text-field (e.g. --text-field libelle).",
    )


# -- translating one annotation into our own control names ------------------------------------
