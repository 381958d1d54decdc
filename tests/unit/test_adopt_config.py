"""Reading an office's own labeling config: what each control means, and hostile XML refused."""

from __future__ import annotations

import pytest

from campaigns.config import Settings
from campaigns.errors import InputFormatError, InvalidArgumentError
from campaigns.labelstudio.adopted.config import (
    MAX_CONFIG_BYTES,
    AdoptedMapping,
    is_cannot_code,
    leading_code,
    map_controls,
    parse_label_config,
)
from campaigns.lifecycle.adopt import build_mapping
from campaigns.state.models import CampaignKind

# Written like Insee's generators (create_template_NAF2008*.py, create_template_NAF2025.py):
# nested Views, "Label --> $field" texts, a Taxonomy whose first leaf is Inclassable (XXXXX)
# and whose subclass leaves read "01.11Z // 0111Z - title", a TextArea "Remarques", a Rating
# on its own Text, a Oui/Non question, choices over candidate fields.
TAXONOMY_2008 = """
<Taxonomy name="taxonomy" toName="text" minWidth="1200px" leafsOnly="true" maxUsages="1"
          placeholder="Cliquez et tapez le code APE retenu">
  <Choice value="Inclassable" alias="XXXXX"/>
  <Choice value="G - Commerce" alias="G">
    <Choice value="47 - Commerce de détail" alias="47">
      <Choice value="47.11B // 4711B - Commerce d'alimentation générale" alias="47.11B"/>
      <Choice value="47.24Z // 4724Z - Commerce de détail de pain" alias="47.24Z"/>
    </Choice>
  </Choice>
  <Choice value="C - Industrie" alias="C">
    <Choice value="10 - Industries alimentaires" alias="10">
      <Choice value="10.71C // 1071C - Boulangerie et boulangerie-pâtisserie" alias="10.71C"/>
    </Choice>
  </Choice>
</Taxonomy>"""
DECLARATION = """
<View style="box-shadow: 2px 2px 5px #999;">
  <Header value="Déclaration"/>
  <Text name="text" value="Activité la plus importante dans l'établissement --> $libelle"
        highlightColor="#ff0000"/>
  <Text name="c05" value="Type de liasse --> $liasse_type"/>
  <Text name="cj" value="Catégorie juridique --> $cj_intitule"/>
</View>"""
COMMENT = """
<View><Header value="Commentaire"/>
  <TextArea name="Remarques" toName="text" showSubmitButton="true" maxSubmissions="1"
            editable="true"/></View>"""
RATING = """
<View><Text name="diff" value="Notez votre ressenti de 1 à 5 étoiles"/>
  <Rating name="rating" toName="diff" defaultValue="1" maxRating="5" icon="star"/></View>"""
GOLD_2008 = f"<View>{DECLARATION}<View>{TAXONOMY_2008}</View>{COMMENT}{RATING}</View>"
VALIDATE_2008 = f"""<View>{DECLARATION}
<View><Header value="Code NAF 2008 donné"/>
  <View style="color:blue"><Text name="NAF2008" value="$apet_manual"/></View>
  <Header value="Est-ce que le code NAF 2008 donné est correct ?"/>
  <Choices name="NAF2008_OK" toName="text" choice="single" showInLine="true">
    <Choice value="Oui" selected="true"/><Choice value="Non"/>
  </Choices></View>
<View visibleWhen="choice-selected" whenTagName="NAF2008_OK" whenChoiceValue="Non">
  {TAXONOMY_2008}</View>{COMMENT}</View>"""
CANDIDATES = "".join(f'<Choice value="$NAF2025_{i}"/>' for i in range(1, 6))
LISTS = "".join(
    f'<Text name="liste_multivoque_{i}" value="{i}) $NAF2025_code_intitule_{i}"/>'
    for i in range(1, 6)
)
TRANSITION_2025 = f"""<View>{DECLARATION}
<View><Header value="Code NAF 2008"/>
  <View style="color:blue"><Text name="NAF2008" value="$NAF2008_code_intitule"/></View>
  <View>{LISTS}</View>
  <Header value="Code NAF 2025 dans la liste ci-dessus ?"/>
  <Choices name="NAF2008_OK" toName="text" choice="single" showInLine="true">
    <Choice value="Oui" selected="true"/><Choice value="Non"/></Choices>
  <Choices name="Choisissez dans la liste" toName="text" choice="single" showInLine="true"
           visibleWhen="choice-selected" whenTagName="NAF2008_OK" whenChoiceValue="Oui">
    {CANDIDATES}</Choices></View>
<View visibleWhen="choice-selected" whenTagName="NAF2008_OK" whenChoiceValue="Non">
  <Taxonomy name="taxonomy" toName="text" leafsOnly="true" maxUsages="1">
    <Choice value="Inclassable" alias="XXXXX"/>
    <Choice value="G - Commerce" alias="G"><Choice value="47 - Commerce de détail" alias="47">
      <Choice value="47.11G // 4711G - Autre commerce de détail" alias="47.11G"/>
    </Choice></Choice></Taxonomy></View>{COMMENT}{RATING}</View>"""
