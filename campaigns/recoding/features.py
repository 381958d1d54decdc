"""Text and context features: TF-IDF of character n-grams, computed word by word.

Why character n-grams: activity descriptions are short, abbreviated and misspelt
("FAB. MEUBLES", "MACONNERIE GAL"); n-grams of 2 to 4 characters inside word boundaries
(scikit-learn's ``char_wb`` analyzer) match what word tokens miss, and need no stemmer.

Why word by word: ``char_wb`` cuts each whitespace-separated word on its own, so the n-gram
counts of a text are the sum of its words' counts. Texts are therefore split and
dictionary-encoded by Arrow (C++), giving a sparse ``texts x distinct words`` count matrix
``W``; the n-grams of each *distinct* word are counted once (``G``, words x n-grams), and
``W @ G`` is exactly scikit-learn's count matrix, about five times faster than its per-text
Python analyzer on millions of rows (a test checks the equality). TF-IDF then follows
scikit-learn's ``TfidfTransformer(sublinear_tf=True)`` (``1 + ln tf``, smooth idf, L2 rows),
vectorised in numpy.

Context (legal category, activity nature...) enters as one-hot ``field=value`` columns
beside the n-grams, scaled by ``context_weight``: a weak signal that should not outvote the
text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

CONTEXT_CODES = (
    "cj",
    "activ_nat_et",
    "activ_surf_et",
    "evenement_type",
    "liasse_type",
    "activ_perm_et",
)
"""Context fields read as codes (the free-text ``activ_nat_lib_et`` is left out)."""


def context_sql(schema: pa.Schema) -> str:
    """A DuckDB expression giving each row's context as ``field=value`` tokens (or NULL).

    The context is a ``context`` column (JSON text or a struct, as in the traffic) or separate
    columns named like the fields; spaces inside values become ``_`` so a token stays one word.
    """
    names = set(schema.names)
    parts: list[str] = []
    if "context" in names:
        kind = schema.field("context").type
        for name in CONTEXT_CODES:
            if pa.types.is_struct(kind):
                if kind.get_field_index(name) < 0:
                    continue
                value = f'CAST("context"."{name}" AS VARCHAR)'
            else:
                value = f"json_extract_string(CAST(\"context\" AS VARCHAR), '$.{name}')"
            parts.append(f"'{name}=' || replace(trim({value}), ' ', '_')")
    else:
        parts = [
            f"'{name}=' || replace(trim(CAST(\"{name}\" AS VARCHAR)), ' ', '_')"
            for name in CONTEXT_CODES
            if name in names
        ]
    if not parts:
        return "NULL::VARCHAR"
    return f"nullif(concat_ws(' ', {', '.join(parts)}), '')"


def _flat(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _word_counts(texts: pa.Array) -> tuple[sp.csr_matrix, pa.Array]:
    """``W`` (texts x distinct words, counts) and the distinct words, lower-cased."""
    texts = _flat(texts)
    words = pc.utf8_split_whitespace(pc.utf8_lower(texts.fill_null("")))
    offsets = np.asarray(words.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
    offsets = offsets - offsets[0]
    flat = words.flatten()
    encoded = flat.dictionary_encode()
    indices = np.array(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    matrix = sp.csr_matrix(
        (np.ones(indices.size, dtype=np.float32), indices, offsets),
        shape=(len(texts), len(encoded.dictionary)),
    )
    matrix.sum_duplicates()
    return matrix, encoded.dictionary


@dataclass
class TextFeatures:
    """The fitted featuriser: n-gram vocabulary and idf, context vocabulary."""

    ngram_range: tuple[int, int] = (2, 4)
    max_features: int = 200_000
    min_words: int = 2
    context_weight: float = 0.5
    _ngrams: CountVectorizer | None = field(default=None, repr=False)
    _idf: np.ndarray | None = field(default=None, repr=False)
    _context_vocab: pa.Array | None = field(default=None, repr=False)

    @property
    def n_features(self) -> int:
        if self._idf is None or self._context_vocab is None:
            raise RuntimeError("fit the features first")
        return self._idf.size + len(self._context_vocab)

    def fit(self, texts: pa.Array, contexts: pa.Array | None = None) -> TextFeatures:
        """Learn the n-grams (seen in at least ``min_words`` distinct words), idf, contexts."""
        counts, words = _word_counts(texts)
        self._ngrams = CountVectorizer(
            analyzer="char_wb",
            ngram_range=self.ngram_range,
            strip_accents="unicode",
            min_df=min(self.min_words, max(1, len(words))),
            max_features=self.max_features,
            dtype=np.float32,
        )
        grams = self._ngrams.fit_transform(words.to_pylist())
        ngram_counts = (counts @ grams).tocsr()
        df = np.bincount(ngram_counts.indices, minlength=grams.shape[1])
        n = counts.shape[0]
        self._idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        if contexts is None:
            self._context_vocab = pa.array([], pa.string())
        else:
            tokens = pc.utf8_split_whitespace(_flat(contexts).fill_null("")).flatten()
            tokens = tokens.filter(pc.not_equal(tokens, ""))
            self._context_vocab = pc.unique(tokens).sort()
        return self

    def transform(self, texts: pa.Array, contexts: pa.Array | None = None) -> sp.csr_matrix:
        """Rows of L2-normalised TF-IDF n-grams, then the scaled context one-hots."""
        if self._ngrams is None or self._idf is None or self._context_vocab is None:
            raise RuntimeError("fit the features first")
        counts, words = _word_counts(texts)
        grams = self._ngrams.transform(words.to_pylist())
        matrix = (counts @ grams).tocsr()
        matrix.data = (1.0 + np.log(matrix.data)) * self._idf[matrix.indices]
        lengths = np.diff(matrix.indptr)
        rows = np.repeat(np.arange(matrix.shape[0]), lengths)
        squares = np.bincount(rows, weights=matrix.data**2, minlength=matrix.shape[0])
        norms = np.where(squares > 0, np.sqrt(squares), 1.0).astype(np.float32)
        matrix.data /= norms[rows]
        blocks = [matrix]
        if len(self._context_vocab):
            blocks.append(self._context_block(contexts, matrix.shape[0]))
        out = sp.hstack(blocks, format="csr") if len(blocks) > 1 else matrix
        return out.astype(np.float32)

    def _context_block(self, contexts: pa.Array | None, rows: int) -> sp.csr_matrix:
        assert self._context_vocab is not None
        width = len(self._context_vocab)
        if contexts is None:
            return sp.csr_matrix((rows, width), dtype=np.float32)
        contexts = _flat(contexts)
        tokens = pc.utf8_split_whitespace(contexts.fill_null(""))
        offsets = np.asarray(tokens.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        offsets = offsets - offsets[0]
        position = pc.index_in(tokens.flatten(), value_set=self._context_vocab)
        columns = np.asarray(position.fill_null(-1).to_numpy(zero_copy_only=False))
        row = np.repeat(np.arange(rows), np.diff(offsets))
        keep = columns >= 0
        return sp.csr_matrix(
            (
                np.full(int(keep.sum()), self.context_weight, dtype=np.float32),
                (row[keep], columns[keep]),
            ),
            shape=(rows, width),
        )


def stack_texts(parts: Sequence[pa.Array]) -> pa.Array:
    """One string array from several (chunked or not)."""
    chunks: list[pa.Array] = []
    for part in parts:
        if isinstance(part, pa.ChunkedArray):
            chunks.extend(c.cast(pa.string()) for c in part.chunks)
        else:
            chunks.append(part.cast(pa.string()))
    return pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())
