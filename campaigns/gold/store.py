"""Where exported gold lives, and the only module that knows it.

``exports/campaign=ID/version=V/{annotations,gold}.parquet`` (plus the files a source of
annotations keeps beside them, such as an S3 export's cursor) and
``exports/campaign=ID/LATEST``, the version readers follow. :func:`write_snapshot` writes the
version's files first and moves ``LATEST`` last, so readers never see half an export, and an
interrupted export is simply redone. :func:`latest_gold` and :func:`latest_annotations` read
the latest snapshot of a campaign (the union of its teams' for a routed campaign); the gold
comes with the sample's units that reuse an earlier gold label (:mod:`campaigns.gold.reused`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session, select

from campaigns.errors import EmptySelectionError
from campaigns.gold.reused import PROVENANCE, REUSABLE_STATUSES, REUSED, with_reused_gold
from campaigns.state import crud
from campaigns.state.models import Campaign, CampaignKind
from campaigns.storage import Storage, sample_key

EXPORTS_DIR = "exports"
ANNOTATIONS = "annotations.parquet"
GOLD = "gold.parquet"
_EARLIER = pa.schema(
    [
        ("text_norm", pa.string()),
        ("context", pa.string()),
        ("reused_gold_code", pa.string()),
        ("reused_status", pa.string()),
        ("reused_from_campaign", pa.int64()),
    ]
)


def export_dir(campaign_id: int, version: str) -> str:
    """The folder of one export version of a campaign."""
    return f"{EXPORTS_DIR}/campaign={campaign_id}/version={version}"


def _pointer(campaign_id: int | None) -> str:
    return f"{EXPORTS_DIR}/campaign={campaign_id}/LATEST"


def new_version() -> str:
    """A fresh version name: the UTC time to the microsecond, so versions sort by time."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def write_snapshot(
    storage: Storage,
    campaign_id: int,
    version: str,
    annotations: pa.Table,
    gold: pa.Table,
    extra: dict[str, bytes] | None = None,
) -> tuple[str, str]:
    """Write a version's annotations, gold and ``extra`` files, then point ``LATEST`` to it.

    Returns the URIs of the annotations and the gold written.
    """
    folder = export_dir(campaign_id, version)
    annotations_uri = storage.write_table(annotations, f"{folder}/{ANNOTATIONS}")
    gold_uri = storage.write_table(gold, f"{folder}/{GOLD}")
    for name, data in (extra or {}).items():
        storage.write_bytes(data, f"{folder}/{name}")
    storage.write_bytes(version.encode(), _pointer(campaign_id))
    return annotations_uri, gold_uri


def latest_version(storage: Storage, campaign: Campaign) -> str | None:
    """The version ``LATEST`` names, or None before the first export."""
    pointer = _pointer(campaign.id)
    if not storage.exists(pointer):
        return None
    return storage.read_bytes(pointer).decode().strip()


def latest_extra(storage: Storage, campaign: Campaign, name: str) -> bytes | None:
    """A file kept beside the latest snapshot (``extra`` of :func:`write_snapshot`), if any."""
    version = latest_version(storage, campaign)
    if version is None:
        return None
    path = f"{export_dir(campaign.id or 0, version)}/{name}"
    return storage.read_bytes(path) if storage.exists(path) else None


def _latest_file(storage: Storage, campaign: Campaign, name: str) -> pa.Table:
    version = latest_version(storage, campaign)
    if version is None:
        raise EmptySelectionError(
            f"Campaign {campaign.id} has no export yet.",
            f"Run 'campaigns export {campaign.id}' first.",
        )
    return storage.read_table(f"{export_dir(campaign.id or 0, version)}/{name}")


def own_latest_annotations(storage: Storage, campaign: Campaign) -> pa.Table | None:
    """The campaign's own latest annotations (never its teams'), or None before any export."""
    if latest_version(storage, campaign) is None:
        return None
    return _latest_file(storage, campaign, ANNOTATIONS)


