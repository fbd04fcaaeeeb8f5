# fashion-lab: `make reports` runs every notebook into reports/, `make test` checks everything.
# Every target sets up what it needs first; set-up steps do nothing when already done.

EVCXR_VERSION := 0.22.0
VENV          := .venv
# In the activated conda env of environment.yml (`conda activate fashion-lab`), that env is the
# Python side and no .venv is made; otherwise the project venv.
CONDA_ENV     := $(if $(filter fashion-lab,$(CONDA_DEFAULT_ENV)),$(CONDA_PREFIX))
PY            := $(if $(CONDA_ENV),$(CONDA_ENV)/bin/python,$(VENV)/bin/python)
PYTHON_SIDE   := $(if $(CONDA_ENV),conda-env,venv)
NOTEBOOKS     := $(sort $(wildcard notebooks/[0-9][0-9]-*.ipynb))
# Which settings the notebooks run with (crate/src/protocol.rs): classroom (the default, the
# report's experiments shortened to fit a class hour), report (the report's own settings; hours),
# quick (the tests). `make reports PROTOCOL=report` writes reports/report/, kept apart.
PROTOCOL      ?= classroom
ifeq ($(filter $(PROTOCOL),quick classroom report),)
$(error PROTOCOL=$(PROTOCOL) is not a protocol: use quick, classroom or report)
endif
REPORTS_DIR   := reports$(if $(filter-out classroom,$(PROTOCOL)),/$(PROTOCOL))
EXECUTED      := $(patsubst notebooks/%.ipynb,$(REPORTS_DIR)/%.ipynb,$(NOTEBOOKS))
PDFS          := $(EXECUTED:.ipynb=.pdf)
CRATE_SOURCES := Cargo.toml $(shell find crate -name '*.rs' -o -name Cargo.toml 2>/dev/null)
EXPORT_TOOLS  := tools/export.py tools/report.css

export EVCXR_VERSION

.PHONY: all setup data venv conda-env kernel chromium reports pdfs export test lab serve bench clean clean-runs

all: reports

setup: data $(PYTHON_SIDE) kernel chromium

data:
	@tools/setup-data.sh

# Chromium and chromedriver (Debian packages): the page's browser test and the reports' PDFs.
chromium:
	@tools/setup-chromium.sh

venv:
	@tools/setup-venv.sh

conda-env:
	@$(PY) -c "import nbclient, nbconvert, jupyterlab" 2>/dev/null || { echo "error: the conda env fashion-lab lacks its packages; run: conda env update -f environment.yml" >&2; exit 1; }

# The kernel spec goes where the Python side's Jupyter looks: .venv/share/jupyter, or the conda env's.
kernel: $(PYTHON_SIDE)
	@KERNEL_PREFIX=$(if $(CONDA_ENV),$(CONDA_ENV),$(VENV)) tools/setup-kernel.sh

# A notebook is run again when it or the crate changed; its HTML and PDF are remade when the run
# or the export changed. Without Chromium only the HTML is made; once Chromium is installed,
# `make reports` (or `make pdfs`) prints the PDFs without running any notebook.
reports: setup $(PDFS)

# The executed notebooks are results, not make's intermediate files: keep them (make would
# delete them after exporting, and the next `make reports` would run every notebook again).
.SECONDARY: $(EXECUTED)

pdfs: $(PYTHON_SIDE) $(PDFS)

$(REPORTS_DIR)/%.ipynb: notebooks/%.ipynb $(CRATE_SOURCES) | setup
	@mkdir -p $(REPORTS_DIR)
	$(PY) tools/run_notebooks.py --protocol $(PROTOCOL) --out $(REPORTS_DIR) $<

$(REPORTS_DIR)/%.html $(REPORTS_DIR)/%.pdf: $(REPORTS_DIR)/%.ipynb $(EXPORT_TOOLS) | $(PYTHON_SIDE)
	$(PY) tools/export.py $<

# A notebook as you saved it in Lab, with your outputs, to HTML and PDF, without running it:
#   make export NB=notebooks/01-knn-vs-mlp.ipynb   ->  reports/exported/01-knn-vs-mlp.{html,pdf}
export: $(PYTHON_SIDE)
	@test -n "$(NB)" || { echo "usage: make export NB=path/to/notebook.ipynb" >&2; exit 1; }
	$(PY) tools/export.py --out reports/exported $(NB)

# Checks and tests build into a target folder kept between clones (~/.cache/fashion-lab/target),
# so a clean clone rebuilds only the crate, not its ~300 dependencies. CARGO_TARGET_DIR overrides.
test: export CARGO_TARGET_DIR ?= $(HOME)/.cache/fashion-lab/target
test: setup
	cargo fmt --all -- --check
	# The notebooks' rules: definitions only in from-scratch cells, short cells, no protocol switches.
	python3 tools/check_notebooks.py
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --all-features -- -D warnings
	# With the server: its API tests and the page in headless Chromium (crate/tests/serve/).
	cargo test --quiet --features serve
	# Kernels one at a time all build in one folder, $$TMPDIR/fashion-lab-kernel-0 (a stand-in kernel).
	python3 tools/test_kernel_folders.py
	# The runner must fail panics, `?` errors and compile errors (std-only notebooks, seconds each),
	# and the kernel must build Cargo.lock's versions (locked-deps: one `:dep` of a tiny crate).
	$(PY) tools/test_runner.py
	# Two kernels at a time, each with its own view of ~/.cache/evcxr (see tools/run_notebooks.py).
	$(PY) tools/run_notebooks.py --quick --jobs 2 --out target/notebooks-quick $(NOTEBOOKS)
	# The reports' HTML and PDF from those runs: title block, numbered figures, offline, A4.
	$(PY) tools/test_export.py $(patsubst notebooks/%,target/notebooks-quick/%,$(NOTEBOOKS))

# The kernels inherit the protocol from Jupyter: `make lab PROTOCOL=report`.
lab: setup
	FASHION_LAB_PROTOCOL=$(PROTOCOL) $(PY) -m jupyter lab notebooks/

# The deployment page, http://127.0.0.1:8765 by default. HOST=0.0.0.0 serves other computers too;
# PORT= another port; MODEL= the default model (a file name in models/, or a path).
HOST ?= 127.0.0.1
PORT ?= 8765
serve:
	cargo run --release -p fashion-lab --features serve --bin fashion-lab -- \
	  serve --host $(HOST) --port $(PORT) $(if $(MODEL),--model $(MODEL))

clean:
	rm -rf reports target/notebooks-quick

# The kept trainings of every protocol (runs/; README "Long runs"): the next run trains again.
clean-runs:
	rm -rf runs
