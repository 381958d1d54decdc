"""Title cleaning shared by every table loader (nomenclatures, correspondence, context titles).

Titles end up inside Label Studio's XML labelling config and in task HTML: a control character
(``\\x00``, ``\\x0b`` from an Excel line break...) makes that XML invalid, and stray spaces make
two spellings of one title differ. So every title is cleaned once, at load.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

# Controls that are not whitespace are dropped; whitespace controls (\t \n \x0b \x0c \r and
# \x1c-\x1f, which Python counts as spaces) become one space, like every run of spaces.
_CONTROL = r"[\x00-\x08\x0e-\x1b\x7f]"
_SPACES = r"\s+"
_CONTROL_RE = re.compile(_CONTROL)
_SPACES_RE = re.compile(_SPACES)


def clean_title(title: Any) -> str | None:
    """One title: controls removed, spaces collapsed and stripped; None when nothing is left."""
    if title is None or (isinstance(title, float) and pd.isna(title)):
        return None
    text = _SPACES_RE.sub(" ", _CONTROL_RE.sub("", str(title))).strip()
    return text or None


def clean_titles(titles: pd.Series) -> pd.Series:
    """``clean_title`` over a column, vectorised (object dtype, None where empty)."""
    text = (
        titles.astype("string")
        .str.replace(_CONTROL, "", regex=True)
        .str.replace(_SPACES, " ", regex=True)
        .str.strip()
    )
    text = text.mask(text == "")
    return text.astype(object).where(text.notna(), None)
