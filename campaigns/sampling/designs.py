"""Probability samples of the traffic, drawn inside DuckDB: simple random or stratified.

Reproducible on any machine: units are ranked by ``mix64(request_hash XOR c(seed))``, where
``request_hash`` is the md5 of the request id stored at ingest (its lower 64 bits), ``c(seed)``
a 64-bit constant drawn from the seed and ``mix64`` the splitmix64 finaliser (two
xorshift-multiply rounds and a last xorshift, arithmetic modulo 2^64). Traffic without the
stored hash gets the same key from ``md5_number_lower(request_id)``, so both paths draw the same
units. The key is a permutation that depends on nothing but the seed and the ids (not on file
order, thread count or DuckDB version). Within each stratum the first ``n_h`` units of that
permutation are a simple random sample without replacement, so a unit's inclusion
probability is ``n_h / N_h`` and its design weight ``N_h / n_h``; a simple random sample is
the one-stratum case.

Why the mixer: ranking by ``request_hash XOR c`` alone is a bijection of uniform keys, so each
sample on its own is a valid simple random sample, but XOR with a constant only flips fixed
bits: the order is decided by the hash's high bits, and two seeds whose constants share their
top bits rank the traffic almost alike (over 300 seeds, 154 of 44,850 pairs of 400-unit
samples from 150,000 shared half their units or more; seeds 1 to 4 gave four samples of 1,500
from 30,000 with no unit in common, where independent draws share about 75). ``mix64``
spreads every input bit over every output bit, so the orders of two seeds are unrelated: the
overlap of two samples follows its hypergeometric law (mean ``n^2 / N``). DuckDB refuses to
wrap UBIGINT products (an overflow error), so each multiplication is done in UHUGEINT and
masked back to 64 bits; that costs about 0.1 s per 10 million rows on two threads
(0.12 s of CPU, against 0.01 s for the XOR alone; a draw from 10 million rows takes 1.3-2 s).

One pass over the window does it all: a grouped ``min_by(row, key, n)`` keeps, per stratum, the
``n`` rows with the smallest keys (a small heap) and counts the stratum; the allocation is then
computed from the counts and each heap is cut to its stratum's size. Nothing but the drawn rows
ever reaches Python.

Duplicate texts (same normalised text in several requests) are a documented choice:

- ``requests`` (default): the unit is the request. Estimates are for the traffic as served;
  two requests with the same text may both be drawn (and are both annotated).
- ``distinct``: the unit is the distinct normalised text, drawn at most once, with its own
  random key ``md5(seed:text:text_norm)`` (not the min over its requests, which would favour
  frequent texts). Its weight is multiplied by its number of occurrences, so weighted estimates
  still describe the traffic while no text is annotated twice.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from campaigns.duck import fetch_arrow
from campaigns.errors import EmptySelectionError, InvalidArgumentError
from campaigns.sampling.allocation import Allocation, allocate
from campaigns.sampling.options import Duplicates


@dataclass(frozen=True)
class Design:
    """A sampling design: strata, allocation and the duplicate-text policy.

    ``confidence_edges`` are the inner cut points of the confidence-index bins (``(0.5, 0.8)``
    gives ``[0,0.5)``, ``[0.5,0.8)``, ``[0.8,1]``); ``by_section`` stratifies by the predicted
    code's NACE section; both together cross them. No strata at all is simple random sampling.
    ``prior_accuracy`` (one value, or one per confidence bin) feeds Neyman allocation and the
    sample-size planner. The frame is the whole window (earlier gold labels are reused, see
    :mod:`campaigns.sampling.reuse`); ``exclude_previous`` leaves earlier campaigns' units out
    instead, the old behaviour, which biases the frame toward rarer texts.
    """

    confidence_edges: tuple[float, ...] = ()
    by_section: bool = False
    allocation: Allocation = Allocation.PROPORTIONAL
    minimum: int = 2
    fixed: tuple[tuple[str, int], ...] = ()
    prior_accuracy: tuple[float, ...] = ()
    duplicates: Duplicates = Duplicates.REQUESTS
    exclude_previous: bool = False

    def __post_init__(self) -> None:
        edges = self.confidence_edges
        if any(not 0 < e < 1 for e in edges) or list(edges) != sorted(set(edges)):
            raise InvalidArgumentError(
                f"Confidence edges {list(edges)} are not increasing cut points inside (0, 1).",
                "Example: --confidence-edges 0.3,0.6,0.8 gives four bins.",
            )
        if self.minimum < 0:
            raise InvalidArgumentError("The minimum per stratum cannot be negative.")
        if any(not 0 <= p <= 1 for p in self.prior_accuracy):
            raise InvalidArgumentError("A prior accuracy is a proportion between 0 and 1.")
        if len(self.prior_accuracy) not in (0, 1, len(self.confidence_bins)):
            raise InvalidArgumentError(
                f"{len(self.prior_accuracy)} prior accuracies for "
                f"{len(self.confidence_bins)} confidence bins.",
                "Give one value for every bin, or a single value for all.",
            )

    @property
    def stratified(self) -> bool:
        return bool(self.confidence_edges) or self.by_section

    @property
    def name(self) -> str:
        return "stratified" if self.stratified else "srs"

    @property
    def confidence_bins(self) -> list[tuple[float, float]]:
        cuts = [0.0, *self.confidence_edges, 1.0]
        return list(itertools.pairwise(cuts))

    @property
    def confidence_labels(self) -> list[str]:
        bins = self.confidence_bins
        return [
            f"conf[{lo:.2f},{hi:.2f}{']' if i == len(bins) - 1 else ')'}"
            for i, (lo, hi) in enumerate(bins)
        ]

    def params(self) -> dict[str, Any]:
        """The design as JSON-able data (stored with the sample, part of its id).

        ``exclude_previous: false`` is written, its absence means the exclusion: samples
        stored before the whole window became the default have no key and did exclude, and
        keep their ids (see :meth:`from_params`).
        """
        out: dict[str, Any] = {"duplicates": str(self.duplicates)}
        if not self.exclude_previous:
            out["exclude_previous"] = False
        if self.stratified:
            out |= {
                "confidence_edges": list(self.confidence_edges),
                "by_section": self.by_section,
                "allocation": str(self.allocation),
                "minimum": self.minimum,
            }
            if self.fixed:
                out["fixed"] = dict(self.fixed)
            if self.prior_accuracy:
                out["prior_accuracy"] = list(self.prior_accuracy)
        return out

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Design:
        return cls(
            confidence_edges=tuple(params.get("confidence_edges", ())),
            by_section=bool(params.get("by_section", False)),
            allocation=Allocation(params.get("allocation", "proportional")),
            minimum=int(params.get("minimum", 2)),
            fixed=tuple(sorted(params.get("fixed", {}).items())),
            prior_accuracy=tuple(params.get("prior_accuracy", ())),
            duplicates=Duplicates(params.get("duplicates", "requests")),
            exclude_previous=bool(params.get("exclude_previous", True)),
        )

    def stratum_sql(self, confidence: str = "confidence", section: str = "section") -> str:
        """SQL giving a row's stratum label from its confidence and section expressions."""
        parts = []
        if self.by_section:
            parts.append(f"coalesce({section}, '?')")
        if self.confidence_edges:
            labels = self.confidence_labels
            whens = " ".join(
                f"WHEN {confidence} < {hi!r} THEN '{label}'"
                for (_, hi), label in zip(self.confidence_bins[:-1], labels[:-1], strict=True)
            )
            parts.append(f"CASE {whens} ELSE '{labels[-1]}' END")
        return " || ' x ' || ".join(parts) if parts else "'all'"

    def prior_for(self, strata: list[str], default: float = 0.5) -> dict[str, float]:
        """Prior accuracy per stratum (by its confidence bin); ``default`` when none given."""
        priors = list(self.prior_accuracy) or [default]
        labels = self.confidence_labels
        if len(priors) == 1:
            priors = priors * len(labels)
        out = {}
        for stratum in strata:
            found = [q for lab, q in zip(labels, priors, strict=True) if lab in stratum]
            out[stratum] = found[0] if found else priors[0]
        return out

    def strata_above(self, strata: list[str], threshold: float) -> set[str]:
        """The strata whose confidence bin starts at or above ``threshold`` (a bin edge)."""
        starts = [lo for lo, _ in self.confidence_bins]
        if not self.confidence_edges or threshold not in starts:
            raise InvalidArgumentError(
                f"The threshold {threshold} is not an edge of the confidence bins.",
                f"Add it to --confidence-edges (now {list(self.confidence_edges)}), so the "
                "automatically coded part is a union of strata.",
            )
        labels = [
            lab for lab, lo in zip(self.confidence_labels, starts, strict=True) if lo >= threshold
        ]
        return {h for h in strata if any(lab in h for lab in labels)}

    def prior_sd(self, strata: list[str]) -> dict[str, float] | None:
        """Prior standard deviation of correctness per stratum, sqrt(p(1-p))."""
        if not self.prior_accuracy:
            return None
        return {h: math.sqrt(p * (1 - p)) for h, p in self.prior_for(strata).items()}


