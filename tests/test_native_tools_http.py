"""Native tool calls through the real litellm OpenAI path, against an OpenAI-compatible server
on loopback that replays scripted replies (no traffic leaves the machine).

This checks what a unit test at the model seam cannot: that litellm accepts the transcript the
loop builds (assistant ``tool_calls`` answered by ``tool`` messages) and returns the calls.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sale_tui.agents import AgentLimits, AgentStopped, AgentTask, run_agent
from sale_tui.config import ModelCallConfig
from sale_tui.models.client import LiteLLMModel
from sale_tui.prompting import PromptLibrary
from sale_tui.repo import snapshot
from sale_tui.roster import Agent
from sale_tui.sandboxes import Workspace
from sale_tui.sandboxes.environment import SandboxEnvironment
from tests.sandbox_helpers import make_repo

pytestmark = pytest.mark.sandbox


def tool_reply(index: int, name: str, **arguments: str) -> dict[str, Any]:
    call = {
        "id": f"call_{index}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }
    return {
        "id": f"chatcmpl-{index}",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
    }


REPLIES = [
    tool_reply(1, "view", path="calc.py"),
    tool_reply(2, "edit", path="calc.py", search="    return a - b", replace="    return a + b"),
    tool_reply(3, "test"),
    tool_reply(4, "finish", summary="add() now adds; the test passes"),
]


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body)
            reply = json.dumps(REPLIES[min(len(received), len(REPLIES)) - 1]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", received
    httpd.shutdown()


def test_a_hosted_style_agent_fixes_the_bug_with_native_tool_calls(
    server: tuple[str, list[dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_base, received = server
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-test")
    agent = Agent("hosted", "openai/fake-model", 1.0, 2.0, 8000, False, api_base, native_tools=True)
    model = LiteLLMModel(agent, ModelCallConfig(retries=0))
    task = AgentTask(
        "Fix add()",
        "view, edit, test",
        test_command="python3 -c 'import calc; assert calc.add(2, 3) == 5'",
    )
    with Workspace(snapshot(make_repo(tmp_path / "repo")), "native-http") as ws:
        events = list(
            run_agent(
                task,
                model,
                SandboxEnvironment(ws),
                PromptLibrary(),
                AgentLimits(max_steps=6),
                native_tools=True,
            )
        )
        patch = ws.patch()
    final = events[-1]
    assert isinstance(final, AgentStopped) and final.reason == "finished", final
    assert b"+    return a + b" in patch
    assert final.tokens == 4 * 110 and final.cost_usd == pytest.approx(4 * (100 * 1 + 10 * 2) / 1e6)
    assert len(received) == 4
    assert {t["function"]["name"] for t in received[0]["tools"]} >= {"edit", "finish"}
    assert "stop" not in received[0]
    last = received[-1]["messages"]
    assert [m["role"] for m in last[-2:]] == ["assistant", "tool"]
    assert last[-2]["tool_calls"][0]["id"] == "call_3"
    assert last[-1]["tool_call_id"] == "call_3"
    assert last[-1]["content"].startswith("Tests PASSED")
