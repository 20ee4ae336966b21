"""The CLI as a user runs it: a subprocess, real files, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli

HEAVY = ("litellm", "llama_cpp", "docker", "git", "sqlite_utils", "textual")


def imported_after(*argv: str) -> dict[str, bool]:
    code = (
        "import sys\n"
        f"sys.argv = ['sale-tui', *{list(argv)!r}]\n"
        "from sale_tui import cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        f"print({{m: m in sys.modules for m in {HEAVY!r}}})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return eval(result.stdout.strip().splitlines()[-1])  # a dict literal we printed


def test_help_and_version_do_not_import_heavy_libraries() -> None:
    assert not any(imported_after("--help").values())
    assert not any(imported_after("--version").values())
    assert not any(imported_after("models", "--help").values())


def test_no_command_without_a_terminal_prints_help_instead_of_the_tui() -> None:
    result = run_cli()
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout and "Open the TUI" in result.stdout
    assert "needs a terminal" in result.stderr
    assert not any(imported_after().values())  # nor does it load the app to say so


def test_listing_the_local_roster_does_not_import_litellm() -> None:
    assert imported_after("models")["litellm"] is False


def test_python_dash_m_and_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("sale-tui ")


def test_models_json_lists_the_local_roster_with_fixes() -> None:
    result = run_cli("models", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["smollm2", "qwen-0.5b", "qwen-1.5b"]
    assert all(r["local"] for r in rows)
    assert [r["price_in"] for r in rows] == sorted(r["price_in"] for r in rows)
    for row in rows:  # a fresh home has no weights
        assert row["ready"] is False
        assert row["fix"] in (
            f"sale-tui models pull {row['name']}",
            "pip install 'sale-tui[local]'",
        )


def test_models_table_fits_80_columns() -> None:
    result = run_cli("models", env={"COLUMNS": "80"})
    assert result.returncode == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "sale-tui models pull" in result.stdout


def test_bad_config_is_one_line_and_exit_2(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text("[models]\nretrys = 1\n")
    result = run_cli("models")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: config error in ")
    assert "retrys" in lines[0] and "retries" in lines[0]


def test_unknown_agent_is_exit_2() -> None:
    result = run_cli("prompt", "hi", "--agent", "gpt-9")
    assert result.returncode == 2
    assert "unknown agent 'gpt-9'" in result.stderr


def test_missing_weights_is_exit_3_with_the_fix() -> None:
    result = run_cli("prompt", "hi", "--agent", "qwen-1.5b")
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert "sale-tui models pull qwen-1.5b" in result.stderr or "sale-tui[local]" in result.stderr


def test_missing_api_key_is_exit_3_and_names_the_variable(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text('[[agents]]\nname = "gpt"\nmodel = "gpt-4o-mini"\n')
    result = run_cli("prompt", "hi")
    assert result.returncode == 3
    assert "OPENAI_API_KEY" in result.stderr


def test_pull_of_an_unknown_model_is_exit_2() -> None:
    result = run_cli("models", "pull", "llama-70b")
    assert result.returncode == 2
    assert "qwen-0.5b" in result.stderr


def test_config_doc_and_path() -> None:
    doc = run_cli("config", "show", "--doc", env={"COLUMNS": "200"})
    assert doc.returncode == 0 and "models.retries" in doc.stdout
    shown = run_cli("config", "show", "--json")
    assert json.loads(shown.stdout)["models"]["retries"] == 3
    where = run_cli("config", "path")
    assert "model cache" in where.stdout


def test_bad_flag_is_exit_2() -> None:
    result = run_cli("models", "--no-such-flag")
    assert result.returncode == 2
