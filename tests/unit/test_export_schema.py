"""An incremental export reads the rows of an earlier export in today's columns."""

from __future__ import annotations

import pyarrow as pa

from campaigns.lifecycle.export import _as_schema, _outside_units


def test_rows_of_an_earlier_export_get_the_columns_added_since_as_nulls():
    # A transition export made before `invalid_reason` existed.
    kept = pa.table({"task_id": pa.array([1, 2], pa.int32()), "code": ["0111Y", None]})
    today = pa.schema(
        [("task_id", pa.int64()), ("code", pa.string()), ("invalid_reason", pa.string())]
    )
    rows = _as_schema(kept, today)
    assert rows.schema == today
    assert rows.to_pylist() == [
        {"task_id": 1, "code": "0111Y", "invalid_reason": None},
        {"task_id": 2, "code": None, "invalid_reason": None},
    ]
    fresh = pa.table(
        {"task_id": [3], "code": ["0112Y"], "invalid_reason": ["plutôt 0113Y"]}, schema=today
    )
    assert pa.concat_tables([rows, fresh]).num_rows == 3


def test_annotated_tasks_outside_the_sample_are_counted_once():
    annotations = pa.table({"request_id": ["a", "a", "b", "z", None, "z"]})
    sample = pa.table({"request_id": ["a", "b", "c"]})
    assert _outside_units(annotations, sample) == 1
    assert _outside_units(annotations.slice(0, 0), sample) == 0