SETTINGS = Settings(_env_file=None)


def tasks(n: int = 3, **data) -> list[dict]:
    base = {"libelle": "BOULANGERIE", "liasse_numero": "L", "apet_manual": "1071C"}
    return [{"id": i, "data": base | {"liasse_numero": f"L{i}"} | data} for i in range(1, n + 1)]


def test_codes_as_offices_write_them():
    assert leading_code("01.11Z // 0111Z - Culture de céréales") == "01.11Z"
    assert leading_code("0111z - Culture") == leading_code("01.11Z") == "01.11Z"
    assert leading_code("47.11G") == "47.11G"
    for value in ("XXXXX", "Inclassable", "G - Commerce", "47", None, "", "0111ZZ"):
        assert leading_code(value) is None, value
    assert is_cannot_code("XXXXX") and is_cannot_code("Inclassable")
    assert is_cannot_code("Inclassable (libellé trop vague)") and is_cannot_code("cannot_code")
    assert not is_cannot_code("47.11B") and not is_cannot_code(None)


def test_a_gold_project_of_the_naf2008_generator():
    controls, texts = parse_label_config(GOLD_2008)
    mapping = map_controls(controls, texts, CampaignKind.GOLD)
    assert (mapping.taxonomy, mapping.remark, mapping.difficulty) == (
        "taxonomy",
        "Remarques",
        "rating",
    )
    assert mapping.text_field == "libelle"  # the field of the Text the taxonomy labels
    assert set(mapping.cannot_code_leaves) == {"XXXXX", "Inclassable"}
    assert mapping.verdict is None and mapping.candidates is None and mapping.ignored == []


def test_a_validation_project_of_the_validate_generator():
    mapping, notes = build_mapping(
        VALIDATE_2008, tasks(), CampaignKind.VALIDATION, SETTINGS, project_id=4
    )
    assert mapping.verdict == {"name": "NAF2008_OK", "yes": ["Oui"], "no": ["Non"]}
    assert mapping.code_field == "apet_manual"  # the one shown field holding codes
    assert any("apet_manual" in n for n in notes)
    # The same config read as a gold campaign: the question has no meaning there.
    gold, notes = build_mapping(VALIDATE_2008, tasks(), CampaignKind.GOLD, SETTINGS, project_id=4)
    assert gold.verdict is None and gold.ignored == ["NAF2008_OK (a yes/no question)"]
    assert gold.code_field is None and any("accuracy cannot be computed" in n for n in notes)


def test_a_transition_project_of_the_naf2025_generator():
    data = {f"NAF2025_{i}": f"47.1{i}G" for i in range(1, 4)}
    data |= {f"NAF2025_code_intitule_{i}": f"47.1{i}G - titre" for i in range(1, 4)}
    data["NAF2008_code_intitule"] = "47.11B - Commerce d'alimentation générale"
    mapping, _ = build_mapping(
        TRANSITION_2025, tasks(**data), CampaignKind.TRANSITION, SETTINGS, project_id=5
    )
    assert mapping.candidates == {
        "name": "Choisissez dans la liste",
        "fields": [f"NAF2025_{i}" for i in range(1, 6)],
        "dynamic": None,
    }
    assert mapping.code_field == "NAF2008_code_intitule"  # numbered lists are not the old code
    assert mapping.taxonomy == "taxonomy" and "NAF2008_OK (a yes/no question)" in mapping.ignored


def test_our_own_configs_read_back():
    from campaigns.labelstudio.gold.config import gold_standard_config
    from campaigns.labelstudio.validation.config import validation_config
    from campaigns.nomenclatures import old_nomenclature

    old = old_nomenclature(SETTINGS)
    controls, texts = parse_label_config(validation_config(old))
    mapping = map_controls(controls, texts, CampaignKind.VALIDATION)
    assert mapping.verdict["yes"] == ["Oui, le code est correct", "yes"]
    assert mapping.cannot_code_choices == {
        "flags": ["Inclassable (libellé trop vague)", "cannot_code"]
    }
    controls, texts = parse_label_config(gold_standard_config(old))
    mapping = map_controls(controls, texts, CampaignKind.GOLD)
    assert mapping.text_field == "text" and mapping.taxonomy == "taxonomy"


@pytest.mark.parametrize(
    ("config", "kind", "message"),
    [
        (GOLD_2008, CampaignKind.VALIDATION, "no yes/no question"),
        (f"<View>{DECLARATION}{COMMENT}</View>", CampaignKind.GOLD, "nothing holds a code"),
        (f"<View>{DECLARATION}{COMMENT}</View>", CampaignKind.TRANSITION, "new code"),
        (
            f"<View>{DECLARATION}{TAXONOMY_2008}{TAXONOMY_2008.replace('taxonomy', 'b')}</View>",
            CampaignKind.GOLD,
            "2 taxonomies",
        ),
    ],
)
def test_what_cannot_be_mapped_says_why(config, kind, message):
    controls, texts = parse_label_config(config)
    with pytest.raises(InvalidArgumentError, match=message):
        map_controls(controls, texts, kind)


