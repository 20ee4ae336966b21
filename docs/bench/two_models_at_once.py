"""Would the two local Qwen bidders finish sooner side by side than one after the other?

Issue 16, item 5 ("local ones pipeline the work so that no core idles"). Each model loads in
its own process (as the engine worker does) and does one bid's work: 480 prompt tokens, then
128 generated greedily. ``seq``: one model at a time with both threads; ``par``: both at once
with one thread each. Run on an idle machine:

    .venv/bin/python docs/bench/two_models_at_once.py seq
    .venv/bin/python docs/bench/two_models_at_once.py par

Prints (model, threads, prompt seconds, generation seconds, tokens generated) per model.
"""

from __future__ import annotations

import sys
import time
from multiprocessing import Process, Queue
from pathlib import Path

MODELS = Path.home() / ".cache" / "sale-tui" / "models"
FILES = {
    "0.5b": MODELS / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    "1.5b": MODELS / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
}
# any English text will do: the auction's shared block, three times over
TEXT = (Path(__file__).parents[2] / "prompts" / "_auction_context.j2").read_text() * 3
PROMPT_TOKENS, GENERATED = 480, 128


def work(name: str, threads: int, results: Queue, start_at: float) -> None:
    from llama_cpp import Llama

    llm = Llama(
        str(FILES[name]), n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False
    )
    llm("warm up", max_tokens=1)  # loading is not what is measured
    while time.time() < start_at:  # both processes start the measured work together
        time.sleep(0.01)
    started = time.time()
    tokens = llm.tokenize(TEXT.encode())[:PROMPT_TOKENS]
    llm.reset()
    llm.eval(tokens)
    read = time.time()
    prompt = llm.detokenize(tokens).decode(errors="ignore")
    out = llm.create_completion(prompt, max_tokens=GENERATED, temperature=0.0)
    done = time.time()
    generated = out["usage"]["completion_tokens"]
    results.put((name, threads, round(read - started, 2), round(done - read, 2), generated))


def run(plan: list[tuple[str, int]]) -> list[tuple[object, ...]]:
    results: Queue = Queue()
    start_at = time.time() + 25  # time enough for both to load
    processes = [Process(target=work, args=(name, t, results, start_at)) for name, t in plan]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return [results.get() for _ in processes]


if __name__ == "__main__":
    if sys.argv[1:] == ["seq"]:
        for model in FILES:
            print("one after the other", run([(model, 2)]), flush=True)
    else:
        print("both at once", run([(model, 1) for model in FILES]), flush=True)
