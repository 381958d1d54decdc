"""The packaged tables are exactly the ones PROVENANCE.md describes (checksums, row counts).

An edited or re-exported file changes its sha256: this test then says which file and asks
for PROVENANCE.md (and the counts in nace_mapping/builtin.py) to be updated with it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from importlib import resources

import pytest

from nace_mapping.builtin import (
    ACTIVITY_NATURES,
    CORRESPONDENCE,
    LEGAL_CATEGORIES,
    NAF2008_LEVEL_ROWS,
    NOMENCLATURES,
    data_file,
)

ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| (?P<rows>\d+) \| (?P<sha256>[0-9a-f]{64}) \|$")


def provenance() -> dict[str, tuple[int, str]]:
    text = data_file("PROVENANCE.md").read_text(encoding="utf-8")
    rows = (ROW.match(line) for line in text.splitlines())
    return {m["file"]: (int(m["rows"]), m["sha256"]) for m in rows if m}


def data_rows(filename: str) -> int:
    raw = data_file(filename).read_bytes()
    if filename.endswith(".json"):
        return len(json.loads(raw))
    text = raw.decode("utf-8") if filename.startswith("naf") else raw.decode("cp1252")
    return sum(1 for _ in csv.reader(io.StringIO(text))) - 1


PACKAGED = [
    *(table.filename for table in NOMENCLATURES.values()),
    NAF2008_LEVEL_ROWS.filename,
    CORRESPONDENCE.filename,
    LEGAL_CATEGORIES.filename,
    ACTIVITY_NATURES.filename,
]


def test_provenance_lists_exactly_the_packaged_tables():
    listed = set(provenance())
    shipped = {
        entry.name
        for entry in resources.files("nace_mapping").joinpath("data").iterdir()
        if entry.name.endswith((".csv", ".json"))
    }
    assert listed == shipped == set(PACKAGED)


@pytest.mark.parametrize("filename", PACKAGED)
def test_checksum_and_row_count_match_provenance(filename: str):
    rows, sha256 = provenance()[filename]
    actual = hashlib.sha256(data_file(filename).read_bytes()).hexdigest()
    assert actual == sha256, f"{filename} changed: update PROVENANCE.md (sha256 {actual})"
    assert data_rows(filename) == rows


def test_the_data_readme_names_every_table():
    readme = data_file("README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in PACKAGED)
    assert "sample" not in readme.lower()
