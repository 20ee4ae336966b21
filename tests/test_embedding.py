"""The memory's embedder on a small code-retrieval check: paraphrased jobs must find their
original among other past jobs (the check behind the choice of MiniLM, docs/BENCHMARKS.md)."""

from __future__ import annotations

import numpy as np
import pytest

from sale_tui.embedding import get_embedder

pytestmark = pytest.mark.usefixtures("with_minilm")

PAST_JOBS = [
    "Fix the off-by-one error in the pagination helper so the last page is returned",
    "Add a --verbose flag to the CLI that prints debug logging",
    "Write unit tests for the date parsing utilities",
    "Refactor the database connection code to use a context manager",
    "The JSON export crashes on datetime fields; make it serialise them as ISO strings",
    "Speed up the CSV loader, it is too slow on large files",
    "Rename the function get_usr to get_user everywhere",
    "Add type hints to the config module and make mypy pass",
    "Explain how authentication tokens are validated in this codebase",
    "Where is the retry logic for HTTP requests implemented?",
    "Update the README with installation instructions for Windows",
    "Fix the failing test test_parse_duration",
    "Add caching to the expensive price lookup function",
    "Remove the deprecated Python 2 compatibility code",
    "Make the logger write to a rotating file instead of stdout",
    "Implement a reverse_string function with tests",
]
PARAPHRASES = [
    ("The last page is missing when paginating results, fix the boundary bug", 0),
    ("Introduce a verbose option to the command line to show debug output", 1),
    ("Serialising records with timestamps to JSON fails, fix it", 4),
    ("test_parse_duration is failing, please repair it", 11),
    ("Which module handles retrying failed HTTP calls?", 9),
    ("Memoize the slow price lookup", 12),
    ("Annotate the configuration code with types so the type checker is happy", 7),
    ("How does the code check that an auth token is valid?", 8),
    ("Loading big CSV files takes forever, optimise it", 5),
    ("Drop the old py2 compat shims", 13),
    ("Use a with-statement for DB connections", 3),
    ("Send log output to a rotating log file", 14),
]


def test_vectors_are_unit_length_and_deterministic() -> None:
    embedder = get_embedder()
    first = embedder.embed(["Fix the failing test", "Update the docs"])
    assert first.shape == (2, embedder.dim) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.allclose(first, embedder.embed(["Fix the failing test", "Update the docs"]))
    assert embedder.embed([]).shape == (0, embedder.dim)


def test_paraphrased_jobs_find_their_original() -> None:
    embedder = get_embedder()
    past = embedder.embed(PAST_JOBS)
    queries = embedder.embed([text for text, _ in PARAPHRASES])
    hits = sum(
        int(np.argmax(past @ q)) == want for q, (_, want) in zip(queries, PARAPHRASES, strict=True)
    )
    assert hits >= 11, f"only {hits}/12 paraphrases found their original"
