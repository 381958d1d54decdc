"""The log formats ingest reads, one parser each: JSON lines (:mod:`.json_lines`, the default),
the production API's Python-logging lines (:mod:`.insee_api`, on :mod:`.python_literal`) and
any JSON-lines or Parquet shape through a field mapping (:mod:`.mapping`)."""

from __future__ import annotations

from campaigns.traffic.formats.json_lines import LineParser, json_lines_parser

FORMATS = ("json", "insee-api")


def parser_for(name: str) -> LineParser:
    """The line parser of a ``--format`` name."""
    if name == "json":
        return json_lines_parser
    if name == "insee-api":
        from campaigns.traffic.formats.insee_api import insee_api_parser

        return insee_api_parser
    raise ValueError(f"unknown log format {name!r} (known: {', '.join(FORMATS)})")