RowFetcher = Callable[[str, pa.Array], pa.Table]


@dataclass(frozen=True)
class SampleResult:
    table: pa.Table
    population_size: int
    sample_size: int
    strata: pa.Table = field(default_factory=lambda: pa.table({}))


_MASK64 = (1 << 64) - 1
# splitmix64's finaliser (Steele, Lea & Flood 2014; Stafford's "Mix13" constants): two rounds
# of xorshift then multiply, and a last xorshift.
_MIX_ROUNDS = ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB))
_MIX_LAST_SHIFT = 31


def seed_constant(seed: int) -> int:
    """A 64-bit constant drawn from the seed (md5), XORed with each unit's stored hash."""
    return int.from_bytes(hashlib.md5(f"campaigns-seed:{int(seed)}".encode()).digest()[:8], "big")


def mix64(value: int) -> int:
    """splitmix64's finaliser in Python: the reference the SQL of :func:`hashed_key_sql` follows.

    A bijection of 64-bit integers where every input bit flips each output bit with
    probability about 1/2, so the keys of the same hashes under two seeds are unrelated.
    """
    z = value & _MASK64
    for shift, multiplier in _MIX_ROUNDS:
        z = ((z ^ (z >> shift)) * multiplier) & _MASK64
    return z ^ (z >> _MIX_LAST_SHIFT)


