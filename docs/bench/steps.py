"""Prompt tokens per step over a 16-step job: a real sandbox and repo, scripted replies, and
Qwen2.5-Coder's own tokenizer counting what each step sends. PYTHONPATH=<checkout> picks the
version measured."""
import subprocess, sys, tempfile
from pathlib import Path

import llama_cpp

from sale_tui.agents import AgentLimits, AgentTask, run_agent
from sale_tui.models.scripted import ScriptedModel
from sale_tui.prompting import PromptLibrary
from sale_tui.repo import snapshot
from sale_tui.sandboxes import Workspace
from sale_tui.sandboxes.environment import SandboxEnvironment

vocab = llama_cpp.Llama(
    str(Path.home() / ".cache/sale-tui/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
    vocab_only=True, verbose=False,
)
repo = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/bench14/agentic/repos/HumanEval_54")
replies = [
    "ACTION: view solution.py", "ACTION: view test_solution.py", "ACTION: test",
    "ACTION: run ls -la", "ACTION: search def", "ACTION: run python3 -m pytest -q -p no:cacheprovider -v",
    "ACTION: view solution.py", "ACTION: run cat test_solution.py", "ACTION: test",
    "ACTION: search return", "ACTION: run seq 1 300", "ACTION: view test_solution.py",
    "ACTION: run seq 2 301", "ACTION: test", "ACTION: run ls", "ACTION: search same",
]
queue = iter(replies)
sizes = []

def respond(request):
    text = "\n".join(f"{m['role']}: {m.get('content') or ''}" for m in request.messages)
    sizes.append(len(vocab.tokenize(text.encode(), add_bos=False)))
    return next(queue, "ACTION: finish done")

model = ScriptedModel("agent", respond, price_in=1.0, price_out=1.0)
task = AgentTask("Implement `same_chars` in solution.py so that it does what its docstring says.",
                 "look, then write", "coding", "python3 -m pytest -q -p no:cacheprovider", "")
with Workspace(snapshot(repo), "steps") as ws:
    list(run_agent(task, model, SandboxEnvironment(ws), PromptLibrary(), AgentLimits(max_steps=16)))
print(" ".join(str(s) for s in sizes))
print("total", sum(sizes))
