"""Codes typed in the remark instead of picked: found when results are read, never lost.

Experts sometimes type the code they mean in the free-text remark ("4711Z", "voir 47.11Z")
instead of picking it in the taxonomy: the search did not show it, the screen froze, or the
habit comes from older tools. Insee's own conversion of its exports met the same thing and
filled the missing code from the comment. Read naively, such an annotation says "no code
chosen" (an invalid annotation, silently lost) or, when the model's top-1 was pre-selected,
confirms the model while the expert wrote another code.

So when an annotation has no picked code, or only the pre-selected suggestion, and its
remark names a NAF code, it gets the status ``code_in_remark``: the code is *proposed* (in
``invalid_reason``), never taken as the gold code, and the unit goes to adjudication like a
tie does. A person confirms the code; the reader does not guess what the expert meant.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

CODE_IN_REMARK = "code_in_remark"
MAX_REMARK_CHARS = 2000
"""Only the start of a remark is searched: a remark is a sentence or two, and a hostile
megabyte of text must not cost more than a normal one."""

# A subclass code as people type it: 4711Z, 47.11Z, 47.11z, not glued to other letters or
# digits (so "12000m2", phone numbers and dates do not match). No nested quantifiers: linear.
_CODE = re.compile(r"(?<![0-9A-Za-z.])(\d{2})\.?(\d{2})([A-Za-z])(?![0-9A-Za-z])")


def codes_in_text(text: Any) -> list[str]:
    """The NAF-looking codes of ``text`` in dotted form (``47.11Z``), first seen first, once."""
    if text is None:
        return []
    if isinstance(text, list):  # Label Studio stores a TextArea as a list of lines
        text = " ".join(str(part) for part in text)
    found: list[str] = []
    for match in _CODE.finditer(str(text)[:MAX_REMARK_CHARS]):
        code = f"{match[1]}.{match[2]}{match[3].upper()}"
        if code not in found:
            found.append(code)
    return found


def code_in_remark(
    remark: Any, picked: str | None, is_valid: Callable[[str], bool]
) -> tuple[str, str] | None:
    """``(status, reason)`` when the remark names a code the expert did not pick, else None.

    ``picked`` is the code the annotation would otherwise get from a suggestion (None when
    nothing was picked). A remark naming only ``picked`` itself changes nothing. Codes that
    are not in the nomenclature are proposed only when no valid one is there, and said so:
    a typo is still a hint for the adjudicator, never a silent "no code".
    """
    named = codes_in_text(remark)
    if not named:
        return None
    valid = [c for c in named if is_valid(c)]
    others = [c for c in valid if c != picked]
    if picked is not None:
        if not others:
            return None
        return (
            CODE_IN_REMARK,
            f"the suggestion {picked} was chosen but the remark names "
            f"{', '.join(others)}: confirm which code is meant",
        )
    if len(valid) == 1:
        return CODE_IN_REMARK, f"no code picked; the remark names {valid[0]}: confirm it"
    if valid:
        return (
            CODE_IN_REMARK,
            f"no code picked; the remark names {', '.join(valid)}: choose one",
        )
    return (
        CODE_IN_REMARK,
        f"no code picked; the remark names {', '.join(named)}, not in the nomenclature",
    )


def flag_code_in_remark(row: dict[str, Any], is_valid: Callable[[str], bool]) -> dict[str, Any]:
    """A parsed gold annotation, re-labelled ``code_in_remark`` when its remark holds the code.

    Applies to annotations with no code picked (``invalid``) and to those coded only by the
    pre-selected suggestion, never to a code picked in the taxonomy, a skip or "cannot be
    coded": those are explicit choices.
    """
    no_code = row.get("status") == "invalid" and not (
        row.get("taxonomy_code") or row.get("suggested_code")
    )
    by_suggestion = row.get("status") == "coded" and not row.get("taxonomy_code")
    if not (no_code or by_suggestion):
        return row
    picked = row.get("code") if by_suggestion else None
    flagged = code_in_remark(row.get("remark"), picked, is_valid)
    if flagged is None:
        return row
    status, reason = flagged
    return row | {"status": status, "code": None, "invalid_reason": reason}
