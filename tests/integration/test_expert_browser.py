"""The expert's path in a real browser: French labeling screens to the exported codes.

Headless Chromium (Debian's, driven by Playwright: no browser download) signs an expert up
through the organisation's invite link of the real Label Studio started by the harness, then
codes one gold campaign and one transition campaign by clicking as an expert does. The
product's own export then reads every annotation back, so this checks what the API-level
tests cannot: that the generated configs render, that clicks on French labels store the
language-free aliases and codes the export reads, that a code picked in the taxonomy search
overrides the pre-selected suggestion, and that the search drop-down is wide enough to read.

Which task Label Studio shows next is its business: the test reads the shown task's id from
the labeling app and keys every expectation by task id. Screenshots of each step are written
to ``test-artifacts/expert-browser/`` (ignored by git).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from campaigns.config import get_settings
from campaigns.gold import store as gold_store
from campaigns.labelstudio.gold.config import SEARCH_WIDTH_PX
from campaigns.labelstudio.texts import FRENCH
from campaigns.nomenclatures import correspondence, new_nomenclature, old_nomenclature
from campaigns.state import crud
from campaigns.state.db import session_scope
from campaigns.storage import Storage
from services.expert_simulator import LabelStudioExpert

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "expert-browser"
END = "2026-09-30"
EXPERT_PASSWORD = "naf-expert-2026"
# The transition case: an old code with two candidates, and a new code outside them.
OLD_CODE = "10.71A"  # Fabrication industrielle de pain et de pâtisserie fraîche
OUTSIDE_CODE = "10.61G"  # Meunerie (NAF 2025)
CJ, CJ_TITLE = "5499", "Société à responsabilité limitée (sans autre indication)"
NATURE, NATURE_TITLE = "04", "Fabrication, production"

if not CHROMIUM:
    pytest.skip(
        "Debian's chromium is not installed (apt-get install -y chromium); the expert's "
        "browser path cannot run.",
        allow_module_level=True,
    )

from playwright.sync_api import Locator, Page, sync_playwright  # noqa: E402  (after the skip)


@pytest.fixture
def page(label_studio) -> Iterator[Page]:
    """A fresh browser page (its own cookies), 1400x1000, French locale."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
        context.set_default_timeout(30_000)
        yield context.new_page()
        browser.close()


@pytest.fixture
def context_tables(live_env, tmp_path: Path, monkeypatch) -> None:
    """Small context-title tables written by the test, so the context line carries titles."""
    legal = tmp_path / "cj.csv"
    legal.write_text(f"code,libelle\n{CJ},{CJ_TITLE}\n1000,Entrepreneur individuel\n")
    natures = tmp_path / "natures.json"
    natures.write_text(json.dumps({NATURE: NATURE_TITLE, "10": "Commerce de détail"}))
    monkeypatch.setenv("CAMPAIGNS_CONTEXT_LEGAL_CATEGORIES", str(legal))
    monkeypatch.setenv("CAMPAIGNS_CONTEXT_ACTIVITY_NATURES", str(natures))
    monkeypatch.delenv("CAMPAIGNS_LANGUAGE", raising=False)  # the default: French
    get_settings.cache_clear()


# -- the expert's moves ----------------------------------------------------------------
def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_up(page: Page, url: str, expert: LabelStudioExpert, email: str) -> int:
    """Join the organisation through its invite link, as a new expert would; their user id."""
    invite = expert.client.get("/api/invite")
    invite.raise_for_status()
    page.goto(url + invite.json()["invite_url"])
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", EXPERT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/user/signup" not in u)
    users = expert.client.get("/api/users/").json()
    return next(int(u["id"]) for u in users if u["email"] == email)


def open_stream(page: Page, url: str, project_id: int) -> int:
    page.goto(f"{url}/projects/{project_id}/data?labeling=1")
    return shown_task(page, previous=None)


def shown_task(page: Page, previous: int | None) -> int:
    """The id of the task on screen, once it is another than ``previous``."""
    handle = page.wait_for_function(
        """previous => {
            const task = window.Htx && window.Htx.task;
            return task && task.id && task.id !== previous ? task.id : null;
        }""",
        arg=previous,
        timeout=60_000,
    )
    page.get_by_test_id("bottombar-submit-button").wait_for()
    return int(handle.json_value())


def choice(page: Page, text: str) -> Locator:
    """The one option (checkbox and label) whose label contains ``text``."""
    option = page.locator("label.lsf-choice__checkbox").filter(has_text=text)
    option.first.wait_for()
    assert option.count() == 1, f"{option.count()} options contain {text!r}"
    return option


