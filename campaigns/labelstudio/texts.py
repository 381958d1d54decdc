"""Every word an expert reads in Label Studio, in the experts' language.

The experts who code activity descriptions are French speakers working on a French
nomenclature (NAF titles are French), so the labeling screens are generated in French by
default; English stays available (setting ``CAMPAIGNS_LANGUAGE=en``) for reviewers and for
deployments outside France. One deployment shows one language.

Only displayed words live here. What Label Studio stores in an annotation are stable
aliases and values defined beside each labeling config (``cannot_code``, ``in_scope``,
``NONE``, the codes themselves), never these labels: an annotation reads the same whichever
language was shown, and a project may change language without breaking its exports.
``labels_of`` lists a choice's labels in every language for the one case where a label can
reach a result: an annotation written by hand (API, script) with the label instead of the
alias.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal, get_args

Language = Literal["fr", "en"]
DEFAULT_LANGUAGE: Language = "fr"
CONTEXT_FIELDS = (
    "cj",
    "activ_nat_et",
    "activ_nat_lib_et",
    "activ_surf_et",
    "evenement_type",
    "liasse_type",
    "activ_perm_et",
)
"""The context fields of the classification API's requests, in display order; every language
labels each of them."""


@dataclass(frozen=True)
class LabelingTexts:
    """The words of both labeling interfaces and of the task payloads, in one language."""

    # Shared by both interfaces.
    description_header: str
    search_placeholder: str
    remark_placeholder: str
    no_context: str
    context_item: str
    """One field of the context line; format with ``label`` and ``value``."""
    context_labels: Mapping[str, str]
    """Label of each context field (``cj``...); an unknown field shows its own name."""
    fixed_context_titles: Mapping[str, Mapping[str, str]]
    """Titles of context fields whose values are fixed and documented (P/S)."""
    # Gold standard.
    suggestions_header: str
    search_header: str
    cannot_code: str
    unsure: str
    difficulty_header: str
    unknown_code: str
    # Transition.
    old_code_line: str
    """Format with ``code`` and ``title``."""
    scope_question: str
    in_scope: str
    out_of_scope: str
    candidates_header: str
    fallback_header: str
    none_of_these: str
    untitled: str
    # Validation.
    given_code_line: str
    """Format with ``code``, ``title`` and ``source`` (one of the two below)."""
    given_by_model: str
    """Format with ``confidence`` (the model's confidence index, two decimals)."""
    given_by_clerk: str
    validation_question: str
    validation_yes: str
    validation_no: str
    validation_search_header: str
    # Label Studio projects.
    project_descriptions: Mapping[str, str]
    """A project's default description, by campaign kind; format with ``sample``."""


FRENCH = LabelingTexts(
    description_header="Libellé d'activité",
    search_placeholder="Tapez un code ou des mots de son intitulé",
    remark_placeholder="Remarque (facultatif)",
    no_context="Aucun contexte fourni.",
    context_item="{label} : {value}",
    context_labels={
        "cj": "Catégorie juridique",
        "activ_nat_et": "Nature de l'activité",
        "activ_nat_lib_et": "Autre nature",
        "activ_surf_et": "Surface (m²)",
        "evenement_type": "Événement",
        "liasse_type": "Type de liasse",
        "activ_perm_et": "Permanente (P) / saisonnière (S)",
    },
    fixed_context_titles={"activ_perm_et": {"P": "permanente", "S": "saisonnière"}},
    suggestions_header="Suggestions du modèle (la plus probable d'abord, avec son score)",
    search_header="Aucune ne convient ? Cherchez dans la nomenclature",
    cannot_code="Inclassable (libellé trop vague)",
    unsure="Incertain : demander un second avis",
    difficulty_header="Difficulté (1 facile – 5 très difficile)",
    unknown_code="code inconnu",
    old_code_line="Ancien code (NAF rév.2) : {code} – {title}",
    scope_question="Le libellé relève-t-il bien de l'ancien code ?",
    in_scope="Oui, il relève de l'ancien code",
    out_of_scope="Non, l'ancien code était erroné",
    candidates_header="Quel nouveau code ? (seulement les codes issus de l'ancien)",
    fallback_header="Aucun ne convient, ou trop nombreux ? Cherchez dans toute la NAF 2025",
    none_of_these="Aucun de ces codes",
    untitled="sans intitulé",
    given_code_line="Code proposé ({source}) : {code} – {title}",
    given_by_model="par le modèle, indice de confiance {confidence}",
    given_by_clerk="par un gestionnaire",
    validation_question="Ce code est-il le bon ?",
    validation_yes="Oui, le code est correct",
    validation_no="Non, je choisis un autre code",
    validation_search_header="Non ? Cherchez le bon code dans la nomenclature",
    project_descriptions={
        "gold": "Campagne de référence : donnez le bon code NAF de chaque libellé "
        "(échantillon {sample}).",
        "transition": "Passage à la NAF 2025 : choisissez le nouveau code parmi les candidats "
        "(échantillon {sample}).",
        "validation": "Validation : confirmez ou corrigez le code proposé (échantillon {sample}).",
    },
)

ENGLISH = LabelingTexts(
    description_header="Activity description",
    search_placeholder="Type a code or words of its title",
    remark_placeholder="Remark (optional)",
    no_context="No context given.",
    context_item="{label}: {value}",
    context_labels={
        "cj": "Legal category",
        "activ_nat_et": "Activity nature",
        "activ_nat_lib_et": "Other nature",
        "activ_surf_et": "Surface (m2)",
        "evenement_type": "Event",
        "liasse_type": "Form type",
        "activ_perm_et": "Permanent (P) / seasonal (S)",
    },
    fixed_context_titles={"activ_perm_et": {"P": "permanent", "S": "seasonal"}},
    suggestions_header="Model suggestions (best first, with scores)",
    search_header="None is right? Search the nomenclature",
    cannot_code="Cannot be coded (too vague)",
    unsure="Unsure: needs a second opinion",
    difficulty_header="Difficulty (1 easy - 5 very hard)",
    unknown_code="unknown code",
    old_code_line="Old code (NAF rév.2): {code} - {title}",
    scope_question="Does the text still fit the old code's scope?",
    in_scope="Yes, it fits the old code",
    out_of_scope="No, the old code was wrong",
    candidates_header="Which new code? (only this code's candidates)",
    fallback_header="None fits, or too many to scan? Search the whole new nomenclature",
    none_of_these="None of these",
    untitled="untitled",
    given_code_line="Proposed code ({source}): {code} - {title}",
    given_by_model="by the model, confidence index {confidence}",
    given_by_clerk="by a clerk",
    validation_question="Is this the right code?",
    validation_yes="Yes, the code is right",
    validation_no="No, I pick another code",
    validation_search_header="No? Search the right code in the nomenclature",
    project_descriptions={
        "gold": "Gold standard: give the right NACE code of each description (sample {sample}).",
        "transition": "Move to NACE Rev.2.1: choose the new code among the candidates "
        "(sample {sample}).",
        "validation": "Validation: confirm or correct the given code (sample {sample}).",
    },
)

TEXTS: dict[Language, LabelingTexts] = {"fr": FRENCH, "en": ENGLISH}
LANGUAGES: tuple[Language, ...] = get_args(Language)


def texts_for(language: str = DEFAULT_LANGUAGE) -> LabelingTexts:
    """The texts of ``language``; an unknown language is an error, never a silent fallback."""
    try:
        return TEXTS[language]  # type: ignore[index]
    except KeyError:
        raise ValueError(
            f"No labeling texts in {language!r}; choose one of {', '.join(LANGUAGES)}."
        ) from None


def labels_of(field: str) -> frozenset[str]:
    """A choice's label in every language (``labels_of("cannot_code")``).

    For reading results that carry a label where the alias was expected.
    """
    if field not in {f.name for f in fields(LabelingTexts)}:
        raise KeyError(field)
    return frozenset(str(getattr(texts, field)) for texts in TEXTS.values())