def unit_key(request_hash: int, seed: int) -> int:
    """A unit's rank in the seed's permutation: ``mix64(request_hash XOR c(seed))``."""
    return mix64(request_hash ^ seed_constant(seed))


def _mix64_sql(z: str) -> str:
    """SQL of :func:`mix64` over a UBIGINT expression.

    DuckDB raises an overflow error when a UBIGINT product exceeds 64 bits instead of wrapping,
    so each product is computed in UHUGEINT (exact below 2^128) and masked to its low 64 bits.
    """
    for shift, multiplier in _MIX_ROUNDS:
        z = (
            f"((xor({z}, {z} >> {shift})::UHUGEINT * {multiplier}::UHUGEINT)"
            f" & {_MASK64}::UHUGEINT)::UBIGINT"
        )
    return f"xor({z}, {z} >> {_MIX_LAST_SHIFT})"


def hashed_key_sql(seed: int, column: str = "w.request_hash") -> str:
    """Rank by ``mix64(column XOR c(seed))`` (:func:`unit_key`), ``column`` a UBIGINT hash.

    The hash is uniform and both steps are bijections of 64-bit values, so the keys are uniform
    and distinct and the first ``n`` units a simple random sample. XOR alone flips the same bits
    of every hash, which keeps the orders of two seeds related; the mixer makes them independent.
    """
    return _mix64_sql(f"xor({column}, {seed_constant(seed)}::UBIGINT)")


def random_key_sql(seed: int, column: str = "request_id", salt: str = "") -> str:
    """The SQL expression ranking units in the seed's random permutation."""
    return f"md5_number('{int(seed)}:{salt}' || {column})"


