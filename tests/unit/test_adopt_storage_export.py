"""Exports from Label Studio's export storage: incremental by ETag, never 0 rows silently."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pytest

from campaigns.errors import EmptySelectionError, InputFormatError, InvalidArgumentError
from campaigns.gold.store import latest_annotations, latest_gold
from campaigns.labelstudio.kinds import kit_for
from campaigns.lifecycle.storage_export import (
    CURSOR_FILE,
    StorageSource,
    StoredObject,
    export_from_storage,
    parse_source,
)
from campaigns.state import crud
from campaigns.state.models import CampaignCreate, CampaignKind
from campaigns.storage import Storage

PREFIX = "s3://ls-exports/ann"


class MemoryStore:
    """An export storage in memory: keys, bodies, ETags as S3 computes them (MD5)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.reads: list[str] = []

    def put(self, key: str, body: dict | bytes) -> None:
        self.objects[key] = body if isinstance(body, bytes) else json.dumps(body).encode()

    def list_objects(self, source: StorageSource) -> list[StoredObject]:
        return [
            StoredObject(k, hashlib.md5(v).hexdigest(), "2026-10-01T00:00:00+00:00", len(v))
            for k, v in sorted(self.objects.items())
            if k.startswith(source.list_prefix)
        ]

    def read_object(self, source: StorageSource, key: str) -> bytes:
        self.reads.append(key)
        return self.objects[key]


def annotation(aid: int, task: int, code: str | None, *, who: int = 1, project: int = 7) -> dict:
    """One object as Label Studio 1.23's target storage writes it."""
    result = (
        [{"from_name": "taxonomy", "to_name": "text", "type": "taxonomy",
          "value": {"taxonomy": [["G", "47", code]]}}]
        if code else []
    )  # fmt: skip
    return {
        "id": aid,
        "result": result,
        "completed_by": {"id": who, "email": f"e{who}@x.org", "first_name": ""},
        "was_cancelled": code is None,
        "lead_time": 3.5,
        "created_at": f"2026-10-01T00:00:0{aid % 10}Z",
        "updated_at": f"2026-10-01T00:00:0{aid % 10}Z",
        "project": project,
        "task": {"id": task, "data": {"request_id": f"r{task}", "text": "X"}, "project": project},
    }


@pytest.fixture
def setup(state_session, state_settings):
    storage = Storage.open(state_settings.storage_root)
    storage.write_table(
        pa.table({"request_id": [f"r{i}" for i in range(1, 6)], "weight": [1.0] * 5}),
        "samples/s1.parquet",
    )
    campaign = crud.add_campaign(
        state_session, CampaignCreate(name="office", kind=CampaignKind.GOLD, sample_id="s1")
    )
    campaign.ls_project_id = 7
    campaign = crud.save(state_session, campaign)
    store = MemoryStore()

    def export(source: str = PREFIX, **options):
        summary = export_from_storage(
            state_session, storage, store, kit_for(campaign, state_settings), campaign, source,
            **options,
        )  # fmt: skip
        gold = {
            r["request_id"]: (r["status"], r["gold_code"])
            for r in latest_gold(storage, campaign).to_pylist()
        }
        return summary, gold

    export.store, export.storage, export.campaign = store, storage, campaign
    return export


