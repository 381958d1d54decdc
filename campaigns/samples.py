"""Drawing a sample of a traffic window and recording it (Parquet + database row)."""

from __future__ import annotations

import hashlib
import json

from sqlmodel import Session

from campaigns.duck import connect
from campaigns.models import Sample
from campaigns.sampling import draw_simple_random_sample
from campaigns.storage import Storage
from campaigns.traffic import Window, window_relation

SAMPLES_DIR = "samples"


def sample_id_for(window: Window, design: str, params: dict[str, object], seed: int) -> str:
    """Same window, design and seed -> same id (drawing again is a no-op)."""
    key = json.dumps(
        {
            "start": str(window.start),
            "end": str(window.end),
            "design": design,
            "params": params,
            "seed": seed,
        },
        sort_keys=True,
    )
    return (
        f"{design}-{window.start:%Y%m%d}-{window.end:%Y%m%d}-"
        + hashlib.sha1(key.encode()).hexdigest()[:8]
    )


def draw_sample(
    session: Session, storage: Storage, window: Window, *, size: int, seed: int
) -> Sample:
    params: dict[str, object] = {"size": size}
    sample_id = sample_id_for(window, "srs", params, seed)
    existing = session.get(Sample, sample_id)
    if existing is not None and storage.exists(f"{SAMPLES_DIR}/{sample_id}.parquet"):
        return existing
    con = connect()
    window_relation(con, storage, window)
    result = draw_simple_random_sample(con, "window_traffic", n=size, seed=seed)
    table = result.table.append_column("sample_id", [[sample_id] * result.table.num_rows])
    uri = storage.write_table(table, f"{SAMPLES_DIR}/{sample_id}.parquet")
    sample = existing or Sample(
        id=sample_id,
        window_start=window.start,
        window_end=window.end,
        design="srs",
        design_params=json.dumps(params),
        seed=seed,
        population_size=result.population_size,
        sample_size=result.sample_size,
        uri=uri,
    )
    session.add(sample)
    session.commit()
    session.refresh(sample)
    return sample


def load_sample_table(storage: Storage, sample: Sample):  # -> pa.Table
    return storage.read_table(f"{SAMPLES_DIR}/{sample.id}.parquet")
