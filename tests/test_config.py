from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sale_tui import trust
from sale_tui.config import AgentConfig, Settings, field_docs, load_settings
from sale_tui.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_any_file(tmp_path: Path) -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.agents == ()
    assert settings.models.retries == 3


def test_user_file_then_repo_file_then_env(tmp_path: Path) -> None:
    user = write(
        tmp_path / "user.toml",
        """
[models]
retries = 5
timeout_s = 30

[[agents]]
name = "a"
model = "gpt-4o-mini"
""",
    )
    repo = write(
        tmp_path / "repo" / ".sale-tui.toml",
        """
[models]
retries = 1

[[agents]]
name = "b"
model = "sale-local/smollm2-135m"
""",
    )
    untrusted = load_settings(user_file=user, repo_file=repo, environ={})
    assert untrusted.models.retries == 5  # a repo file applies only once trusted
    trust.trust(trust.read_repo_config(repo))
    settings = load_settings(
        user_file=user, repo_file=repo, environ={"SALE_TUI__LOCAL__N_CTX": "2048"}
    )
    assert settings.models.retries == 1  # repo wins over user
    assert settings.models.timeout_s == 30  # tables merge key by key
    assert [a.name for a in settings.agents] == ["b"]  # lists replace
    assert settings.local.n_ctx == 2048  # env wins over files


def test_repo_config_is_found_up_to_the_git_root(tmp_path: Path) -> None:
    repo = tmp_path / "project"
    (repo / "src" / "deep").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    trust.trust(trust.read_repo_config(write(repo / ".sale-tui.toml", "[models]\nretries = 9\n")))
    outer = write(tmp_path / ".sale-tui.toml", "[models]\nretries = 2\n")  # outside: ignored
    trust.trust(trust.read_repo_config(outer))
    assert load_settings(environ={}, cwd=repo / "src" / "deep").models.retries == 9
    (repo / ".sale-tui.toml").unlink()
    assert load_settings(environ={}, cwd=repo / "src").models.retries == 3


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "config.toml", "[models\nretries = 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(user_file=bad, environ={})
    assert str(bad) in info.value.message
    assert "malformed TOML" in info.value.message
    assert info.value.fix


def test_unknown_key_names_key_file_and_the_known_keys(tmp_path: Path) -> None:
    bad = write(tmp_path / "config.toml", "[models]\nretrys = 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(user_file=bad, environ={})
    assert "'models.retrys'" in info.value.message
    assert str(bad) in info.value.message
    assert "retries" in (info.value.fix or "")


def test_unknown_key_inside_an_agent(tmp_path: Path) -> None:
    bad = write(tmp_path / "config.toml", '[[agents]]\nname = "x"\nmodle = "gpt-4o"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(user_file=bad, environ={})
    assert "agents[0].modle" in info.value.message
    assert "model" in (info.value.fix or "")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[models]\nretries = -1\n", "models.retries"),
        ('[models]\nretries = "many"\n', "models.retries"),
        ('[[agents]]\nname = "has space"\nmodel = "m"\n', "agents[0].name"),
        ('[[agents]]\nname = "x"\nmodel = "m"\nprice_in = -2\n', "agents[0].price_in"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    bad = write(tmp_path / "config.toml", text)
    with pytest.raises(ConfigError) as info:
        load_settings(user_file=bad, environ={})
    assert f"'{key}'" in info.value.message
    assert str(bad) in info.value.message


def test_bad_env_override_names_the_variables() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"SALE_TUI__MODELS__RETRIES": "lots"})
    assert "SALE_TUI__" in info.value.message
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"SALE_TUI__NOPE__X": "1"})
    assert "'nope'" in info.value.message


def test_duplicate_agent_names_are_refused(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "c.toml", '[[agents]]\nname="a"\nmodel="m"\n[[agents]]\nname="a"\nmodel="n"\n'
    )
    with pytest.raises(ConfigError, match="used twice"):
        load_settings(user_file=bad, environ={})


def test_every_field_is_documented() -> None:
    rows = field_docs()
    keys = {key for key, _, _ in rows}
    assert {"agents[].model", "models.retries", "local.n_ctx"} <= keys
    undocumented = [key for key, _, description in rows if not description.strip()]
    assert undocumented == []
    assert len([k for k in keys if k.startswith("agents[].")]) == len(AgentConfig.model_fields)


def test_a_config_that_is_not_utf8_names_the_file_and_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_bytes(b"[models]\nretries = 3 # caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(user_file=bad, environ={})
    assert str(bad) in caught.value.message and "not UTF-8" in caught.value.message
    assert caught.value.fix == "save the file as UTF-8"


def test_sandbox_sizes_take_what_docker_takes_and_refuse_the_rest() -> None:
    for size in ("1g", "1.5g", "512mb", "1073741824", "2G"):
        assert load_settings(environ={"SALE_TUI__SANDBOX__MEMORY": f'"{size}"'}).sandbox.memory
    with pytest.raises(ConfigError, match=r"sandbox\.memory"):
        load_settings(environ={"SALE_TUI__SANDBOX__MEMORY": "lots"})
