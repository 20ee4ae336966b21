"""Reading and changing files: ``view``, ``write`` (the whole file) and ``edit`` (search/replace).

Two guards, as in SWE-agent's editor: a Python file that would no longer compile is not
written (the agent sees the error and the lines around it, and the file stays as it was), and
the files that decide the job's success (its tests, unless the job is about them) are
read-only, so an agent cannot pass by changing them.
"""

from __future__ import annotations

import ast
import difflib
import posixpath
import re
import shlex

from sale_tui.agents.environment import Environment, list_files

VIEW_LINES = 200
CONTEXT_LINES = 3
"""Lines shown either side of a compile error."""
MAX_COMPILE_CHARS = 1_000_000
"""Past this a file is not compile-checked (compiling model output costs host CPU)."""
_LINE_SUFFIX = re.compile(r"^(?P<path>.+?):(?P<first>\d+)(?:-(?P<last>\d+))?:?$")
_VIEW_NUMBER = re.compile(r"^ *\d+\| ?")


REPO_ROOT = "/work"
"""Where the sandbox holds the repo (sandboxes.docker_sandbox.WORKDIR): ``/work/a.py`` is
``a.py``."""

UNCHANGED = "already has exactly this content"
"""What a write says when the file is already that: a small model's way of saying it is done."""


def normal_path(path: str) -> str:
    """``./a//b.py``, ``/work/a/b.py``, ``/a/b.py`` → ``a/b.py``: the one spelling the tools
    use, so read-only paths cannot be reached by another one. A path that leaves the repo
    (``../x``) stays as it is and is refused by ``_refusal``."""
    path = posixpath.normpath(path.strip().strip("`'\""))
    if path == REPO_ROOT or path.startswith(REPO_ROOT + "/"):
        path = path[len(REPO_ROOT) :]
    path = path.lstrip("/")
    return posixpath.normpath(path) if path else "."


def numbered(lines: list[str], first: int = 1) -> str:
    return "\n".join(f"{i:4}| {line}" for i, line in enumerate(lines, first))


def view(env: Environment, target: str) -> str:
    """The file with line numbers; ``path:40`` or ``path:40-60`` shows lines around there."""
    path, first, last = normal_path(target), 1, None
    content = env.read(path)
    suffix = _LINE_SUFFIX.match(path)
    if content is None and suffix is not None:  # `view app.py:10`, as citations are written
        path, first = suffix["path"], int(suffix["first"])
        last = int(suffix["last"]) if suffix["last"] else None
        content = env.read(path)
    if content is None:
        return f"Error: {path} does not exist.{_similar_files(env, path)}"
    lines = content.splitlines()
    if last is None and first > 1:  # one line asked for: some context before, more after
        first, last = max(1, first - 10), first + 30
    first = min(max(1, first), max(1, len(lines)))
    last = min(last or first + VIEW_LINES - 1, len(lines), first + VIEW_LINES - 1)
    shown = numbered(lines[first - 1 : last], first)
    where = f"lines {first}-{last} of {len(lines)}" if (first, last) != (1, len(lines)) else ""
    more = (
        f"\n[… {len(lines) - last} more lines: view {path}:{last + 1}]" if last < len(lines) else ""
    )
    return f"{path} ({where or f'{len(lines)} lines'}):\n{shown}{more}"


def _similar_files(env: Environment, path: str) -> str:
    files = list_files(env)
    close = difflib.get_close_matches(path, files, n=3, cutoff=0.4)
    close += [f for f in files if posixpath.basename(f) == posixpath.basename(path)]
    close = list(dict.fromkeys(close))[:3]
    if close:
        return " Similar files: " + ", ".join(close) + "."
    return f" The repository has {len(files)} files; `ACTION: run ls` lists them."