def search_and_pick(page: Page, typed: str, label: str) -> dict[str, float]:
    """Type in the taxonomy search, pick ``label``; the drop-down's box, measured open."""
    page.locator(".htx-taxonomy .ant-select-selector").click(force=True)
    search = page.get_by_test_id("taxonomy-search")
    search.wait_for()
    search.press_sequentially(typed, delay=20)
    option = page.locator(".htx-taxonomy-dropdown .ant-select-tree-title").get_by_text(
        label, exact=True
    )
    option.wait_for()
    box = page.locator(".htx-taxonomy-dropdown").bounding_box()
    assert box is not None
    shot(page, f"search-{typed}")
    option.click()
    page.get_by_text(FRENCH.description_header, exact=True).click()  # closes the drop-down
    page.locator(".htx-taxonomy-dropdown").wait_for(state="hidden")
    page.locator(".htx-taxonomy .ant-select-selection-item", has_text=label).wait_for()
    return box


def submit(page: Page, expert: LabelStudioExpert, task_id: int, *, skip: bool = False) -> None:
    """Submit (or skip), then wait until Label Studio has stored it."""
    if skip:
        page.get_by_test_id("bottombar-skip-button").click()
    else:
        page.get_by_test_id("bottombar-submit-button").click()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        task = expert.client.get(f"/api/tasks/{task_id}").json()
        if task.get("total_annotations", 0) + task.get("cancelled_annotations", 0) >= 1:
            return
        time.sleep(0.3)
    raise AssertionError(f"Label Studio did not store the annotation of task {task_id}")


def project_tasks(expert: LabelStudioExpert, project_id: int) -> dict[int, dict[str, Any]]:
    return {int(t["id"]): t for t in expert.tasks(project_id)}


def exported(campaign_name: str) -> dict[int, dict[str, Any]]:
    """The product's export of the campaign, one annotation row per task id."""
    settings = get_settings()
    with session_scope(settings) as session:
        campaign = crud.get_campaign(session, campaign_name)
    rows = gold_store.latest_annotations(Storage.from_settings(settings), campaign).to_pylist()
    return {int(r["task_id"]): r for r in rows}


def project_of(name: str) -> int:
    with session_scope(get_settings()) as session:
        return int(crud.get_campaign(session, name).ls_project_id)


# -- the campaigns ----------------------------------------------------------------------
def make_gold_campaign(cli, tmp_path: Path) -> int:
    logs = tmp_path / "logs.jsonl"
    cli("traffic", "generate", str(logs), "--lines", "300", "--end", END, "--seed", "8")
    cli("traffic", "ingest", str(logs))
    cli("sample", "--days", "30", "--end", END, "--size", "4", "--seed", "4")
    with session_scope(get_settings()) as session:
        sample_id = crud.list_samples(session)[0].id
    # Suggestions shown, the top-1 pre-selected: the path where a searched code must win.
    cli("create", "gold-browser", "--sample", sample_id, "--suggestions", "preselected")
    cli("push", "gold-browser")
    return project_of("gold-browser")


def make_transition_campaign(cli, tmp_path: Path) -> int:
    source = tmp_path / "training.parquet"
    pq.write_table(
        pa.table(
            {
                "libelle": ["FABRICATION INDUSTRIELLE DE PAIN DE MIE", "MOULIN A FARINE DE BLE"],
                "ape": [OLD_CODE.replace(".", "")] * 2,  # undotted, as in real training data
                "cj": [CJ, CJ],
                "activ_nat_et": [NATURE, NATURE],
            }
        ),
        source,
    )
    cli(
        "transition", "create", "naf2025-browser", "--input", str(source), "--size", "2",
        "--text-column", "libelle", "--code-column", "ape",
    )  # fmt: skip
    cli("push", "naf2025-browser")
    return project_of("naf2025-browser")


def note_of(code: str) -> str:
    return f"Comprend : la note explicative de {code}. Ne comprend pas : le reste."


