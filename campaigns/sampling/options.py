"""The duplicate-text policy of a design, as a plain enum (the CLI builds options from it
without importing DuckDB)."""

from __future__ import annotations

from enum import StrEnum


class Duplicates(StrEnum):
    """``requests``: every request is a unit (a frequent text weighs as often as it comes);
    ``distinct``: each normalised text once, weighted by its occurrences."""

    REQUESTS = "requests"
    DISTINCT = "distinct"
