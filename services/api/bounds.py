"""The bounds of every integer the API accepts, in one place.

Each integer a client sends, in a path, a query or a body, is one of these types. Python's
integers have no size, but what they reach does: SQLite and PostgreSQL hold 64 bits, numpy
and DuckDB 64, a seeded generator 32, and a window of 10**9 days leaves the calendar. A value
past its bound is answered 422 with the documented error body before any of them sees it,
never a 500 from deep inside. ``tests/unit/test_api_bounds.py`` walks the OpenAPI schema and
fails on any integer without a minimum and a maximum, so a new route cannot forget its bound.

The types carry only the bounds: a route wraps them in ``Query``/``Path``/``Field`` for its
default and description (``offset: Annotated[Offset, Query()] = 0``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

from campaigns.state.models import MAX_ID, MAX_SAMPLE_SIZE, MAX_SEED

MAX_PAGE = 500  # rows a listing returns at once
MAX_WINDOW_DAYS = 3660  # ten years: every window, and a baseline before it, stays in the calendar

# -- identifiers and paging: ids are database (and Label Studio) integers, 32-bit signed
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A campaign's or a Label Studio project's id."""
CampaignId = Annotated[Id, Path(description="The campaign's id.")]
"""The ``{campaign_id}`` of a route's path."""
Offset = Annotated[int, Field(ge=0, le=MAX_ID)]
"""Rows of a listing to skip."""
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE)]
"""Rows of a listing to return."""

# -- reproducibility
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
"""Seed of a random draw: the same inputs and seed give the same result."""

# -- sizes
SampleSize = Annotated[int, Field(ge=1, le=MAX_SAMPLE_SIZE)]
"""Units a sample or a batch draws."""
StratumSize = Annotated[int, Field(ge=0, le=MAX_SAMPLE_SIZE)]
"""Units a design fixes for one stratum."""
StratumMinimum = Annotated[int, Field(ge=0, le=10_000)]
"""Fewest units a design gives each stratum."""
TransitionQueueSize = Annotated[int, Field(ge=1, le=1_000_000)]
"""Multivocal rows a transition campaign sends to experts."""
RowCount = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A number of traffic rows (a subsample, a section's fewest requests)."""
BatchSize = Annotated[int, Field(ge=1, le=10_000)]
"""Texts sent to a classifier per request."""
Overlap = Annotated[int, Field(ge=1, le=10)]
"""Experts annotating each task."""

# -- windows of traffic
Days = Annotated[int, Field(ge=1, le=MAX_WINDOW_DAYS)]
"""Length of a window of traffic, in days."""

# -- resampling: memory and time grow with these
Replicates = Annotated[int, Field(ge=2, le=100_000)]
"""Bootstrap replicates of an interval."""
CalibrationReplicates = Annotated[int, Field(ge=2, le=10_000)]
"""Bootstrap refits of a calibration (each holds a model: fewer than plain replicates)."""
Folds = Annotated[int, Field(ge=0, le=20)]
"""Cross-validation folds (0: none)."""