# -- the test ---------------------------------------------------------------------------
def test_expert_codes_in_the_browser_and_the_export_reads_it(
    context_tables, cli, label_studio, page: Page, tmp_path: Path, monkeypatch
):
    settings = get_settings()
    old, new = old_nomenclature(settings), new_nomenclature(settings)
    candidates = correspondence(settings).candidates(OLD_CODE)
    assert len(candidates) == 2 and OUTSIDE_CODE in new and OUTSIDE_CODE not in candidates
    notes = tmp_path / "notes.csv"
    notes.write_text(
        "code,note\n" + "".join(f'{c},"{note_of(c)}"\n' for c in candidates), encoding="utf-8"
    )
    monkeypatch.setenv("CAMPAIGNS_CANDIDATE_NOTES", str(notes))
    get_settings.cache_clear()

    gold_project = make_gold_campaign(cli, tmp_path)
    transition_project = make_transition_campaign(cli, tmp_path)
    expert = LabelStudioExpert(label_studio.url, label_studio.token)  # admin's API view
    gold_tasks = project_tasks(expert, gold_project)
    transition_tasks = project_tasks(expert, transition_project)
    assert len(gold_tasks) == 4 and len(transition_tasks) == 2

    email = "experte.naf@insee.example"
    expert_id = sign_up(page, label_studio.url, expert, email)

    # -- gold: second suggestion, taxonomy search, cannot be coded, skip ---------------
    expected: dict[int, tuple[str, str | None]] = {}
    task_id = open_stream(page, label_studio.url, gold_project)
    for header in (FRENCH.description_header, FRENCH.suggestions_header, FRENCH.search_header):
        page.get_by_text(header, exact=True).wait_for()
    data = gold_tasks[task_id]["data"]
    page.get_by_text(data["context_display"], exact=True).wait_for()
    assert data["context_display"].startswith(FRENCH.context_labels["cj"])
    second = data["suggestions"][1]["value"]
    choice(page, second).click()
    shot(page, "gold-1-second-suggestion")
    submit(page, expert, task_id)
    expected[task_id] = ("coded", second)

    task_id = shown_task(page, previous=task_id)
    data = gold_tasks[task_id]["data"]
    suggested = [s["value"] for s in data["suggestions"]]
    target, word = next(
        (code, word)
        for code, word in (("84.13Z", "tutelle"), ("10.71B", "cuisson"))
        if code not in suggested
    )
    title = old.title(target)
    assert title and word in title.lower()
    box = search_and_pick(page, word, f"{target} - {title}")
    assert box["width"] >= 400, f"the search drop-down is {box['width']:.0f} px wide"
    assert box["width"] >= SEARCH_WIDTH_PX - 1
    shot(page, "gold-2-taxonomy")
    submit(page, expert, task_id)
    expected[task_id] = ("coded", target)
    taxonomy_task, top1 = task_id, suggested[0]

    task_id = shown_task(page, previous=task_id)
    choice(page, FRENCH.cannot_code).click()
    shot(page, "gold-3-cannot-code")
    submit(page, expert, task_id)
    expected[task_id] = ("cannot_code", None)

    task_id = shown_task(page, previous=task_id)
    shot(page, "gold-4-skip")
    submit(page, expert, task_id, skip=True)
    expected[task_id] = ("skipped", None)

    cli("export", "gold-browser")
    rows = exported("gold-browser")
    assert {t: (r["status"], r["code"]) for t, r in rows.items()} == expected
    # The pre-selected suggestion stays in the result; the taxonomy's code wins.
    assert rows[taxonomy_task]["suggested_code"] == top1 != target
    assert rows[taxonomy_task]["taxonomy_code"] == target
    assert {r["annotator"] for r in rows.values()} == {str(expert_id)}

    # -- transition: scope and a candidate; none of these plus a searched code ---------
    task_id = open_stream(page, label_studio.url, transition_project)
    data = transition_tasks[task_id]["data"]
    context_line = (
        f"{FRENCH.context_labels['cj']} : {CJ} ({CJ_TITLE}) | "
        f"{FRENCH.context_labels['activ_nat_et']} : {NATURE} ({NATURE_TITLE})"
    )
    assert data["context_display"] == context_line  # what a gold task shows
    page.get_by_text(context_line, exact=True).wait_for()
    page.get_by_text(data["old_code_display"], exact=True).wait_for()
    page.get_by_text(FRENCH.scope_question, exact=True).wait_for()
    for code in candidates:  # each candidate with its title and its note beside it
        option = choice(page, code)
        assert new.title(code) in option.inner_text()
        assert option.get_by_text(note_of(code)).is_visible()
    choice(page, FRENCH.in_scope).click()
    picked = candidates[-1]
    choice(page, picked).click()
    shot(page, "transition-1-candidate")
    submit(page, expert, task_id)
    expected = {task_id: ("coded", picked)}
    candidate_task = task_id

    task_id = shown_task(page, previous=task_id)
    choice(page, FRENCH.out_of_scope).click()
    choice(page, FRENCH.none_of_these).click()
    box = search_and_pick(page, OUTSIDE_CODE, f"{OUTSIDE_CODE} - {new.title(OUTSIDE_CODE)}")
    assert box["width"] >= 400
    shot(page, "transition-2-none-of-these")
    submit(page, expert, task_id)
    expected[task_id] = ("coded", OUTSIDE_CODE)

    cli("export", "naf2025-browser")
    rows = exported("naf2025-browser")
    assert {t: (r["status"], r["code"]) for t, r in rows.items()} == expected
    assert rows[candidate_task]["in_candidates"] is True
    assert rows[candidate_task]["out_of_scope"] is False
    assert rows[task_id]["in_candidates"] is False and rows[task_id]["out_of_scope"] is True
