"""``search``: find lines in the repository the way models actually ask.

Models type searches as they would to a person: in quotes, with a trailing "in docs/", with
regex characters they mean literally (``def add(``), or as several words. Taken as one
regular expression these match nothing, and a small model then gives up or answers blind. So
the query is read leniently: quotes dropped, "in <folder>" becomes where to look, the text is
tried as a literal phrase (then as a regex when it looks like one), and when no line holds the
whole phrase, lines are ranked by how many of its words they hold.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict

from sale_tui.agents.environment import Environment, clip

MAX_HITS = 20
MAX_QUERY_CHARS = 300
"""A longer "query" is a pasted paragraph; cut, it also keeps the lazy folder pattern cheap."""
LINE_CHARS = 220
_IN_FOLDER = re.compile(r"^(?P<query>.+?)\s+(?:in|under|within)\s+(?P<folder>[\w./-]+/?)\s*$")
_REGEX_HINTS = re.compile(r"\\[wdsbWDS]|\.\*|\.\+|\[[^\]]+\]|\(\?|\|")
_WORD = re.compile(r"[A-Za-z0-9_]{3,}")
# words that say nothing about where an answer is (findall: one word per match)
STOP_WORDS = frozenset(
    re.findall(
        r"\w+",
        "the and for are was were what which who whom whose when where why how that this with "
        "from into does did has have had its not but all any can could would should about than "
        "then them they their there these those been being also both each other some such only "
        "same very file files line lines code repo repository docs",
    )
)


def clean_query(text: str) -> tuple[str, str]:
    """(the query, the folder to search): quotes and a trailing "in <folder>" taken off."""
    query = text.strip().strip("`").strip()[:MAX_QUERY_CHARS]
    folder = "."
    found = _IN_FOLDER.match(query)
    if found and ("/" in found["folder"] or "." not in found["folder"]):
        query, folder = found["query"].strip(), found["folder"].rstrip("/") or "."
    for quote in ('"', "'", "`"):
        if len(query) > 1 and query[0] == quote and query[-1] == quote:
            query = query[1:-1]
    return query.strip(), folder.removeprefix("./") or "."


def search_words(query: str) -> list[str]:
    """The query's distinct content words, in order (no stop words, at least 3 characters)."""
    words = [w.lower() for w in _WORD.findall(query)]
    return list(dict.fromkeys(w for w in words if w not in STOP_WORDS))


def _rg(env: Environment, arguments: str, folder: str) -> list[tuple[str, int, str]]:
    result = env.run(
        f"rg -n --no-heading --color never --max-columns 400 --max-count 50 {arguments} "
        f"-- {shlex.quote(folder)} 2>/dev/null | head -n 400",
        timeout_s=60,
    )
    hits = []
    for line in result.output.splitlines():
        path, _, rest = line.partition(":")
        number, _, text = rest.partition(":")
        if number.isdigit():
            hits.append((path.removeprefix("./"), int(number), text))
    return hits


def _show(hits: list[tuple[str, int, str]]) -> str:
    return "\n".join(f"{path}:{number}: {text.strip()[:LINE_CHARS]}" for path, number, text in hits)


def ranked_lines(
    env: Environment, words: list[str], folder: str = "."
) -> list[tuple[str, int, str]]:
    """Lines holding any of ``words``, most distinct words first (ties: the file with most)."""
    if not words:
        return []
    patterns = " ".join(f"-e {shlex.quote(w)}" for w in words)
    hits = _rg(env, f"-i -F {patterns}", folder)
    per_file: dict[str, set[str]] = defaultdict(set)
    scored = []
    for path, number, text in hits:
        held = {w for w in words if w in text.lower()}
        per_file[path] |= held
        scored.append((len(held), path, number, text))
    scored.sort(key=lambda hit: (-hit[0], -len(per_file[hit[1]]), hit[1], hit[2]))
    return [(path, number, text) for _, path, number, text in scored]


def search(env: Environment, text: str) -> str:
    query, folder = clean_query(text)
    if folder != "." and not env.run(f"test -d {shlex.quote(folder)}", timeout_s=30).ok:
        # "the value in use": no folder of that name, so the words are all the query
        query, folder = text.strip().strip("`").strip().strip("\"'"), "."
    if not query:
        return "Error: search needs some words or a pattern to look for."
    where = "" if folder == "." else f" in {folder}/"
    hits = _rg(env, f"-S -F -e {shlex.quote(query)}", folder)
    if not hits and _REGEX_HINTS.search(query):
        hits = _rg(env, f"-S -e {shlex.quote(query)}", folder)
    if hits:
        return clip(f"Lines with {query!r}{where}:\n{_show(hits[:MAX_HITS])}")
    words = search_words(query)
    ranked = ranked_lines(env, words, folder)
    if not ranked:
        return (
            f"No match for {query!r}{where}, nor for any of its words. Try other words, or "
            "`ACTION: run ls` to see the files."
        )
    return clip(
        f"No line holds {query!r} exactly{where}; the lines with most of its words "
        f"({', '.join(words)}):\n{_show(ranked[:MAX_HITS])}"
    )
