"""SQL meets user input only quoted: hostile paths and column names are just names."""

from __future__ import annotations

import pyarrow as pa

from campaigns.lifecycle.transition import _with_request_ids


def test_traffic_generate_with_a_hostile_path_writes_that_file_only(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hostile = "x.jsonl' (FORMAT JSON); COPY (SELECT 'injected') TO 'injected.csv' (FORMAT CSV); --"
    cli("traffic", "generate", hostile, "--lines", "20")
    assert (tmp_path / hostile).is_file()
    assert not (tmp_path / "injected.csv").exists()
    apostrophe = tmp_path / "l'ete.jsonl"
    cli("traffic", "generate", str(apostrophe), "--lines", "20")
    assert len(apostrophe.read_text().splitlines()) == 20


def test_column_names_with_quotes_are_identifiers_not_sql():
    table = pa.table({'te"xt': ["boulangerie"], "co de": ["10.71C"], "other": [1]})
    rows = _with_request_ids(table, 'te"xt', "co de")
    assert rows.column("text").to_pylist() == ["boulangerie"]
    assert rows.column("code").to_pylist() == ["10.71C"]
    assert rows.column("other").to_pylist() == [1]