def test_first_export_then_only_what_changed(setup):
    store = setup.store
    store.put("ann/1", annotation(1, 1, "47.24Z"))
    store.put("ann/2", annotation(2, 2, "47.11B"))
    store.put("ann/3", annotation(3, 3, None))  # skipped
    summary, gold = setup()
    assert (summary.objects_listed, summary.objects_read, summary.incremental) == (3, 3, False)
    assert gold == {"r1": ("coded", "47.24Z"), "r2": ("coded", "47.11B"), "r3": ("skipped", None)}
    folder = f"exports/campaign={setup.campaign.id}/version={summary.version}"
    assert setup.storage.exists(f"{folder}/{CURSOR_FILE}")
    # Nothing changed: nothing read, the same snapshot.
    store.reads.clear()
    summary, again = setup()
    assert (summary.objects_read, summary.incremental, store.reads) == (0, True, [])
    assert again == gold
    # An edit (new ETag), a deletion and a second expert on task 1.
    store.put("ann/2", annotation(2, 2, "47.24Z"))
    del store.objects["ann/3"]
    store.put("ann/4", annotation(4, 1, "47.24Z", who=2))
    store.reads.clear()
    summary, gold = setup()
    assert sorted(store.reads) == ["ann/2", "ann/4"]
    assert (summary.objects_read, summary.objects_removed, summary.tasks_read) == (2, 1, 2)
    assert gold == {"r1": ("coded", "47.24Z"), "r2": ("coded", "47.24Z")}
    annotations = latest_annotations(setup.storage, setup.campaign)
    assert sorted(annotations.column("annotation_id").to_pylist()) == [1, 2, 4]
    # The annotator reads as the API export gives it (the user id), whatever the source.
    assert sorted(set(annotations.column("annotator").to_pylist())) == ["1", "2"]
    # --full rereads everything and agrees with the incremental snapshot.
    store.reads.clear()
    summary, full = setup(full=True)
    assert len(store.reads) == 3 and full == gold and not summary.incremental


def test_an_empty_prefix_is_an_error_never_zero_rows(setup):
    with pytest.raises(EmptySelectionError) as err:
        setup()
    assert "trailing slash" in err.value.one_line()
    setup.store.put("ann/1", annotation(1, 1, "47.24Z"))
    setup()
    setup.store.objects.clear()
    with pytest.raises(EmptySelectionError, match="refusing to export every annotation"):
        setup()
    # A prefix that is only a longer key's start does not match: 'ann' is not 'annex'.
    setup.store.put("annex/1", annotation(1, 1, "47.24Z"))
    with pytest.raises(EmptySelectionError):
        setup("s3://ls-exports/ann", full=True)


def test_unreadable_objects_are_reported_and_alone_are_an_error(setup):
    store = setup.store
    store.put("ann/1", b"\x00\xff not json")
    store.put("ann/2", [1, 2])
    store.put("ann/3", {"id": 3, "result": []})  # no nested task
    store.put("ann/4", annotation(4, 4, "47.24Z", project=99))  # another project's
    with pytest.raises(InputFormatError, match="none an annotation of Label Studio project 7"):
        setup()
    store.put("ann/5", annotation(5, 5, "47.24Z"))
    summary, gold = setup()
    assert gold == {"r5": ("coded", "47.24Z")}
    assert summary.skipped == {
        "ann/1": "not JSON",
        "ann/2": "not a JSON object",
        "ann/3": "not a Label Studio annotation (no id, no nested task)",
        "ann/4": "an annotation of project 99, not 7",
    }
    # Known-bad objects are not reread, and still reported.
    store.reads.clear()
    summary, _ = setup()
    assert store.reads == [] and len(summary.skipped) == 4


def test_labelstudio_trailing_slash_keys_are_read(setup):
    setup.store.put("ann//1", annotation(1, 1, "47.24Z"))  # prefix "ann/" in Label Studio
    _, gold = setup("s3://ls-exports/ann/")
    assert gold == {"r1": ("coded", "47.24Z")}


def test_another_source_starts_a_full_read(setup):
    setup.store.put("ann/1", annotation(1, 1, "47.24Z"))
    setup.store.put("other/2", annotation(2, 2, "47.11B"))
    setup()
    summary, gold = setup("s3://ls-exports/other")
    assert not summary.incremental and gold == {"r2": ("coded", "47.11B")}


@pytest.mark.parametrize(
    "uri",
    ["ls-exports/ann", "s3:///ann", "https://ls-exports/ann", "s3://UPPER/ann",
     "s3://ls-exports/ann?x=1", "s3://ls-exports/a\x01nn"],
)  # fmt: skip
def test_sources_that_are_not_an_s3_prefix_are_refused(uri):
    with pytest.raises(InvalidArgumentError):
        parse_source(uri)


def test_sources_parse():
    assert parse_source("s3://ls-exports/ann/") == StorageSource("ls-exports", "ann")
    assert parse_source("s3://ls-exports").list_prefix == ""
    assert parse_source("s3://ls-exports/a/b").uri == "s3://ls-exports/a/b"
