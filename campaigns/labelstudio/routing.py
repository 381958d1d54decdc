"""Routing a campaign's units to expert teams, one Label Studio project per team.

Coding teams know parts of the nomenclature (agriculture, trade, services...). A routing rule
sends each sampled unit to the team whose part contains the model's predicted code::

    agriculture=A          section A
    trade=G,45.1           section G, and group 45.1
    manufacturing=10-33    divisions 10 to 33
    services=*             everything no other team takes

Rules are tried in the order given; the first that matches wins. A rule names sections
(letters), divisions (``62``), ranges of divisions (``10-33``) or any code prefix (``45.1``,
``47.11``). Every unit must land in exactly one team: without a ``*`` team, units matching no
rule are an error (never silently dropped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from campaigns.duck import connect, fetch_arrow
from campaigns.errors import InvalidArgumentError

_TEAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$")
_RANGE = re.compile(r"^(\d{2})-(\d{2})$")
_PREFIX = re.compile(r"^\d{2}(\.\d{1,2}[A-Z]?)?$")


@dataclass(frozen=True)
class Route:
    team: str
    patterns: tuple[str, ...]

    def sql(self) -> str:
        """SQL condition on ``predicted_code`` and ``section`` for this team."""
        tests = []
        for p in self.patterns:
            if p == "*":
                return "true"
            if len(p) == 1 and p.isalpha():
                tests.append(f"section = '{p.upper()}'")
            elif m := _RANGE.match(p):
                tests.append(f"left(predicted_code, 2) BETWEEN '{m[1]}' AND '{m[2]}'")
            else:
                tests.append(f"starts_with(predicted_code, '{p.upper()}')")
        return "(" + " OR ".join(tests) + ")"


def parse_route(text: str) -> Route:
    """``team=pattern,pattern`` -> Route (see the module docstring)."""
    team, sep, rest = text.partition("=")
    team = team.strip()
    patterns = tuple(p.strip() for p in rest.split(",") if p.strip())
    if not sep or not _TEAM.match(team) or not patterns:
        raise InvalidArgumentError(
            f"Bad routing rule {text!r}.",
            "Write team=patterns, e.g. trade=G,45.1 or services=* (letters, divisions, "
            "ranges like 10-33, code prefixes).",
        )
    for p in patterns:
        if not (p == "*" or (len(p) == 1 and p.isalpha()) or _RANGE.match(p) or _PREFIX.match(p)):
            raise InvalidArgumentError(
                f"Bad pattern {p!r} in the routing rule of team {team!r}.",
                "Use a section letter (G), a division (45), a range (10-33), a code prefix "
                "(45.1, 47.11) or * for the rest.",
            )
    return Route(team, patterns)


def parse_routes(texts: list[str]) -> list[Route]:
    routes = [parse_route(t) for t in texts]
    teams = [r.team for r in routes]
    if len(set(teams)) != len(teams):
        raise InvalidArgumentError("A team appears in two routing rules.", "One rule per team.")
    return routes


def assign_teams(sample: pa.Table, routes: list[Route], sections: pa.Table) -> pa.Table:
    """``sample`` with a ``team`` column; raises if a unit matches no rule."""
    with connect() as con:
        con.register("sample", sample)
        con.register("sections", sections)
        cases = " ".join(f"WHEN {r.sql()} THEN '{r.team}'" for r in routes)
        routed = fetch_arrow(
            con,
            f"""SELECT s.*, CASE {cases} END AS team
                FROM (SELECT x.*, d.section FROM sample x
                      LEFT JOIN sections d ON d.division = left(x.predicted_code, 2)) s""",
        )
        unrouted = routed.filter(routed.column("team").is_null())
        if unrouted.num_rows:
            codes = sorted(set(unrouted.column("predicted_code").to_pylist()))[:5]
            raise InvalidArgumentError(
                f"{unrouted.num_rows} units match no routing rule (predicted codes such as "
                f"{', '.join(map(str, codes))}).",
                "Add a rule for them, or a catch-all team such as others=*.",
            )
        return routed.drop_columns(["section"])


def units_of_team(sample: pa.Table, team: str, routes: list[Route], sections: pa.Table) -> pa.Table:
    routed = assign_teams(sample, routes, sections)
    return routed.filter(pc.equal(routed.column("team"), team))