def _team_tables(
    session: Session | None, storage: Storage, campaign: Campaign, name: str
) -> pa.Table | None:
    if session is None:
        return None
    teams = crud.team_campaigns(session, campaign)
    if not teams:
        return None
    tables = []
    for team in teams:
        if latest_version(storage, team) is None:
            continue
        table = _latest_file(storage, team, name)
        tables.append(table.append_column("team", pa.array([team.team] * table.num_rows)))
    if not tables:
        raise EmptySelectionError(
            f"No team of campaign {campaign.id} has an export yet.",
            f"Run 'campaigns export {campaign.id}' first.",
        )
    return pa.concat_tables(tables, promote_options="default")


def latest_gold(storage: Storage, campaign: Campaign, session: Session | None = None) -> pa.Table:
    """The gold table (one row per annotated unit) of the campaign's latest export.

    For a routed campaign (given the session), the union of its teams', with a ``team`` column.
    Units of the sample that reuse an earlier gold label (``gold_provenance`` ``reused``, see
    :mod:`campaigns.gold.reused`) come with it, so every reader sees the same gold.
    """
    teams = _team_tables(session, storage, campaign, GOLD)
    gold = teams if teams is not None else _latest_file(storage, campaign, GOLD)
    return _with_reused_units(storage, campaign, gold)


def _with_reused_units(storage: Storage, campaign: Campaign, gold: pa.Table) -> pa.Table:
    """The gold rows plus the sample's reused units (a campaign's, never a team's alone)."""
    path = sample_key(campaign.sample_id)
    if campaign.parent_id is not None or not storage.exists(path):
        return gold
    if PROVENANCE not in storage.read_schema(path).names:
        return gold
    return with_reused_gold(gold, storage.read_table(path), campaign.id or 0)


def latest_annotations(
    storage: Storage, campaign: Campaign, session: Session | None = None
) -> pa.Table:
    """Every annotation (one row per expert and task) of the campaign's latest export."""
    teams = _team_tables(session, storage, campaign, ANNOTATIONS)
    return teams if teams is not None else _latest_file(storage, campaign, ANNOTATIONS)


def _contexts(gold: pa.Table) -> pa.ChunkedArray | pa.Array:
    """The context the experts saw (a JSON string), nulls where the gold has none."""
    if "context" in gold.column_names and pa.types.is_string(gold.schema.field("context").type):
        return gold.column("context")
    return pa.nulls(gold.num_rows, pa.string())


def earlier_gold(session: Session, storage: Storage) -> pa.Table:
    """``text_norm``, ``context`` and their gold label from the latest export of every gold
    campaign: coded and cannot-be-coded labels, and the experts' ties (``disagreement``), so
    that reuse sees where earlier experts could not agree."""
    parts = []
    campaigns = session.exec(
        select(Campaign).where(Campaign.kind == CampaignKind.GOLD, Campaign.parent_id.is_(None))
    ).all()
    for campaign in campaigns:
        try:
            gold = latest_gold(storage, campaign, session)
        except EmptySelectionError:  # no export yet: nothing to reuse from it
            continue
        if "text_norm" not in gold.column_names or gold.num_rows == 0:
            continue
        if PROVENANCE in gold.column_names:  # labels reused there came from elsewhere
            gold = gold.filter(pc.invert(pc.equal(gold[PROVENANCE], REUSED).fill_null(False)))
        parts.append(
            pa.table(
                [
                    gold.column("text_norm"),
                    _contexts(gold),
                    gold.column("gold_code"),
                    gold.column("status"),
                    pa.array([campaign.id] * gold.num_rows, pa.int64()),
                ],
                names=_EARLIER.names,
            ).cast(_EARLIER)
        )
    if not parts:
        return _EARLIER.empty_table()
    table = pa.concat_tables(parts)
    statuses = pa.array([*REUSABLE_STATUSES, "disagreement"])
    return table.filter(
        pc.and_(pc.is_in(table.column("reused_status"), statuses), pc.is_valid(table["text_norm"]))
    )
