"""How often an agent's bid is dropped as degenerate (copied prompt lines, code, a loop) on the
bench's 20 HumanEval + 20 HotpotQA jobs, with the bid prompt as shipped or with one more
sentence at its end. The bid call is the auction's own (128 tokens, greedy, penalty 1.1).

    .venv/bin/python docs/bench/bid_copy_rate.py ["EXTRA SENTENCE"] [AGENT]
"""

import os, sys, time
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
from sale_tui.runner import build_runner
from sale_tui.prompting import PromptLibrary
from sale_tui.benchmark.tasks import HOTPOTQA, load, split
from sale_tui.benchmark.sale import job_text
from sale_tui.auction.scoring import degenerate_reason
tail = sys.argv[1] if len(sys.argv) > 1 else ""
agent_name = sys.argv[2] if len(sys.argv) > 2 else "qwen-0.5b"
tasks, _ = split(load(["humaneval", "hotpotqa"], HOTPOTQA), 20, 0, 0)
runner = build_runner([agent_name]); agent = runner.agents[0]; lib = PromptLibrary()
bad = {"coding": 0, "research": 0}; t0 = time.time()
for task in tasks:
    prompt = lib.render("bid", job=job_text(task), kind=task.domain, repo_summary="", context="", max_tokens=128)
    if tail:
        prompt = prompt.rstrip() + " " + tail
    r = agent.model.complete([{"role": "user", "content": prompt}], max_tokens=128, temperature=0.0,
        logprobs=True, top_logprobs=5, repetition_penalty=1.1, stop_if_repeating=True)
    why = degenerate_reason(r.text.strip(), prompt)
    if why: bad[task.domain] += 1
    print(task.domain, bool(why), repr(r.text[:70]), flush=True)
print("dropped", bad, f"{time.time()-t0:.0f} s")