def compile_problem(path: str, content: str) -> str | None:
    """Why ``content`` would not compile as ``path`` (Python only), with the lines around
    the error; None when it compiles or is not Python."""
    if not path.endswith(".py") or len(content) > MAX_COMPILE_CHARS:
        return None
    try:
        compile(content, path, "exec", dont_inherit=True)  # parses only: nothing runs
    except SyntaxError as error:
        line = error.lineno or 1
        lines = content.splitlines()
        low, high = max(1, line - CONTEXT_LINES), min(len(lines), line + CONTEXT_LINES)
        around = "\n".join(
            f"{'>' if i == line else ' '}{i:3}| {lines[i - 1]}" for i in range(low, high + 1)
        )
        return f"{type(error).__name__} at line {line}: {error.msg}\n{around}"
    except (ValueError, RecursionError, MemoryError) as error:  # NUL bytes, absurd nesting
        return f"{type(error).__name__}: {error}"
    return None


def _top_level_names(content: str) -> set[str] | None:
    try:
        tree = ast.parse(content)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


def dropped_definitions(path: str, old: str | None, new: str) -> list[str]:
    """Top-level functions and classes of a Python file that a whole-file write would lose
    (a model rewriting one function dropped the helper beside it)."""
    if old is None or not path.endswith(".py") or max(len(old), len(new)) > MAX_COMPILE_CHARS:
        return []
    before, after = _top_level_names(old), _top_level_names(new)
    if before is None or after is None:
        return []
    return sorted(before - after)


def stub_line(content: str) -> int | None:
    """The line of a stub's ``raise NotImplementedError``, if the file still has one."""
    found = _STUB.search(content)
    return None if found is None else content.count("\n", 0, found.start()) + 1


def _refusal(path: str, read_only: frozenset[str]) -> str | None:
    """Why the agent may not write ``path`` (already normal), or None."""
    if path in (".", "") or path == ".." or path.startswith("../"):
        return f"Error: {path!r} is not a file inside the repository."
    if path == ".git" or path.startswith(".git/"):
        return "Error: .git belongs to the sandbox's record of your work: it is not writable."
    if path in read_only:
        return (
            f"Error: {path} is one of the job's tests, which decide whether the work is done: "
            "it is read-only. Change the code under test instead."
        )
    return None


def _write_checked(env: Environment, path: str, old: str | None, new: str) -> str | None:
    """Write unless a Python file that compiled before would stop compiling: the error."""
    problem = compile_problem(path, new)
    if problem is not None and (old is None or compile_problem(path, old) is None):
        return f"Error: not written: {path} would not compile.\n{problem}\nFix it and try again."
    if old is None and env.run(f"test -e {shlex.quote(path)}", timeout_s=30).ok:
        return f"Error: {path} is a folder (or not a plain file): name a file in it."
    try:
        env.write(path, new)
    except Exception as error:  # the sandbox refused it (a path through a file, a full disk)
        return f"Error: could not write {path}: {str(error)[:200]}"
    return None


def viewed_file(target: str) -> str:
    """The file a view asks for: ``app.py:12`` → ``app.py``."""
    path = normal_path(target)
    head, _, line = path.rpartition(":")
    return head if head and line.split("-")[0].isdigit() else path


def write(
    env: Environment, path: str, content: str, read_only: frozenset[str] = frozenset()
) -> tuple[str, bool]:
    """Replace (or create) the whole file. (observation, whether the file changed)"""
    path = normal_path(path)
    refused = _refusal(path, read_only)
    if refused:
        return refused, False
    content = _without_view_numbers(content)
    if content and not content.endswith("\n"):
        content += "\n"
    old = env.read(path)
    if old == content:
        return f"{path} {UNCHANGED}: nothing changed.", False
    dropped = dropped_definitions(path, old, content)
    if dropped:
        return (
            f"Error: not written: the new {path} leaves out {', '.join(dropped)}, which the "
            "file defines now (a write replaces the whole file). Write it again with every "
            "function and class it has; to remove one on purpose, use `ACTION: edit`.",
            False,
        )
    failed = _write_checked(env, path, old, content)
    if failed:
        return failed, False
    verb = "Created" if old is None else "Wrote"
    return f"{verb} {path} ({len(content.splitlines())} lines).{_unfinished(content)}", True


