# The only entry point: `make book` builds everything, `make test` tests it.
# Make's own file dependencies keep rebuilds incremental: a chapter executes
# again only when its source, the code it can run, the data or its own share
# of PARAMS change (expensive steps inside a chapter are cached besides, see
# src/nninv_book/cache.py).
# Nothing half-done is published: a chapter's notebook appears only once its
# execution has finished, and a failed HTML build fails again until mended.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
# Chapters execute JOBS at a time (each prints its own start and end lines).
JOBS ?= 2
MAKEFLAGS += --jobs=$(JOBS)

# The newest supported Python on PATH that can make a virtual environment, unless PYTHON= names one.
SUPPORTED_PYTHONS := 3.13 3.12 3.11
PYTHON ?= $(firstword $(foreach v,$(SUPPORTED_PYTHONS),$(shell python$(v) -c 'import venv, ensurepip' >/dev/null 2>&1 && echo python$(v))) \
    $(shell python3 -c 'import sys, venv, ensurepip; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' >/dev/null 2>&1 && echo python3))
PARAMS ?=
# The repository the book is published from, for its Binder and header buttons.
REPOSITORY ?= $(shell git remote get-url origin 2>/dev/null)
# Both are taken literally (make expands nothing in them) and reach recipes as
# environment variables, quoted, never as shell text.
override PARAMS := $(value PARAMS)
ifneq ($(filter command line environment,$(origin REPOSITORY)),)
override REPOSITORY := $(value REPOSITORY)
endif
export PARAMS REPOSITORY

VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# OUT holds _build/ (the executed chapters, the HTML); tests point it elsewhere.
OUT ?= .
# make cannot name a file whose path has a space (it splits it into two), so such a folder is refused.
$(foreach v,OUT SOURCE NNINV_DATA_DIR NNINV_CACHE_DIR,$(if $(findstring $(subst ,, ),$(value $(v))),\
    $(error $(v) is a path with a space ("$(value $(v))"), which make cannot name files in; choose a folder without spaces)))
BUILD := $(OUT)/_build
STAGE := $(BUILD)/book
HTML := $(BUILD)/html
# Executions in progress (one file per process) and the logs of failed ones.
EXECUTING := $(BUILD)/executing
LOGS := $(BUILD)/logs
DATA := $(or $(NNINV_DATA_DIR),data)/mnist.npz
# The book's sources: this folder; tests build small books of their own.
SOURCE ?= .

