"""An OpenAI-compatible chat server on loopback that records every request (headers included)
and answers with one fixed reply, streamed or not: the probes' stand-in for a provider, or for
an attacker's endpoint. No traffic leaves the machine."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: dict[str, Any]


@dataclass
class FakeProvider:
    api_base: str
    requests: list[Received] = field(default_factory=list)


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }


def _chunk(delta: dict[str, Any], finish: str | None, usage: bool = False) -> bytes:
    data: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        data["usage"] = {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
    return f"data: {json.dumps(data)}\n\n".encode()


@contextmanager
def fake_provider(reply: str = "ok") -> Iterator[FakeProvider]:
    server_state = FakeProvider("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            server_state.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if body.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.wfile.write(_chunk({"role": "assistant", "content": reply}, None))
                self.wfile.write(_chunk({}, "stop", usage=True))
                self.wfile.write(b"data: [DONE]\n\n")
                return
            payload = json.dumps(_completion(reply)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.api_base = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
