# The two commands a newcomer needs: `make demo` and `make test`. Everything else is here too.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PACK := $(VENV)/bin/pack
STAMP := $(VENV)/.installed
PYTHON_ARCHIVE ?=

.PHONY: demo test lint bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# An interpreter archive in python-build-standalone's format: PYTHON_ARCHIVE when given, else a
# download by pack, else one made from the local interpreter (machines without internet).
build/python-archive.path: $(STAMP)
	@mkdir -p build
	@if [ -n "$(PYTHON_ARCHIVE)" ]; then \
		echo "$(abspath $(PYTHON_ARCHIVE))" > $@; \
	elif archive=$$($(PACK) -q python fetch $$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])') 2>/dev/null); then \
		echo "$$archive" > $@; \
	else \
		echo "make: python-build-standalone is unreachable; making an interpreter archive from the local Python (tests/helpers/python_archive.py)"; \
		$(PY) -m tests.helpers.python_archive build/pbs | head -n1 > $@; \
	fi

demo: build/python-archive.path
	$(PACK) build examples/hello --python-archive "$$(cat build/python-archive.path)" --out dist
	@tmp=$$(mktemp -d); \
	tar -xf dist/hello-1.0.0-*.tar.zst -C "$$tmp"; \
	echo "--- unpacked into $$tmp; running $$tmp/hello-1.0.0/bin/hello"; \
	"$$tmp/hello-1.0.0/bin/hello" demo; \
	echo "--- $$tmp/hello-1.0.0/bin/hello self info"; \
	"$$tmp/hello-1.0.0/bin/hello" self info; \
	rm -rf "$$tmp"

test: $(STAMP)
	bash tools/system-deps.sh
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check packager runtime_stub tests bench
	$(VENV)/bin/ruff format --check packager runtime_stub tests bench
	$(VENV)/bin/mypy

bench: build/python-archive.path
	@{ command -v hyperfine && command -v zstd && command -v bwrap; } >/dev/null 2>&1 || \
		{ echo "make bench: installing hyperfine, zstd and bubblewrap"; \
		  apt-get update -qq && apt-get install -y -qq hyperfine zstd bubblewrap >/dev/null; }
	$(PY) -m bench --python-archive "$$(cat build/python-archive.path)"

bench-quick: build/python-archive.path
	$(PY) -m bench --python-archive "$$(cat build/python-archive.path)" --quick

clean:
	rm -rf build dist bench/work .pytest_cache .mypy_cache .ruff_cache
