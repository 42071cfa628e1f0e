PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config.toml

.PHONY: run test lint corpus bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/aggregator serve -c $(CONFIG)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# feedparser's own test feeds, from its sdist for the installed version, unpacked once: the
# differential test of feeds/fastxml.py reads them.
CORPUS := .cache/feedparser-corpus
corpus: $(VENV)/.installed-test
	@version=$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("feedparser"))'); \
	if [ "$$(cat $(CORPUS)/.version 2>/dev/null)" != "$$version" ]; then \
		rm -rf $(CORPUS) && mkdir -p $(CORPUS) .cache/corpus && \
		$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: \
			feedparser==$$version -d .cache/corpus && \
		tar -xzf .cache/corpus/feedparser-$$version.tar.gz -C $(CORPUS) --strip-components=1 && \
		echo "$$version" > $(CORPUS)/.version; \
	fi

# One test process per core, at most four: many tests wait on real timeouts and child processes.
PYTEST_PARALLEL := -n auto --maxprocesses 4

test: lint corpus
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

# Fetching, parsing and serving figures into bench/RESULTS.md; BENCH_ARGS="--feeds 500 --rss" ...
# nginx and wrk come from Debian (run as root the first time).
bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || \
		{ apt-get update && apt-get install -y --no-install-recommends nginx-light; }
	@command -v wrk >/dev/null || { apt-get update && apt-get install -y --no-install-recommends wrk; }
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
