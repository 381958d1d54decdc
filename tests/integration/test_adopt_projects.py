"""Adopting the office's own Label Studio projects, on the real servers.

The projects are built like Insee's (``codif-ape-annotation``): configs in the style of its
generators ``create_template_NAF2008.py`` (gold), ``create_template_NAF2008_validate.py``
(validation) and ``create_template_NAF2025.py`` (transition), over the official
nomenclatures, and tasks carrying the office's fields (``liasse_numero``, ``libelle``...).
Annotations are seeded the fast way: tasks imported with ``"annotations": [{"result":
...}]`` already in them, in the shapes Label Studio stores (taxonomy paths of aliases, or of
"01.11Z // 0111Z - title" values as older exports hold).
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from label_studio_sdk import LabelStudio

from campaigns.config import get_settings
from campaigns.gold import store as gold_store
from campaigns.nomenclatures import correspondence, new_nomenclature, old_nomenclature
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from services.expert_simulator import LabelStudioExpert

pytestmark = pytest.mark.integration
CANDIDATE_FIELDS = 39  # the NAF 2025 template lists up to 39 candidate codes


# -- configs written the way the office's generators write them -------------------------------
def _declaration(root: ET.Element) -> None:
    view = ET.SubElement(
        root, "View", style="box-shadow: 2px 2px 5px #999; padding: 20px; margin-top: 2em;"
    )
    ET.SubElement(view, "Header", value="Déclaration")
    shown = [
        ("text", "Activité la plus importante dans l'établissement --> $libelle"),
        ("c05", "Type de liasse --> $liasse_type"),
        ("evt", "Type d'évènement --> $evenement_type"),
        ("nat", "Nature d'activité --> $activ_nat_et_intitule"),
        ("cj", "Catégorie juridique --> $cj_intitule"),
    ]
    for name, value in shown:
        ET.SubElement(view, "Text", name=name, value=value, highlightColor="#ff0000")


def _taxonomy(parent: ET.Element, tree: list[dict[str, Any]]) -> None:
    taxonomy = ET.SubElement(
        parent,
        "Taxonomy",
        name="taxonomy",
        toName="text",
        minWidth="1200px",
        placeholder="Cliquez et tapez le code APE retenu",
        leafsOnly="true",
        maxUsages="1",
    )
    ET.SubElement(taxonomy, "Choice", value="Inclassable", alias="XXXXX")
    for section in tree:
        s = ET.SubElement(
            taxonomy,
            "Choice",
            value=f"{section['code']} - {section['title']}",
            alias=section["code"],
        )
        for division in section["children"]:
            d = ET.SubElement(
                s,
                "Choice",
                value=f"{division['code']} - {division['title']}",
                alias=division["code"],
            )
            for sub in division["children"]:
                code = sub["code"]
                ET.SubElement(
                    d,
                    "Choice",
                    value=f"{code} // {code.replace('.', '')} - {sub['title']}",
                    alias=code,
                )


def _comment_and_rating(root: ET.Element, rating: bool) -> None:
    comment = ET.SubElement(root, "View")
    ET.SubElement(comment, "Header", value="Commentaire")
    ET.SubElement(comment, "TextArea", name="Remarques", toName="text",
                  showSubmitButton="true", maxSubmissions="1", editable="true")  # fmt: skip
    if rating:
        view = ET.SubElement(root, "View")
        ET.SubElement(view, "Text", name="diff", value="Notez votre ressenti de 1 à 5 étoiles")
        ET.SubElement(view, "Rating", name="rating", toName="diff", defaultValue="1",
                      maxRating="5", icon="star", size="large")  # fmt: skip


def _yes_no(parent: ET.Element, question: str) -> None:
    ET.SubElement(parent, "Header", value=question)
    choices = ET.SubElement(parent, "Choices", name="NAF2008_OK", toName="text",
                            choice="single", showInLine="true")  # fmt: skip
    ET.SubElement(choices, "Choice", value="Oui", selected="true")
    ET.SubElement(choices, "Choice", value="Non")


def gold_template(tree: list[dict[str, Any]]) -> str:
    """As ``create_template_NAF2008.py``: the declaration, the taxonomy, a comment (+ rating)."""
    root = ET.Element("View")
    _declaration(root)
    _taxonomy(ET.SubElement(root, "View"), tree)
    _comment_and_rating(root, rating=True)
    return ET.tostring(root, encoding="unicode")


def validate_template(tree: list[dict[str, Any]]) -> str:
    """As ``create_template_NAF2008_validate.py``: the given code, Oui/Non, taxonomy on Non."""
    root = ET.Element("View")
    _declaration(root)
    second = ET.SubElement(root, "View")
    ET.SubElement(second, "Header", value="Code NAF 2008 donné")
    ET.SubElement(ET.SubElement(second, "View", style="color:blue"), "Text", name="NAF2008",
                  value="$apet_manual")  # fmt: skip
    _yes_no(second, "Est-ce que le code NAF 2008  donné est correct ?")
    third = ET.SubElement(root, "View", visibleWhen="choice-selected", whenTagName="NAF2008_OK",
                          whenChoiceValue="Non")  # fmt: skip
    _taxonomy(third, tree)
    _comment_and_rating(root, rating=False)
    return ET.tostring(root, encoding="unicode")


def transition_template(tree: list[dict[str, Any]]) -> str:
    """As ``create_template_NAF2025.py``: the old code, the candidates listed then offered as
    choices over task fields ($NAF2025_1...), the NAF 2025 taxonomy when none is right."""
    root = ET.Element("View")
    _declaration(root)
    second = ET.SubElement(root, "View")
    ET.SubElement(second, "Header", value="Code NAF 2008")
    ET.SubElement(ET.SubElement(second, "View", style="color:blue"), "Text", name="NAF2008",
                  value="$NAF2008_code_intitule")  # fmt: skip
    panel = ET.SubElement(ET.SubElement(second, "Collapse", accordion="false"), "Panel",
                          value="Voir sous-classes NAF 2025 proposées")  # fmt: skip
    listing = ET.SubElement(panel, "View")
    for i in range(1, CANDIDATE_FIELDS + 1):
        ET.SubElement(listing, "Text", name=f"liste_multivoque_{i}",
                      value=f"{i}) $NAF2025_code_intitule_{i}")  # fmt: skip
    _yes_no(second, "Code NAF 2025 dans la liste ci-dessus ?")
    ET.SubElement(second, "Header", value="Choix du bon code NAF 2025")
    choices = ET.SubElement(second, "Choices", name="Choisissez dans la liste", toName="text",
                            choice="single", showInLine="true", visibleWhen="choice-selected",
                            whenTagName="NAF2008_OK", whenChoiceValue="Oui")  # fmt: skip
    for i in range(1, CANDIDATE_FIELDS + 1):
        ET.SubElement(choices, "Choice", value=f"$NAF2025_{i}")
    third = ET.SubElement(root, "View", visibleWhen="choice-selected", whenTagName="NAF2008_OK",
                          whenChoiceValue="Non")  # fmt: skip
    _taxonomy(third, tree)
    _comment_and_rating(root, rating=True)
    return ET.tostring(root, encoding="unicode")


# -- results in the shapes Label Studio stores ------------------------------------------------
def path(code: str, nomenclature, *, values: bool = False) -> list[str]:
    """The taxonomy path of ``code``: aliases (what Label Studio 1.23 stores), or the labels
    (what older exports hold: "47.24Z // 4724Z - ...")."""
    chain = nomenclature.ancestors(code)
    aliases = [chain["section"], chain["division"], code]
    if not values:
        return aliases
    return [f"{c} - {nomenclature.title(c)}" for c in aliases[:-1]] + [
        f"{code} // {code.replace('.', '')} - {nomenclature.title(code)}"
    ]


def tax(leaves: list[str]) -> dict:
    return {"from_name": "taxonomy", "to_name": "text", "type": "taxonomy",
            "value": {"taxonomy": [leaves]}}  # fmt: skip


def choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "text", "type": "choices",
            "value": {"choices": [value]}}  # fmt: skip


def remark(text: str) -> dict:
    return {"from_name": "Remarques", "to_name": "text", "type": "textarea",
            "value": {"text": [text]}}  # fmt: skip


def rating(stars: int) -> dict:
    return {"from_name": "rating", "to_name": "diff", "type": "rating",
            "value": {"rating": stars}}  # fmt: skip


def office_task(n: int, **data: Any) -> dict[str, Any]:
    return {
        "liasse_numero": f"J{n:07d}",
        "libelle": f"ACTIVITE {n}",
        "liasse_type": "M0",
        "evenement_type": "01P",
        "activ_nat_et_intitule": "Commerce de détail",
        "cj_intitule": "SARL",
        "cj": "5499",
        **data,
    }


def with_annotations(data: dict, *annotations: tuple[int, list[dict]] | tuple[int, str]) -> dict:
    seeded = []
    for who, result in annotations:
        if result == "skip":
            seeded.append({"result": [], "was_cancelled": True, "completed_by": who})
        else:
            seeded.append({"result": result, "completed_by": who, "lead_time": 9.5})
    return {"data": data, "annotations": seeded}


@pytest.fixture
def office(live_env, label_studio):
    """The Label Studio the office already runs: two expert accounts and a client."""
    client = LabelStudio(base_url=label_studio.url, api_key=label_studio.token)
    first = LabelStudioExpert(label_studio.url, label_studio.token, annotator="agathe")
    second = LabelStudioExpert(label_studio.url, label_studio.token, annotator="basile")

    def project(title: str, config: str, tasks: list[dict], overlap: int = 1) -> int:
        created = client.projects.create(title=title, label_config=config,
                                         maximum_annotations=overlap)  # fmt: skip
        client.projects.import_tasks(id=created.id, request=tasks)
        return int(created.id)

    project.client, project.experts = client, (first.user_id, second.user_id)
    return project


def gold_of(name: str) -> dict[str, tuple[str, str | None]]:
    settings = get_settings()
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, name)
        gold = gold_store.latest_gold(Storage.from_settings(settings), campaign)
    return {r["request_id"]: (r["status"], r["gold_code"]) for r in gold.to_pylist()}


def test_a_gold_project_of_the_naf2008_template(office, cli):
    old = old_nomenclature(get_settings())
    a, b = office.experts
    model = {"apet_modele": "4724Z", "indice_confiance": 0.92}
    tasks = [
        with_annotations(office_task(1, **model), (a, [tax(path("47.24Z", old))]),
                         (b, [tax(path("47.24Z", old)), rating(2)])),
        with_annotations(office_task(2, **model), (a, [tax(path("10.71C", old, values=True))]),
                         (b, [tax(path("10.71C", old, values=True))])),
        with_annotations(office_task(3, **model), (a, [tax(path("47.11B", old))]),
                         (b, [tax(path("47.24Z", old))])),
        with_annotations(office_task(4, **model), (a, [tax(["XXXXX"])]),
                         (b, [tax(["Inclassable"]), remark("trop vague")])),
        with_annotations(office_task(5, **model), (a, "skip")),
        with_annotations(office_task(6, **model), (a, [remark("4711B")])),
        with_annotations(office_task(7, apet_modele="4711B", indice_confiance=0.4),
                         (a, [tax(["47.11B"]), rating(3)])),
        with_annotations(office_task(8, **model)),
    ]  # fmt: skip
    project = office("NAF 2008 - commerce", gold_template(old.tree()), tasks, overlap=2)

    out = cli("adopt", str(project), "--kind", "gold", "--id-field", "liasse_numero",
              "--code-field", "apet_modele", "--confidence-field", "indice_confiance",
              "--name", "naf2008-commerce").output  # fmt: skip
    assert f"Project {project} 'NAF 2008 - commerce' adopted as gold campaign" in out
    assert "8 tasks" in out and "<- taxonomy" in out and "<- Remarques" in out
    assert "<- rating" in out and "$libelle" in out

    cli("export", "naf2008-commerce")
    gold = gold_of("naf2008-commerce")
    assert gold == {
        "J0000001": ("coded", "47.24Z"),
        "J0000002": ("coded", "10.71C"),
        "J0000003": ("disagreement", None),
        "J0000004": ("cannot_code", None),
        "J0000005": ("skipped", None),
        "J0000006": ("code_in_remark", None),
        "J0000007": ("coded", "47.11B"),
    }
    figures = json.loads(cli("metrics", "naf2008-commerce", "--json").output)
    summary = figures["summary"]
    assert summary["figures"]["accuracy"]["estimate"] == pytest.approx(2 / 3)
    assert summary["figures"]["accuracy"]["n"] == 3
    assert summary["agreement"]["tasks_with_overlap"] == 4  # tasks 1-4, two experts each
    assert summary["design"] == "adopted"

    # The office keeps feeding the project: adopting again takes the new tasks in.
    office.client.projects.import_tasks(
        id=project,
        request=[with_annotations(office_task(9, **model), (a, [tax(path("47.24Z", old))]))],
    )
    # Exported before adopting again: the new annotated task is said, not silently left out.
    out = cli("export", "naf2008-commerce").output
    assert "1 annotated tasks are not units of this campaign yet" in out
    assert "run 'campaigns adopt' again" in out
    assert "J0000009" not in gold_of("naf2008-commerce")
    out = cli("adopt", str(project), "--kind", "gold", "--name", "naf2008-commerce").output
    assert "refreshed" in out and "9 tasks" in out
    out = cli("export", "naf2008-commerce").output
    assert "(incremental: " in out and "not units of this campaign" not in out
    assert gold_of("naf2008-commerce")["J0000009"] == ("coded", "47.24Z")

    # Adopted under the wrong kind: said, not guessed.
    result = cli("adopt", str(project), "--kind", "validation", "--name", "wrong", ok=False)
    assert result.exit_code == 2 and "already is campaign 'naf2008-commerce'" in result.output
    other = office("copie", gold_template(old.tree()), [{"data": office_task(1)}])
    result = cli("adopt", str(other), "--kind", "validation", "--name", "wrong", ok=False)
    assert result.exit_code == 2 and "no yes/no question" in result.output
    result = cli("push", "naf2008-commerce", ok=False)
    assert result.exit_code == 2 and "as it is" in result.output


def test_a_validation_project_of_the_validate_template(office, cli):
    old = old_nomenclature(get_settings())
    (a, _) = office.experts
    tasks = [
        with_annotations(office_task(1, apet_manual="4724Z"), (a, [choice("NAF2008_OK", "Oui")])),
        with_annotations(office_task(2, apet_manual="4724Z"), (a, [choice("NAF2008_OK", "Oui")])),
        with_annotations(office_task(3, apet_manual="4711B"),
                         (a, [choice("NAF2008_OK", "Non"), tax(path("47.11D", old))])),
        with_annotations(office_task(4, apet_manual="4711B"),
                         (a, [choice("NAF2008_OK", "Non"), tax(["XXXXX"])])),
        with_annotations(office_task(5, apet_manual="1071C"),
                         (a, [choice("NAF2008_OK", "Non"), remark("c'est 1071D")])),
    ]  # fmt: skip
    project = office("NAF 2008 - validation", validate_template(old.tree()), tasks)
    out = cli("adopt", str(project), "--kind", "validation", "--id-field", "liasse_numero",
              "--name", "naf2008-validation").output  # fmt: skip
    assert "<- NAF2008_OK" in out and "$apet_manual" in out
    cli("export", "naf2008-validation")
    assert gold_of("naf2008-validation") == {
        "J0000001": ("coded", "47.24Z"),
        "J0000002": ("coded", "47.24Z"),
        "J0000003": ("coded", "47.11D"),
        "J0000004": ("cannot_code", None),
        "J0000005": ("code_in_remark", None),
    }
    figures = json.loads(cli("validation", "metrics", "naf2008-validation", "--json").output)
    assert figures["confirmed"]["estimate"] == pytest.approx(2 / 3)
    assert figures["by_level"]["confirmed_class"]["estimate"] == pytest.approx(1.0)
    assert figures["by_mode"]["unknown"]["n"] == 3  # a clerk's codes: no confidence index
    assert figures["corrections"] == 1 and figures["to_review"] == 1


def test_a_transition_project_of_the_naf2025_template(office, cli):
    settings = get_settings()
    new, corr = new_nomenclature(settings), correspondence(settings)
    old_code = next(c for c in corr.multivocal_codes() if len(corr.candidates(c)) == 2)
    first, second = corr.candidates(old_code)
    fallback = next(c for c in new.subclasses if c not in (first, second))
    (a, _) = office.experts

    def data(n: int) -> dict[str, Any]:
        fields = {
            "NAF2008_code_intitule": f"{old_code} - {old_nomenclature(settings).title(old_code)}"
        }
        for i in range(1, CANDIDATE_FIELDS + 1):
            code = (first, second)[i - 1] if i <= 2 else ""
            fields[f"NAF2025_{i}"] = code
            fields[f"NAF2025_code_intitule_{i}"] = f"{code} - {new.title(code)}" if code else ""
        return office_task(n, **fields)

    yes = choice("NAF2008_OK", "Oui")
    tasks = [
        with_annotations(data(1), (a, [yes, choice("Choisissez dans la liste", first)])),
        with_annotations(data(2), (a, [yes, choice("Choisissez dans la liste", first)])),
        with_annotations(data(3), (a, [yes, choice("Choisissez dans la liste", second)])),
        with_annotations(data(4), (a, [choice("NAF2008_OK", "Non"), tax(path(fallback, new))])),
        with_annotations(data(5), (a, [choice("NAF2008_OK", "Non"), tax(["XXXXX"])])),
    ]
    project = office("NAF 2025 - transition", transition_template(new.tree()), tasks)
    out = cli("adopt", str(project), "--kind", "transition", "--id-field", "liasse_numero",
              "--name", "naf2025-transition").output  # fmt: skip
    assert "<- Choisissez dans la liste" in out and "$NAF2008_code_intitule" in out
    cli("export", "naf2025-transition")
    assert gold_of("naf2025-transition") == {
        "J0000001": ("coded", first),
        "J0000002": ("coded", first),
        "J0000003": ("coded", second),
        "J0000004": ("coded", fallback),
        "J0000005": ("cannot_code", None),
    }
    out = cli("transition", "split", "naf2025-transition").output
    assert old_code in out and "2/4" in out and "50.0%" in out