def _units_sql(
    view: str, design: Design, seed: int, exclusions: bool, sections: bool, hashed: bool
) -> str:
    """The light sampling frame: ``unit, stratum, occurrences, _key`` per unit.

    Only the columns the strata need are read here; the drawn rows' other columns are fetched
    afterwards for those rows alone.
    """
    joins = ""
    if sections:
        joins += " LEFT JOIN _sections s ON s.division = left(w.predicted_code, 2)"
    if exclusions:
        joins += (
            " ANTI JOIN _excluded_ids x ON x.request_id = w.request_id"
            " ANTI JOIN _excluded_texts t ON t.text_norm = w.text_norm"
        )
    section = "s.section" if sections else "NULL::VARCHAR"
    if design.duplicates is Duplicates.DISTINCT:
        return f"""
            WITH texts AS (
                SELECT w.text_norm, count(*)::BIGINT AS occurrences,
                       min_by(struct_pack(w.request_id, w.confidence, _section := {section}),
                              {random_key_sql(seed, "w.request_id")}) AS r
                FROM {view} w{joins} GROUP BY w.text_norm)
            SELECT r.request_id AS unit,
                   {design.stratum_sql("r.confidence", "r._section")} AS stratum,
                   occurrences,
                   {random_key_sql(seed, "text_norm", "text:")} AS _key
            FROM texts"""
    unit = "w.request_hash" if hashed else "w.request_id"
    # Without the stored hash, the same key from the hash ingest would have stored: the sample
    # does not depend on whether the traffic carries the column.
    column = "w.request_hash" if hashed else "md5_number_lower(w.request_id)"
    key = hashed_key_sql(seed, column)
    return f"""
        SELECT {unit} AS unit, {design.stratum_sql("w.confidence", section)} AS stratum,
               1::BIGINT AS occurrences, {key} AS _key
        FROM {view} w{joins}"""


