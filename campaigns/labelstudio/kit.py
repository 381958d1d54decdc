"""What differs between campaign kinds, in one object: the lifecycle code never branches on
the kind. Each kind's kit is built in :mod:`campaigns.labelstudio.kinds`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class CampaignKit:
    """The three kind-specific pieces; everything else in a campaign's life is shared."""

    label_config: Callable[[], str]
    tasks: Callable[[pa.Table, int], list[dict[str, Any]]]
    annotations: Callable[[list[dict[str, Any]]], pa.Table]
    """Parsed annotations, with at least request_id, annotator, status, code, updated_at."""
