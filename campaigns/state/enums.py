"""The plain values campaign state is made of: kinds, statuses, modes, limits, the name rule.

Kept apart from the SQLModel tables (``models.py``) so the CLI can build its options and
``--help`` without importing SQLAlchemy.
"""

from __future__ import annotations

from enum import StrEnum

# Ids are SQL INTEGER columns: 32-bit in PostgreSQL. Larger ids cannot exist (and a query
# with one fails in the database), so callers treat them as "not found".
MAX_ID = 2**31 - 1
# Seeds are stored in an INTEGER column too; sample sizes beyond this are no annotation
# campaign (and DuckDB's per-stratum heaps refuse sizes near a million).
MAX_SEED = MAX_ID
MAX_SAMPLE_SIZE = 100_000


class CampaignKind(StrEnum):
    GOLD = "gold"
    TRANSITION = "transition"
    VALIDATION = "validation"


class SuggestionMode(StrEnum):
    """What a gold campaign's experts see of the model's answer (see README, "What it does").

    ``preselected``: the top-5 listed, the top-1 pre-selected (ticked in the task's data);
    ``shown``: the top-5 listed, none selected; ``hidden``: blind, text, context and the
    nomenclature only; ``randomized``: a seeded draw sends each task to the blind or the
    assisted (``preselected``) arm, to measure how much showing the answer moves experts.
    """

    PRESELECTED = "preselected"
    SHOWN = "shown"
    HIDDEN = "hidden"
    RANDOMIZED = "randomized"


class CampaignStatus(StrEnum):
    CREATED = "created"
    PUSHED = "pushed"
    EXPORTED = "exported"
    ARCHIVED = "archived"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# Names become Label Studio titles, file names and storage keys: a slug, never a path.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