def prepare_units(
    con: duckdb.DuckDBPyConnection,
    view: str,
    design: Design,
    *,
    seed: int = 0,
    sections: pa.Table | None = None,
    excluded: pa.Table | None = None,
    use_hash: bool = True,
) -> str:
    """Create view ``units`` (the sampling frame: unit, stratum, occurrences, random key).

    Returns the column of ``view`` that ``unit`` holds (``request_hash`` or ``request_id``).

    ``sections`` maps ``division`` to ``section`` (needed when stratifying by section);
    ``excluded`` lists ``request_id`` and ``text_norm`` of units that must not be drawn again.
    """
    if design.by_section and sections is None:
        raise InvalidArgumentError("Stratifying by section needs the nomenclature's sections.")
    if design.by_section:
        con.register("_sections", sections)
    use_exclusions = excluded is not None and excluded.num_rows > 0
    if use_exclusions:
        con.register("_excluded_all", excluded)
        con.execute(
            "CREATE OR REPLACE TEMP VIEW _excluded_ids AS "
            "SELECT DISTINCT request_id FROM _excluded_all WHERE request_id IS NOT NULL"
        )
        texts = (
            "SELECT DISTINCT text_norm FROM _excluded_all WHERE text_norm IS NOT NULL"
            if "text_norm" in excluded.column_names
            else "SELECT NULL::VARCHAR AS text_norm WHERE false"
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW _excluded_texts AS {texts}")
    hashed = use_hash and _has_hash_column(con, view) and design.duplicates is Duplicates.REQUESTS
    con.execute(
        "CREATE OR REPLACE TEMP VIEW units AS "
        + _units_sql(view, design, seed, use_exclusions, design.by_section, hashed)
    )
    return "request_hash" if hashed else "request_id"


def _has_hash_column(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    return "request_hash" in {row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()}


def stratum_counts(con: duckdb.DuckDBPyConnection, units: str = "units") -> dict[str, int]:
    rows = con.execute(f"SELECT stratum, count(*) FROM {units} GROUP BY 1 ORDER BY 1").fetchall()
    return {str(h): int(size) for h, size in rows}


def draw_sample_from(
    con: duckdb.DuckDBPyConnection,
    view: str,
    design: Design,
    *,
    n: int,
    seed: int,
    sections: pa.Table | None = None,
    excluded: pa.Table | None = None,
    fetch_rows: RowFetcher | None = None,
) -> SampleResult:
    """Draw ``design`` with ``n`` units (in all) from the rows of ``view``.

    See :func:`prepare_units` for ``sections`` and ``excluded``. ``fetch_rows(column, values)``,
    if given, returns the rows of the view whose ``column`` is in ``values``: the traffic
    module gives one for S3, where a filtered Arrow scan beats DuckDB's join over an Arrow
    dataset (which buffers every column of the window).
    """
    if n <= 0:
        raise InvalidArgumentError("The sample size must be positive.")
    heap = max([n, *(size for _, size in design.fixed)])
    for use_hash in (True, False):
        unit_column = prepare_units(
            con, view, design, seed=seed, sections=sections, excluded=excluded, use_hash=use_hash
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _heaps AS
                SELECT stratum, count(*)::BIGINT AS population,
                       sum(occurrences)::BIGINT AS requests,
                       count(*) FILTER (WHERE _key IS NULL) AS unkeyed,
                       min_by(struct_pack(unit, occurrences, _key), _key, {heap}) AS drawn
                FROM units u GROUP BY stratum"""
        )
        # Rows without a stored hash (traffic ingested by an older version) would have no
        # chance of being drawn: rank everything by md5(seed:request_id) instead.
        if con.execute("SELECT coalesce(sum(unkeyed), 0) FROM _heaps").fetchall()[0][0] == 0:
            break
    counts = con.execute("SELECT stratum, population FROM _heaps ORDER BY stratum").fetchall()
    populations = {str(h): int(size) for h, size in counts}
    if not populations:
        raise EmptySelectionError(
            "Nothing left to sample: every unit of the window is excluded.",
            "Widen the window, or drop --exclude-previous to sample earlier units again.",
        )
    sizes = allocate(
        populations,
        n,
        design.allocation if design.stratified else Allocation.PROPORTIONAL,
        minimum=design.minimum if design.stratified else 0,
        fixed=dict(design.fixed) if design.fixed else None,
        sd=design.prior_sd(list(populations)),
    )
    con.register("_alloc", pa.table({"stratum": list(sizes), "sample_size": list(sizes.values())}))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _drawn AS
           SELECT stratum, row.unit, row.occurrences, row._key,
                  sample_size::DOUBLE / population AS inclusion_prob,
                  row.occurrences * population::DOUBLE / sample_size AS weight,
                  population AS stratum_population,
                  sample_size::BIGINT AS stratum_sample_size
           FROM (SELECT stratum, h.population, a.sample_size,
                        unnest(h.drawn[1:a.sample_size]) AS row
                 FROM _heaps h JOIN _alloc a USING (stratum)
                 WHERE a.sample_size > 0)"""
    )
    picked = f"SELECT * FROM {view} WHERE {unit_column} IN (SELECT unit FROM _drawn)"
    if fetch_rows is not None:
        units = fetch_arrow(con, "SELECT unit FROM _drawn").column("unit").combine_chunks()
        con.register("_picked", fetch_rows(unit_column, units))
        picked = "SELECT * FROM _picked"
    table = fetch_arrow(
        con,
        # IN (subquery): the drawn units are the hash-join build side; on local Parquet DuckDB
        # then decodes the other columns of the matching rows only.
        f"""WITH picked AS ({picked})
            SELECT w.*, d.* EXCLUDE (unit, _key)
            FROM picked w JOIN _drawn d ON w.{unit_column} = d.unit
            QUALIFY row_number() OVER (PARTITION BY d.unit ORDER BY w.request_id) = 1
            ORDER BY d.stratum, d._key, w.request_id""",
    )
    strata = fetch_arrow(
        con,
        """SELECT h.stratum, h.population, h.requests, coalesce(a.sample_size, 0) AS sample_size,
                  coalesce(a.sample_size, 0)::DOUBLE / h.population AS inclusion_prob
           FROM _heaps h LEFT JOIN _alloc a USING (stratum) ORDER BY h.stratum""",
    )
    return SampleResult(
        table=table,
        population_size=sum(populations.values()),
        sample_size=table.num_rows,
        strata=strata,
    )


def draw_simple_random_sample(
    con: duckdb.DuckDBPyConnection, view: str, *, n: int, seed: int
) -> SampleResult:
    """Simple random sample without replacement of ``n`` rows of ``view``.

    If the view holds fewer than ``n`` rows, all of them are taken (inclusion probability 1).
    """
    return draw_sample_from(con, view, Design(), n=n, seed=seed)
