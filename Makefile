# Two commands: `make demo` (set-up + main job) and `make test` (set-up + lint + tests).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	# torch first, pinned: on this kind of machine 2.13.0 is a local CPU build; an unpinned
	# torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	# The editable install's "Editable installation." note is information, not a problem:
	# silenced so that real warnings stand out (pyproject.toml has no packaging warnings).
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/pourbench demo --out demo_out

lint: $(STAMP)
	$(BIN)/ruff check .

# two workers: most of a solver test is Taichi compiling its kernels, one core at a time
test: lint
	$(BIN)/pytest -q -n 2

clean:
	rm -rf $(VENV) demo_out .pytest_cache .ruff_cache
