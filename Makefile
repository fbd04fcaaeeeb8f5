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

.PHONY: all setup data venv kernel chromium reports test lab serve bench clean

all: reports

setup: data venv kernel chromium

data:
	@tools/setup-data.sh

# Chromium and chromedriver (Debian packages): the page's browser test and the reports' PDFs.
chromium:
	@tools/setup-chromium.sh

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
	cargo clippy --all-targets --all-features -- -D warnings
	# With the server: its API tests and the page in headless Chromium (crate/tests/serve/).
	cargo test --quiet --features serve
	# The runner must fail panics, `?` errors and compile errors: std-only notebooks, seconds each.
	$(PY) tools/test_runner.py
	# Two kernels at a time, each with its own view of ~/.cache/evcxr (see tools/run_notebooks.py).
	$(PY) tools/run_notebooks.py --quick --jobs 2 --out target/notebooks-quick $(NOTEBOOKS)

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

# The deployment page, http://127.0.0.1:8765 by default. HOST=0.0.0.0 serves other computers too;
# PORT= another port; MODEL= the default model (a file name in models/, or a path).
HOST ?= 127.0.0.1
PORT ?= 8765
serve:
	cargo run --release -p fashion-lab --features serve --bin fashion-lab -- \
	  serve --host $(HOST) --port $(PORT) $(if $(MODEL),--model $(MODEL))

clean:
	rm -rf reports target/notebooks-quick
