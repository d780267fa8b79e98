# The only entry point: `make book` builds everything, `make test` tests it.
# Make's own file dependencies keep rebuilds incremental: a chapter executes
# again only when its source, the package, the data or PARAMS change.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:

# The newest supported Python on PATH that can make a virtual environment, unless PYTHON= names one.
SUPPORTED_PYTHONS := 3.13 3.12 3.11
PYTHON ?= $(firstword $(foreach v,$(SUPPORTED_PYTHONS),$(shell python$(v) -c 'import venv, ensurepip' >/dev/null 2>&1 && echo python$(v))) \
    $(shell python3 -c 'import sys, venv, ensurepip; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' >/dev/null 2>&1 && echo python3))
PARAMS ?=
# The repository the book is published from, for its Binder and header buttons.
REPOSITORY ?= $(shell git remote get-url origin 2>/dev/null)

VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# OUT holds _build/ (the executed chapters, the HTML); tests point it elsewhere.
OUT ?= .
BUILD := $(OUT)/_build
STAGE := $(BUILD)/book
HTML := $(BUILD)/html
DATA := data/mnist.npz

CHAPTERS := $(sort $(wildcard chapters/*.md))
NOTEBOOKS := $(patsubst chapters/%.md,$(STAGE)/chapters/%.ipynb,$(CHAPTERS))
PAGES := $(addprefix $(STAGE)/,_config.yml _toc.yml intro.md bibliography.md references.bib)
PACKAGE := $(shell find src/nninv src/nninv_book -name '*.py')
# Trained networks, shared by every chapter and rebuild (see src/nninv_book/cache.py).
export NNINV_CACHE_DIR ?= $(abspath $(BUILD))/cache
PARAMS_USED := $(BUILD)/params
REPOSITORY_USED := $(BUILD)/repository
# The chapters' kernel: ipykernel without its file-descriptor capture thread, which
# can race the kernel's shutdown and print a traceback (no chapter writes at C level).
KERNEL := $(VENV)/share/jupyter/kernels/nninv/kernel.json

.PHONY: book run data test bench verify browser pins clean distclean cache-note FORCE

book: $(HTML)/index.html
	@echo "The book is built: open $(abspath $(HTML))/index.html"

run: $(NOTEBOOKS)

data: $(DATA)

test: $(INSTALLED) $(DATA) browser
	$(BIN)/python -m pytest

# Execute every chapter twice from clean and compare every glued number and figure.
verify: $(INSTALLED) $(DATA)
	rm -rf _build/verify
	$(MAKE) --no-print-directory run OUT=_build/verify/first NNINV_CACHE_DIR=$(abspath _build/verify/first/cache)
	$(MAKE) --no-print-directory run OUT=_build/verify/second NNINV_CACHE_DIR=$(abspath _build/verify/second/cache)
	$(BIN)/python -m nninv_book.notebooks _build/verify/first/_build/book/chapters _build/verify/second/_build/book/chapters

# The browser test needs Debian's Chromium; install it when missing and allowed to.
browser:
	@[ -n "$${NNINV_CHROMIUM:-}" ] || command -v chromium >/dev/null || { \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        echo "Installing Debian's chromium for the browser test"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	    else echo "chromium not found: the browser test will be skipped (install Debian's chromium to run it)"; fi; }

bench: $(INSTALLED) $(DATA)
	$(BIN)/python benchmarks/inversion.py

$(INSTALLED): pyproject.toml constraints.txt
	@test -x $(BIN)/python || { \
	    [ -n "$(PYTHON)" ] || { echo "error: no Python 3.11, 3.12 or 3.13 found on PATH (tried python3.13, python3.12, python3.11, python3); install one, or name it: make PYTHON=/path/to/python3.12" >&2; exit 1; }; \
	    echo "Creating $(VENV) with $$($(PYTHON) -c 'import sys; print("Python", sys.version.split()[0])') ($(PYTHON))"; \
	    $(PYTHON) -m venv $(VENV); }
	@echo "Installing the pinned environment into $(VENV) (the first time takes a few minutes)"
	$(BIN)/python -m pip install --quiet --quiet --disable-pip-version-check \
	    --constraint constraints.txt --editable ".[book,test]"
	@touch $@

$(DATA): data/mnist.sha256 | $(INSTALLED)
	$(BIN)/python -m nninv_book.data

# PARAMS and REPOSITORY are remembered so that changing them remakes what uses them.
remember = @mkdir -p $(@D); echo '$($(1))' | cmp -s - $@ || echo '$($(1))' > $@

$(PARAMS_USED): FORCE
	$(call remember,PARAMS)

$(REPOSITORY_USED): FORCE
	$(call remember,REPOSITORY)

$(KERNEL): $(INSTALLED)
	@mkdir -p $(@D)
	@printf '{"argv": ["%s", "-m", "ipykernel_launcher", "--IPKernelApp.capture_fd_output=False", "-f", "{connection_file}"], "display_name": "Python 3 (nninv)", "language": "python"}\n' "$(abspath $(BIN)/python)" > $@

# Said once per build, before any chapter runs: a cache folder that cannot be written.
cache-note: | $(INSTALLED)
	@$(BIN)/python -m nninv_book.cache

$(STAGE)/chapters/%.ipynb: chapters/%.md $(PACKAGE) $(DATA) $(PARAMS_USED) $(KERNEL) | cache-note
	@mkdir -p $(@D) $(BUILD)/source
	@$(BIN)/jupytext --quiet --to ipynb --output $(BUILD)/source/$*.ipynb $<
	@echo "Executing chapter $* $(PARAMS)"
	@start=$$(date +%s); \
	$(BIN)/papermill --log-level WARNING --kernel nninv $(BUILD)/source/$*.ipynb $@ $(PARAMS); \
	echo "  $* executed in $$(( $$(date +%s) - start )) s"

$(STAGE)/_config.yml: _config.yml tools/book_config.py $(REPOSITORY_USED) | $(INSTALLED)
	@mkdir -p $(@D)
	@$(BIN)/python tools/book_config.py $< $@ '$(REPOSITORY)'

$(STAGE)/%: % | $(INSTALLED)
	@mkdir -p $(@D)
	@cp $< $@

$(HTML)/index.html: $(NOTEBOOKS) $(PAGES)
	@echo "Building the HTML book"
	@start=$$(date +%s); \
	$(BIN)/jupyter-book build --warningiserror --nitpick --keep-going --path-output $(OUT) $(STAGE) > $(BUILD)/jupyter-book.log 2>&1 \
	    || { cat $(BUILD)/jupyter-book.log; exit 1; }; \
	echo "  HTML built in $$(( $$(date +%s) - start )) s"

# Maintainers: re-resolve every version and rewrite the pins in both files.
pins:
	rm -rf _build/pins && $(PYTHON) -m venv _build/pins
	_build/pins/bin/python -m pip install --quiet --quiet --editable ".[book,test]"
	_build/pins/bin/python tools/write_pins.py _build/pins/bin/python

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(VENV) $(DATA)