def test_the_text_field_can_be_named():
    two = GOLD_2008.replace(
        "Activité la plus importante dans l'établissement --> $libelle", "$libelle / $autre"
    )
    controls, texts = parse_label_config(two)
    with pytest.raises(InvalidArgumentError, match=r"shows \$libelle, \$autre") as err:
        map_controls(controls, texts, CampaignKind.GOLD)
    assert "--text-field" in err.value.one_line()
    named = map_controls(controls, texts, CampaignKind.GOLD, text_field="autre")
    assert named.text_field == "autre"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("", "no labeling config"),
        ("<View><Taxonomy name='t'", "not valid XML"),
        (
            '<?xml version="1.0"?><!DOCTYPE v [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;">]><View>&b;</View>',
            "DOCTYPE or entities",
        ),
        ('<!DOCTYPE v SYSTEM "file:///etc/passwd"><View/>', "DOCTYPE"),
        ("<View>" + "<Text name='x' value='y'/>" * (MAX_CONFIG_BYTES // 20) + "</View>", "larger"),
    ],
)
def test_hostile_configs_are_refused_clearly(config, message):
    with pytest.raises(InputFormatError, match=message):
        parse_label_config(config)


def test_data_checks_before_adoption():
    with pytest.raises(InvalidArgumentError, match="text field 'libelle'"):
        build_mapping(GOLD_2008, [{"id": 1, "data": {"x": 1}}], CampaignKind.GOLD, SETTINGS,
                      project_id=1)  # fmt: skip
    duplicated = [*tasks(), {"id": 9, "data": {"libelle": "X", "liasse_numero": "L1"}}]
    with pytest.raises(InvalidArgumentError, match="shared by several tasks"):
        build_mapping(GOLD_2008, duplicated, CampaignKind.GOLD, SETTINGS, project_id=1,
                      id_field="liasse_numero")  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="have no 'siret'"):
        build_mapping(GOLD_2008, tasks(), CampaignKind.GOLD, SETTINGS, project_id=1,
                      id_field="siret")  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="code to validate") as err:
        build_mapping(VALIDATE_2008, tasks(apet_manual="?"), CampaignKind.VALIDATION, SETTINGS,
                      project_id=1)  # fmt: skip
    assert "--code-field" in err.value.one_line()
    with pytest.raises(InvalidArgumentError, match=r"No task .* has the field 'ape'"):
        build_mapping(GOLD_2008, tasks(), CampaignKind.GOLD, SETTINGS, project_id=1,
                      code_field="ape")  # fmt: skip


def test_named_fields_must_hold_what_they_are_named_for():
    with pytest.raises(InvalidArgumentError, match=r"does not hold NAF rév\.2 codes") as err:
        build_mapping(GOLD_2008, tasks(), CampaignKind.GOLD, SETTINGS, project_id=1,
                      code_field="libelle")  # fmt: skip
    assert "'BOULANGERIE'" in err.value.message
    with pytest.raises(InvalidArgumentError, match="confidence index in 'libelle'"):
        build_mapping(GOLD_2008, tasks(), CampaignKind.GOLD, SETTINGS, project_id=1,
                      confidence_field="libelle")  # fmt: skip
    mapping, _ = build_mapping(
        GOLD_2008,
        tasks(score="0.93"),
        CampaignKind.GOLD,
        SETTINGS,
        project_id=1,
        code_field="apet_manual",
        confidence_field="score",
    )
    assert (mapping.code_field, mapping.confidence_field) == ("apet_manual", "score")


def test_a_taxonomy_of_the_other_edition_is_refused():
    naf2025_leaves = "".join(
        f'<Choice value="{d}.{c}Y // {d}{c}Y - x" alias="{d}.{c}Y"/>'
        for d in range(10, 14)
        for c in range(10, 14)
    )
    config = f"""<View>{DECLARATION}<Taxonomy name="taxonomy" toName="text">
      <Choice value="Inclassable" alias="XXXXX"/>{naf2025_leaves}</Taxonomy></View>"""
    with pytest.raises(InvalidArgumentError, match=r"NAF rév\.2 subclasses"):
        build_mapping(config, tasks(), CampaignKind.GOLD, SETTINGS, project_id=1)


def test_the_stored_mapping_round_trips_and_bad_json_says_what_to_do():
    mapping, _ = build_mapping(GOLD_2008, tasks(), CampaignKind.GOLD, SETTINGS, project_id=2)
    assert AdoptedMapping.from_json(mapping.to_json()) == mapping
    for bad in ("{", '{"kind": "gold"}', '{"kind": "other", "project_id": 1, "text_field": "t"}'):
        with pytest.raises(InputFormatError) as err:
            AdoptedMapping.from_json(bad)
        assert "campaigns adopt" in err.value.one_line()