def edit(
    env: Environment, path: str, old: str, new: str, read_only: frozenset[str] = frozenset()
) -> tuple[str, bool]:
    """Replace ``old`` by ``new`` exactly once; a new file when ``old`` is empty.
    (observation, whether the file changed)"""
    path = normal_path(path)
    refused = _refusal(path, read_only)
    if refused:
        return refused, False
    content = env.read(path)
    if content is None:
        if old.strip():
            return (
                f"Error: {path} does not exist; to create it, leave the SEARCH part empty.",
                False,
            )
        return write(env, path, new, read_only)
    count = content.count(old) if old else 0
    if count == 1:
        edited = content.replace(old, new, 1)
        failed = _write_checked(env, path, content, edited)
        note = f"Edited {path}: replaced {len(old.splitlines())} line(s).{_unfinished(edited)}"
        return failed or note, not failed
    if count > 1:
        return (
            f"Error: the SEARCH text occurs {count} times in {path}; include more "
            "surrounding lines so it matches once.",
            False,
        )
    old, new = _without_view_numbers(old), _without_view_numbers(new)
    loose = _replace_ignoring_indentation(content, old, new)
    if loose is not None:
        failed = _write_checked(env, path, content, loose)
        note = f"Edited {path}: replaced {len(old.splitlines())} line(s) (indentation adjusted)."
        return failed or note, not failed
    if new.strip() and _replace_ignoring_indentation(content, new, new) is not None:
        # Small models sometimes write the blocks the wrong way round; say so, do not guess.
        return (
            f"Error: the SEARCH text is not in {path}, but the REPLACE text already is: the "
            "blocks look swapped. SEARCH must copy the lines as they are now, REPLACE gives "
            "the new lines.",
            False,
        )
    close = difflib.get_close_matches(
        old.strip().splitlines()[0] if old.strip() else "", content.splitlines(), n=3, cutoff=0.5
    )
    hint = ("\nClosest lines in the file:\n" + "\n".join(close)) if close else ""
    return (
        f"Error: the SEARCH text was not found in {path}; copy it exactly "
        f"(view the file first), or give the whole file with `write`.{hint}",
        False,
    )


_STUB = re.compile(r"^[ \t]*raise NotImplementedError\b", re.MULTILINE)


def _unfinished(content: str) -> str:
    """A note when the file still has a stub's ``raise NotImplementedError`` (models copy the
    stub back unchanged and call it done)."""
    line = stub_line(content)
    if line is None:
        return ""
    return f" Line {line} still raises NotImplementedError: replace it with the code."


def _without_view_numbers(text: str) -> str:
    """Drop the ``  12| `` prefixes that ``view`` adds, when a model copied them into a block."""
    lines = text.splitlines()
    if lines and all(_VIEW_NUMBER.match(line) for line in lines if line.strip()):
        return "\n".join(_VIEW_NUMBER.sub("", line, count=1) for line in lines) + (
            "\n" if text.endswith("\n") else ""
        )
    return text


def _replace_ignoring_indentation(content: str, old: str, new: str) -> str | None:
    """Replace the one run of lines equal to ``old`` up to leading/trailing whitespace,
    shifting ``new`` by the indentation difference (small models often mis-indent SEARCH)."""
    wanted = [line.strip() for line in old.strip("\n").splitlines()]
    if not wanted or not any(wanted):
        return None
    lines = content.splitlines(keepends=True)
    hits = [
        i
        for i in range(len(lines) - len(wanted) + 1)
        if [line.strip() for line in lines[i : i + len(wanted)]] == wanted
    ]
    if len(hits) != 1:
        return None
    start = hits[0]
    first_old = old.strip("\n").splitlines()[0]
    shift = (len(lines[start]) - len(lines[start].lstrip())) - (
        len(first_old) - len(first_old.lstrip())
    )
    replacement = []
    for line in new.strip("\n").splitlines():
        if shift > 0:
            line = " " * shift + line
        elif shift < 0 and line.startswith(" " * -shift):
            line = line[-shift:]
        replacement.append(line + "\n")
    return "".join(lines[:start] + replacement + lines[start + len(wanted) :])
