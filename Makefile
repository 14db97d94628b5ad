# Two commands do all set-up on a fresh machine:
#   make serve   install, build the index of the bundled corpus if missing, serve on :5000
#   make test    install, run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install model index serve test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

# The CPU torch wheel goes in first and pinned: a plain `torch` requirement
# would otherwise pull the newest build with gigabytes of CUDA libraries.
$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install $(TORCH)
	$(BIN)/pip install -e '.[test]'
	touch $@

install: $(VENV)/.installed

index: install
	$(BIN)/storysearch index --if-missing

serve: index
	$(BIN)/storysearch serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) var