CHAPTERS := $(sort $(wildcard $(SOURCE)/chapters/*.md))
# Make starts the pages in this order, JOBS at a time: the longest first, so that the build does not end
# with one long chapter that started late running alone. Chapter 9 trains the convolutional judge first thing
# and Chapters 6 and 5 need no judge, so Chapter 4 (and the others) find the judge trained when they start
# instead of waiting for it. The landing page and the short chapters follow in the book's order.
LONGEST_FIRST := 09_convolutional_and_relu_networks 06_regularising_and_using_invertibility 05_open_questions \
    04_choosing_a_preimage 07_learned_inverses_and_priors 10_networks_built_to_be_inverted 08_deep_networks
STARTED_FIRST := $(foreach chapter,$(LONGEST_FIRST),$(filter %/$(chapter).md,$(CHAPTERS)))
# The landing page is executed like a chapter: its figure is drawn by code.
PAGE_SOURCES := $(STARTED_FIRST) $(SOURCE)/intro.md $(filter-out $(STARTED_FIRST),$(CHAPTERS))
NOTEBOOKS := $(patsubst $(SOURCE)/%.md,$(STAGE)/%.ipynb,$(PAGE_SOURCES))
# A notebook is published whole, by one mv, or not at all; make must not delete it when a recipe
# fails, for the notebook it would delete may be another build's, published meanwhile.
.PRECIOUS: $(NOTEBOOKS)
PAGES := $(addprefix $(STAGE)/,_config.yml _toc.yml bibliography.md references.bib)
# The code a chapter can run: the library and the book's code, less the modules that build only the
# PDF or the HTML, or take locks (none changes a result). notebooks.py stays: it finishes every executed
# notebook (and chapters glue its figures).
BUILD_ONLY := $(addprefix src/nninv_book/,pdf.py sphinx_page_fixes.py locks.py)
PACKAGE := $(filter-out $(BUILD_ONLY),$(shell find src/nninv src/nninv_book -name '*.py'))
# Trained networks, shared by every chapter and rebuild (see src/nninv_book/cache.py).
export NNINV_CACHE_DIR ?= $(abspath $(BUILD))/cache
PARAMS_USED := $(BUILD)/params
# Each chapter's own parameters (its share of PARAMS, as papermill gets them), rewritten only when they
# change, so that a chapter executes again only when its own parameters change.
PARAMETERS := $(BUILD)/parameters
# Held to rewrite a chapter's parameters and to publish a chapter that executed with them.
PARAMETERS_LOCK := $(BUILD)/parameters.lock
REPOSITORY_USED := $(BUILD)/repository
# The chapters' kernel: ipykernel without its file-descriptor capture thread, which
# can race the kernel's shutdown and print a traceback (no chapter writes at C level).
KERNEL := $(VENV)/share/jupyter/kernels/nninv/kernel.json

.PHONY: book run data test test-fast bench verify browser lab pdf pins clean distclean preflight FORCE

book: $(HTML)/index.html
	@echo "The book is built: open $(abspath $(HTML))/index.html"

run: $(NOTEBOOKS)

# Builds the data when missing and verifies it when present.
data: | $(INSTALLED)
	$(BIN)/python -m nninv_book.data

# Every test, on every core (pytest-xdist): each test file stays in one process, the tests that read the
# built book share one build, and the two book builds start first, side by side (see tests/conftest.py).
test: $(INSTALLED) $(DATA) browser
	$(BIN)/python -m pytest -n auto --dist loadgroup --no-loadscope-reorder

# The fast loop: the library's and the book code's tests, without executing a chapter, building
# the book, running make or pip, or installing Chromium (the `chapters` and `slow` markers), on
# every core (pytest-xdist; a test file stays in one process, so its fixtures are made once).
test-fast: $(INSTALLED) $(DATA)
	$(BIN)/python -m pytest -m "not chapters and not slow" -n auto --dist loadfile

# Execute every chapter twice from clean and compare every glued number and figure.
verify: $(INSTALLED) $(DATA)
	rm -rf _build/verify
	$(MAKE) --no-print-directory run OUT=_build/verify/first NNINV_CACHE_DIR=$(abspath _build/verify/first/cache)
	$(MAKE) --no-print-directory run OUT=_build/verify/second NNINV_CACHE_DIR=$(abspath _build/verify/second/cache)
	$(BIN)/python -m nninv_book.notebooks compare _build/verify/first/_build/book/chapters _build/verify/second/_build/book/chapters

# The browser test needs Debian's Chromium; install it when missing and allowed to.
# The browser test and make pdf need Debian's Chromium (and poppler-utils to read the PDF
# back); both are installed when missing and allowed to.
browser:
	@{ [ -n "$${NNINV_CHROMIUM:-}" ] || command -v chromium >/dev/null; } && command -v pdftotext >/dev/null || { \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        echo "Installing Debian's chromium and poppler-utils for the browser test and the PDF"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium poppler-utils >/dev/null; \
	    else echo "chromium or pdftotext not found: the browser and PDF tests will be skipped (install Debian's chromium and poppler-utils to run them)"; fi; }

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

$(DATA): $(wildcard data/mnist.sha256) | $(INSTALLED)
	$(BIN)/python -m nninv_book.data

# PARAMS and REPOSITORY are remembered so that changing them remakes what uses them.
remember = @mkdir -p $(@D); printf '%s\n' "$$$(1)" | cmp -s - $@ || { printf '%s\n' "$$$(1)" > $@.$$$$ && mv $@.$$$$ $@; }

$(PARAMS_USED): FORCE
	$(call remember,PARAMS)

$(REPOSITORY_USED): FORCE
	$(call remember,REPOSITORY)

$(KERNEL): $(INSTALLED)
	@mkdir -p $(@D)
	@printf '{"argv": ["%s", "-m", "ipykernel_launcher", "--IPKernelApp.capture_fd_output=False", "-f", "{connection_file}"], "display_name": "Python 3 (nninv)", "language": "python"}\n' "$(abspath $(BIN)/python)" > $@

# Checked once per build, before any chapter runs: PARAMS (names and values), and
# whether trained networks can be cached (said once when they cannot).
# Files that executions killed outright left under $(EXECUTING) are removed: those of a process that
# is gone or a zombie (a process whose state ps cannot tell is taken to be alive).
preflight: $(PARAMS_USED) | $(INSTALLED)
	@$(BIN)/python -m nninv_book.parameters --chapters $(SOURCE)/chapters
	@$(BIN)/python -m nninv_book.locks --check $(BUILD)/html.lock $(PARAMETERS_LOCK)
	@$(BIN)/python -m nninv_book.cache
	@shopt -s nullglob; for file in $(EXECUTING)/*; do pid=$${file##*/}; pid=$${pid#*.}; pid=$${pid%%.*}; \
	    if [[ $$pid =~ ^[0-9]+$$ ]] && { ! kill -0 "$$pid" 2>/dev/null || ps -o stat= -p "$$pid" 2>/dev/null | grep -q '^Z'; }; \
	    then rm -f "$$file"; fi; done

# A static pattern rule: its files are explicit targets, never intermediates make would delete.
$(patsubst $(STAGE)/%.ipynb,$(PARAMETERS)/%.yaml,$(NOTEBOOKS)): $(PARAMETERS)/%.yaml: FORCE | preflight
	@mkdir -p $(@D); $(BIN)/python -m nninv_book.parameters --chapters $(SOURCE)/chapters $(SOURCE)/$*.md > $@.$$$$; \
	$(BIN)/python -m nninv_book.locks $(PARAMETERS_LOCK) \
	    bash -c 'if cmp -s "$$1" "$$2"; then rm "$$1"; else mv "$$1" "$$2"; fi' - $@.$$$$ $@

# papermill writes into a file of this process's own under $(EXECUTING); only a
# finished execution is moved into place, so an interrupted or failed one leaves
# no notebook behind and runs again next time. A failure is told in a few lines;
# its notebook and papermill's log are kept under $(LOGS) (a success's log too); a success lists
# the claims of its prose that no longer hold at these PARAMS (nninv_book.claims). A notebook is
# published only if its parameters are still the chapter's: when another build with other PARAMS
# rewrote them meanwhile, it is that build's to publish, and this one fails.
# jupyter_client picks a kernel's ports free and lets go of them before the kernel binds them, so two
# kernels starting at the same moment can pick the same one: an execution that fails for that cause alone
# starts once more.
$(STAGE)/%.ipynb: $(SOURCE)/%.md $(PACKAGE) $(DATA) $(PARAMETERS)/%.yaml $(KERNEL) | preflight
	@mkdir -p $(@D) $(EXECUTING) $(LOGS)
	@name=$(notdir $*); run=$(EXECUTING)/$$name.$$$$; trap 'rm -f "$$run".*' EXIT; rm -f $(STAGE)/$*.md; \
	$(BIN)/jupytext --quiet --to ipynb --output "$$run.source.ipynb" $<; \
	cp $(PARAMETERS)/$*.yaml "$$run.yaml"; \
	echo "Executing $$name"; start=$$(date +%s); \
	execute() { $(BIN)/papermill --log-level WARNING --no-progress-bar --kernel nninv --parameters_file "$$run.yaml" \
	        "$$run.source.ipynb" "$$run.ipynb" > $(LOGS)/$$name.log 2>&1; }; \
	if execute || { grep -q 'Address already in use' $(LOGS)/$$name.log \
	        && echo "  $$name: its kernel lost a port to another kernel starting at the same moment; starting it again" && execute; }; then \
	    $(BIN)/python -m nninv_book.notebooks hide-injected "$$run.ipynb"; \
	    $(BIN)/python -m nninv_book.locks $(PARAMETERS_LOCK) bash -c 'cmp -s "$$1" "$$2" && mv "$$3" "$$4"' - \
	        "$$run.yaml" $(PARAMETERS)/$*.yaml "$$run.ipynb" $@ \
	    || { echo "error: another build changed the parameters of $$name while it executed, so this build does not publish it; that build will" >&2; exit 1; }; \
	    echo "  $$name executed in $$(( $$(date +%s) - start )) s"; \
	    $(BIN)/python -m nninv_book.claims report $@; \
	else \
	    rm -f $(LOGS)/$$name.ipynb; [ ! -f "$$run.ipynb" ] || mv "$$run.ipynb" $(LOGS)/$$name.ipynb; \
	    $(BIN)/python -m nninv_book.notebooks explain $< $(LOGS)/$$name.ipynb $(LOGS)/$$name.log >&2; exit 1; \
	fi

$(STAGE)/_config.yml: $(SOURCE)/_config.yml tools/book_config.py $(REPOSITORY_USED) | $(INSTALLED)
	@mkdir -p $(@D)
	@$(BIN)/python tools/book_config.py $< $@.$$$$ "$$REPOSITORY" && mv $@.$$$$ $@

$(STAGE)/%: $(SOURCE)/% | $(INSTALLED)
	@mkdir -p $(@D)
	@cp $< $@.$$$$ && mv $@.$$$$ $@

# Two builds in one checkout take turns here. Jupyter Book leaves index.html (a redirect) as it was,
# so it is touched: the HTML is then up to date until a page changes again. A failed build forgets what Sphinx
# read (its doctrees), so the next build reads every page again and fails again
# until the cause is mended.
# What the site's pages are built with besides the notebooks: the page fixes and their scripts and styles.
SITE_CODE := src/nninv_book/sphinx_page_fixes.py $(wildcard src/nninv_book/static/*)

$(HTML)/index.html: $(NOTEBOOKS) $(PAGES) $(SITE_CODE)
	@echo "Building the HTML book"
	@start=$$(date +%s); \
	$(BIN)/python -m nninv_book.locks $(BUILD)/html.lock \
	    $(BIN)/jupyter-book build --warningiserror --nitpick --keep-going --path-output $(OUT) $(STAGE) > $(BUILD)/jupyter-book.log 2>&1 \
	    || { cat $(BUILD)/jupyter-book.log; rm -rf $(BUILD)/.doctrees $(HTML)/index.html; exit 1; }; \
	touch $@; echo "  HTML built in $$(( $$(date +%s) - start )) s"

# The whole book as one PDF (see src/nninv_book/pdf.py): Jupyter Book's single-page HTML,
# printed by Chromium, then copied into the HTML site and linked from its landing page.
PDF := $(BUILD)/pdf/inverting-a-neural-network.pdf
pdf: $(PDF) $(HTML)/index.html
	@$(BIN)/python -m nninv_book.pdf --link $(PDF) $(HTML)

$(PDF): $(NOTEBOOKS) $(PAGES) $(SITE_CODE) src/nninv_book/pdf.py | browser
	@echo "Building the single-page HTML for the PDF"
	@mkdir -p $(@D)
	@$(BIN)/python -m nninv_book.locks $(BUILD)/html.lock \
	    $(BIN)/jupyter-book build --builder singlehtml --warningiserror --nitpick --keep-going --path-output $(@D) $(STAGE) \
	    > $(@D)/jupyter-book.log 2>&1 || { cat $(@D)/jupyter-book.log; rm -rf $(@D)/_build/.doctrees; exit 1; }
	@echo "Printing the PDF with Chromium"
	@$(BIN)/python -m nninv_book.pdf $(STAGE)/_config.yml $(@D)/_build/singlehtml/intro.html $@

# JupyterLab on the chapters: each MyST file opens as a notebook (jupytext) on the project's
# Python, with the data built and the cache of trained networks shared with make book.
LAB_OPTIONS ?=
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
lab: $(INSTALLED) $(DATA)
	@mkdir -p $(dir $(LAB_SETTINGS))
	@printf '%s\n' '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook"}}}' > $(LAB_SETTINGS)
	$(BIN)/jupyter lab --ServerApp.root_dir=chapters --LabApp.extension_manager=readonly \
	    --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_OPTIONS)

# Maintainers: re-resolve every version and rewrite the pins in both files.
pins:
	rm -rf _build/pins && $(PYTHON) -m venv _build/pins
	_build/pins/bin/python -m pip install --quiet --quiet --editable ".[book,test]"
	_build/pins/bin/python tools/write_pins.py _build/pins/bin/python

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(VENV) $(DATA)
