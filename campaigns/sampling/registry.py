"""Drawing a sample of a traffic window and recording it (Parquet + database row)."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session, select

from campaigns.config import get_settings
from campaigns.duck import connect
from campaigns.gold.reused import PROVENANCE, REUSED
from campaigns.gold.store import earlier_gold
from campaigns.sampling.designs import Design, draw_sample_from, prepare_units, stratum_counts
from campaigns.sampling.planning import Plan, plan_sample_size
from campaigns.sampling.reuse import frame_table, mark_reused
from campaigns.state.models import Campaign, Sample
from campaigns.storage import Storage, sample_key
from campaigns.traffic.window import (
    Window,
    sampling_source,
    window_relation,
    window_rows_fetcher,
)


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


def previous_units(session: Session, storage: Storage) -> pa.Table:
    """``request_id`` and ``text_norm`` of every unit of every campaign so far."""
    parts = []
    # Team campaigns share their campaign's sample: read each sample once, two columns only.
    for sample_id in sorted({c.sample_id for c in session.exec(select(Campaign)).all()}):
        path = sample_key(sample_id)
        if storage.exists(path):
            names = storage.read_schema(path).names
            columns = [c for c in ("request_id", "text_norm") if c in names]
            parts.append(storage.read_table(path, columns=columns))
    if not parts:
        return pa.table({"request_id": pa.array([], pa.string())})
    return pa.concat_tables(parts, promote_options="default")


def draw_sample(
    session: Session,
    storage: Storage,
    window: Window,
    *,
    size: int,
    seed: int,
    design: Design | None = None,
    sections: pa.Table | None = None,
    check_share: float | None = None,
) -> Sample:
    """Draw ``design`` (default: simple random) from the window; store and record it.

    The frame is the whole window: a drawn unit whose normalised text and context already have
    one unanimous gold label reuses it, but for a seeded ``check_share`` of them (default: the
    ``reuse_check_share`` setting) sent to experts to measure reuse
    (``campaigns.sampling.reuse``). A design with ``exclude_previous`` leaves out the
    units of earlier campaigns (same request id or same normalised text) instead, and the share
    of the window so removed is stored beside the sample (:func:`load_frame`). Drawing the
    same window, design and seed again is a no-op.
    """
    design = design or Design()
    params: dict[str, object] = {"size": size, **design.params()}
    sample_id = sample_id_for(window, design.name, params, seed)
    existing = session.get(Sample, sample_id)
    if existing is not None and storage.exists(sample_key(sample_id)):
        return existing
    # On S3 the window is read from a temporary local copy (see ``sampling_source``).
    with connect() as con, sampling_source(storage, window) as source:
        view = window_relation(con, source, window)
        excluded = previous_units(session, storage) if design.exclude_previous else None
        result = draw_sample_from(
            con,
            view.name,
            design,
            n=size,
            seed=seed,
            sections=sections,
            excluded=excluded,
            fetch_rows=window_rows_fetcher(source, window),
        )
        table = result.table.append_column("sample_id", [[sample_id] * result.table.num_rows])
        if not design.exclude_previous and "text_norm" in table.column_names:
            share = get_settings().reuse_check_share if check_share is None else check_share
            table = mark_reused(table, earlier_gold(session, storage), seed=seed, check_share=share)
        reused = (
            int(pc.sum(pc.equal(table.column(PROVENANCE), REUSED)).as_py() or 0)
            if PROVENANCE in table.column_names
            else 0
        )
        frame = frame_table(
            window_requests=view.rows,
            frame_requests=int(pc.sum(result.strata.column("requests")).as_py() or 0),
            reused_units=reused,
            sample_units=table.num_rows,
        )
        uri = storage.write_table(table, sample_key(sample_id))
        storage.write_table(result.strata, sample_key(sample_id, ".strata"))
        storage.write_table(frame, sample_key(sample_id, ".frame"))
        sample = existing or Sample(
            id=sample_id,
            window_start=window.start,
            window_end=window.end,
            design=design.name,
            design_params=json.dumps(params),
            seed=seed,
            population_size=result.population_size,
            sample_size=result.sample_size,
            uri=uri,
        )
        try:
            session.add(sample)
            session.commit()
        except Exception:  # the row is not recorded: leave no unreferenced files behind
            session.rollback()
            if existing is None:
                storage.delete(sample_key(sample_id))
                storage.delete(sample_key(sample_id, ".strata"))
                storage.delete(sample_key(sample_id, ".frame"))
            raise
        session.refresh(sample)
        return sample


def load_strata(storage: Storage, sample: Sample) -> pa.Table:
    """Per stratum: population, requests, sample size and inclusion probability."""
    return storage.read_table(sample_key(sample.id, ".strata"))


def load_frame(storage: Storage, sample: Sample) -> dict[str, float | int] | None:
    """What the sample's frame kept of its window (None for samples drawn before it was kept)."""
    path = sample_key(sample.id, ".frame")
    if not storage.exists(path):
        return None
    return storage.read_table(path).to_pylist()[0]


def load_sample_table(storage: Storage, sample: Sample) -> pa.Table:
    return storage.read_table(sample_key(sample.id))


def plan_for_window(
    session: Session,
    storage: Storage,
    window: Window,
    design: Design,
    *,
    margin: float,
    auto_coded_above: float | None = None,
    sections: pa.Table | None = None,
) -> Plan:
    """Sample size per stratum for ``design`` on this window's traffic (see ``planning``).

    With ``auto_coded_above``, the margin applies to the error rate of the automatically coded
    part (strata whose confidence bin starts at or above that threshold).
    """
    with connect() as con:
        view = window_relation(con, storage, window)
        excluded = previous_units(session, storage) if design.exclude_previous else None
        prepare_units(con, view.name, design, sections=sections, excluded=excluded)
        populations = stratum_counts(con)
        domain = None
        if auto_coded_above is not None:
            domain = design.strata_above(list(populations), auto_coded_above)
        return plan_sample_size(
            populations,
            design.prior_for(list(populations)),
            margin,
            allocation=design.allocation if design.stratified else "proportional",
            minimum=design.minimum if design.stratified else 0,
            domain=domain,
        )
