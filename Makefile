# fashion-lab: `make reports` runs every notebook into reports/, `make test` checks everything.
# Every target sets up what it needs first; set-up steps do nothing when already done.

EVCXR_VERSION := 0.22.0
VENV          := .venv
PY            := $(VENV)/bin/python
NOTEBOOKS     := $(sort $(wildcard notebooks/[0-9][0-9]-*.ipynb))
REPORTS       := $(patsubst notebooks/%.ipynb,reports/%.html,$(NOTEBOOKS))
CRATE_SOURCES := Cargo.toml $(shell find crate -name '*.rs' -o -name Cargo.toml 2>/dev/null)
PDF           := $(if $(wildcard /usr/bin/chromium),--pdf,)

export EVCXR_VERSION

.PHONY: all setup data venv kernel reports test lab bench clean

all: reports

setup: data venv kernel

data:
	@tools/setup-data.sh

venv:
	@tools/setup-venv.sh

kernel: venv
	@tools/setup-kernel.sh

# A report is redone when its notebook or the crate changed; otherwise `make reports` does nothing.
reports: setup $(REPORTS)

reports/%.html: notebooks/%.ipynb $(CRATE_SOURCES) | setup
	@mkdir -p reports
	$(PY) tools/run_notebooks.py --out reports --html $(PDF) $<

# Checks and tests build into a target folder kept between clones (~/.cache/fashion-lab/target),
# so a clean clone rebuilds only the crate, not its ~300 dependencies. CARGO_TARGET_DIR overrides.
test: export CARGO_TARGET_DIR ?= $(HOME)/.cache/fashion-lab/target
test: setup
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo test --quiet
	# The runner must fail panics, `?` errors and compile errors: std-only notebooks, seconds each.
	$(PY) tools/test_runner.py
	# Two kernels at a time, each with its own view of ~/.cache/evcxr (see tools/run_notebooks.py).
	$(PY) tools/run_notebooks.py --quick --jobs 2 --out target/notebooks-quick $(NOTEBOOKS)

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf reports target/notebooks-quick
