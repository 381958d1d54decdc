"""Any other JSON-lines or Parquet log, read through a field mapping (``--map``, ``--map-file``).

A mapping says where each of our fields sits in the source, as ``target=source``; a source
is a field name, or a dotted path into nested objects (``request.id``)::

    request_id=id  timestamp=date  text=libelle  predictions.code=codes  predictions.score=probas
    context.cj=forme_juridique  model_version=version

Targets (:data:`TARGETS`): ``request_id``, ``timestamp``, ``text``, ``model_name``,
``model_version``; the predictions either as one list of objects (``predictions=preds``, with
``predictions.code``/``predictions.score`` naming their fields when they are not ``code`` and
``score``) or as two parallel lists (``predictions.code=codes`` and ``predictions.score=
scores``, without ``predictions``); the context as one object (``context=ctx``) and/or field by
field (``context.cj=forme_juridique``); ``confidence``, the confidence index the model logged
(kept instead of the gap between the two best scores). A target not mapped is read from the
field of its own name when there is one.

How it runs: each line's mapped values are gathered into a line of our own JSON format (one
``json_extract`` of every source path at once), then read by the JSON-lines parser, so every
rule (types, codes, scores, quarantine reasons, conflicts) is the same as for our format.
Quarantined lines keep the line as logged. Fields that are not mapped are not kept.
A Parquet file goes through the same path, each row as one JSON object
(:func:`campaigns.traffic.ingest.ingest_file` reads it with DuckDB's ``read_parquet``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from campaigns.errors import InputFormatError

TARGETS = (
    "request_id",
    "timestamp",
    "text",
    "predictions",
    "predictions.code",
    "predictions.score",
    "context",
    "model_name",
    "model_version",
    "confidence",
)
"""The fields a mapping can fill; ``context.<name>`` fills one context field."""

REQUIRED = ("request_id", "timestamp", "text")
_SIMPLE = ("request_id", "timestamp", "text", "model_name", "model_version")
_CONTEXT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HINT = (
    "Write each mapping as TARGET=SOURCE, e.g. --map text=libelle --map predictions.code=codes; "
    f"targets: {', '.join(TARGETS)}, context.<name>."
)


@dataclass(frozen=True)
class FieldMapping:
    """Where each of our fields sits in the source (target -> dotted source path)."""

    fields: dict[str, str]

    @classmethod
    def parse(cls, pairs: Iterable[str] = (), file: Path | None = None) -> FieldMapping:
        """From ``--map`` pairs and a ``--map-file`` (TOML; the pairs win), validated."""
        fields: dict[str, str] = {}
        if file is not None:
            fields.update(_read_toml(file))
        for pair in pairs:
            target, sep, source = pair.partition("=")
            if not sep or not target.strip() or not source.strip():
                raise InputFormatError(f"Malformed mapping {pair!r}.", _HINT)
            fields[target.strip()] = source.strip()
        mapping = cls(fields)
        mapping.validate()
        return mapping

    def validate(self) -> None:
        for target in self.fields:
            if target in TARGETS:
                continue
            name = target.removeprefix("context.")
            if target.startswith("context.") and _CONTEXT_NAME.fullmatch(name):
                continue
            raise InputFormatError(f"Unknown target field {target!r} in the mapping.", _HINT)
        for target, source in self.fields.items():
            if "" in source.split("."):
                raise InputFormatError(
                    f"The source {source!r} of {target} has an empty field name (a dot at "
                    "its start or end, or two in a row).",
                    "Give a field name, or a dotted path of field names: --map "
                    f"{target}=libelle, --map {target}=request.libelle.",
                )
        parallel = {"predictions.code", "predictions.score"} & self.fields.keys()
        if "predictions" not in self.fields and len(parallel) == 1:
            raise InputFormatError(
                f"The mapping gives {parallel.pop()} but not its parallel list.",
                "Parallel lists need both: --map predictions.code=CODES "
                "--map predictions.score=SCORES (or --map predictions=LIST for a list of "
                "{code, score} objects).",
            )

    def source(self, target: str) -> str:
        return self.fields.get(target, target)

    @property
    def parallel_lists(self) -> bool:
        return "predictions" not in self.fields and "predictions.code" in self.fields

    def sources(self) -> dict[str, str]:
        """Every source path read, by the target it fills (defaults included)."""
        found = {t: self.source(t) for t in (*_SIMPLE, "context")}
        if self.parallel_lists:
            found |= {t: self.fields[t] for t in ("predictions.code", "predictions.score")}
        else:
            found["predictions"] = self.source("predictions")
        found |= {t: s for t, s in self.fields.items() if t.startswith("context.")}
        if "confidence" in self.fields:
            found["confidence"] = self.fields["confidence"]
        return found

    def required_sources(self) -> dict[str, str]:
        """The sources that must exist: the mapped ones and the required defaults."""
        return {
            t: s
            for t, s in self.sources().items()
            if t in self.fields or t in REQUIRED or t in ("predictions", "predictions.code")
        }

    def parser(self):
        """The :data:`campaigns.traffic.ingest.LineParser` reading lines through this mapping."""
        from campaigns.traffic.formats.json_lines import json_lines_parser

        sources = self.sources()
        order = list(sources)
        value = {t: f"v[{i + 1}]" for i, t in enumerate(order)}
        paths = "[" + ", ".join(_sql_text(json_path(sources[t])) for t in order) + "]"
        if self.parallel_lists:
            codes, scores = value["predictions.code"], value["predictions.score"]
            predictions = (
                f"to_json([json_object('code', z[1], 'score', z[2]) FOR z IN list_zip("
                f"TRY(json_transform({codes}, '[\"JSON\"]')), "
                f"TRY(json_transform({scores}, '[\"JSON\"]')))])"
            )
            length_check = (
                f"WHEN json_array_length({codes}) IS DISTINCT FROM json_array_length({scores}) "
                "THEN 'the code and score lists differ in length'"
            )
        else:
            code = self.fields.get("predictions.code", "code")
            score = self.fields.get("predictions.score", "score")
            items = f"TRY(json_transform({value['predictions']}, '[\"JSON\"]'))"
            predictions = value["predictions"]
            if (code, score) != ("code", "score"):
                predictions = (
                    f"to_json([json_object('code', p -> {_sql_text(json_path(code))}, "
                    f"'score', p -> {_sql_text(json_path(score))}) FOR p IN {items}])"
                )
            length_check = "WHEN false THEN NULL"
        context_fields = [t for t in order if t.startswith("context.")]
        context = value["context"]
        if context_fields:
            pairs = ", ".join(
                f"{_sql_text(t.removeprefix('context.'))}, {value[t]}" for t in context_fields
            )
            context = (
                f"json_merge_patch(CASE WHEN left({value['context']}, 1) = '{{' "
                f"THEN {value['context']} ELSE '{{}}' END, json_object({pairs}))"
            )
        simple = ", ".join(f"'{t}', {value[t]}" for t in _SIMPLE)
        confidence = "NULL::DOUBLE"
        confidence_check = "WHEN false THEN NULL"
        if "confidence" in value:
            c = value["confidence"]
            confidence = f"TRY_CAST({c}::VARCHAR AS DOUBLE)"
            confidence_check = (
                f"WHEN {c} IS NOT NULL AND {c} <> 'null' AND {confidence} IS NULL "
                "THEN 'confidence index is not a number'"
            )

        def parse(relation: str) -> str:
            remapped = f"""(
                SELECT * EXCLUDE (v) REPLACE (
                    CASE WHEN v IS NULL THEN line
                         ELSE json_object({simple}, 'predictions', {predictions},
                                          'context', {context})::VARCHAR END AS line),
                    line AS logged_line,
                    CASE WHEN v IS NOT NULL THEN CASE {length_check} {confidence_check} END
                    END AS mapping_reason,
                    CASE WHEN v IS NOT NULL THEN {confidence} END AS logged_confidence
                FROM (
                    SELECT *, CASE WHEN left(ltrim(line), 1) = '{{'
                                   THEN TRY(json_extract(line, {paths})) END AS v
                    FROM {relation}
                )
            )"""
            return f"""
            SELECT * EXCLUDE (logged_line, mapping_reason) REPLACE (
                logged_line AS line, coalesce(mapping_reason, format_reason) AS format_reason)
            FROM ({json_lines_parser(remapped)})
            """

        return parse


def check_sources(mapping: FieldMapping, sample: str, con, where: str) -> None:
    """Refuse a mapping whose source fields appear in none of the ``sample`` rows.

    ``sample`` is a relation of JSON lines (column ``line``): the first rows of the file.
    """
    needed = mapping.required_sources()
    if not needed:
        return
    found = con.execute(
        "SELECT "
        + ", ".join(
            f"coalesce(bool_or(TRY(json_exists(line, {_sql_text(json_path(s))}))), false)"
            for s in needed.values()
        )
        + f", list_sort(list_distinct(flatten(list(TRY(json_keys(line)))))) FROM {sample}"
    ).fetchall()[0]
    missing = [(t, s) for (t, s), ok in zip(needed.items(), found[:-1], strict=True) if not ok]
    if not missing:
        return
    seen = ", ".join(found[-1] or []) or "none"
    what = "; ".join(
        f"{t} from {s!r}" + ("" if t in mapping.fields else " (the default)") for t, s in missing
    )
    raise InputFormatError(
        f"{where}: no source field for {what} in its first rows (fields seen: {seen}).",
        "Map each target to a field the file has, e.g. --map "
        f"{missing[0][0]}=<field> (or in the --map-file).",
    )


def json_path(source: str) -> str:
    """A dotted source path as a JSON path (each key quoted: any character but a dot)."""
    return "$" + "".join(
        '."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"' for key in source.split(".")
    )


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _read_toml(file: Path) -> dict[str, str]:
    """``target = "source"`` pairs, at the top level or under ``[map]``; nested tables
    (``[context]`` ``cj = "forme"``, or ``predictions.code = "codes"``) give dotted targets."""
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InputFormatError(
            f"Cannot read the mapping file {file}: {err}",
            'A mapping file is TOML: one target = "source" per line, e.g. text = "libelle".',
        ) from err
    data = data.get("map", data)
    if not isinstance(data, dict):
        raise InputFormatError(
            f"The mapping file {file} has map = {repr(data)[:80]}, not a table of target = source.",
            'Write the pairs at the top level or under [map], e.g. text = "libelle".',
        )

    def flat(table: dict, prefix: str = "") -> Iterable[tuple[str, str]]:
        for key, val in table.items():
            if isinstance(val, dict):
                yield from flat(val, f"{prefix}{key}.")
            elif isinstance(val, str):
                yield f"{prefix}{key}", val
            else:
                raise InputFormatError(
                    f"Mapping {prefix}{key} in {file} is not a field name: {val!r}.",
                    'Give each source as a string, e.g. text = "libelle".',
                )

    return dict(flat(data))
