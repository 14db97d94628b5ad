# Two commands do all set-up on a fresh machine:
#   make serve   install, build the index of the bundled corpus if missing, serve on :5000
#   make test    install, run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH := torch==2.13.0
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install browser index serve test clean

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

# The browser tests drive Debian's Chromium; as root with apt-get we install
# it (and a CJK font for the screenshots), elsewhere those tests say why they skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei \
	      || echo "note: could not install chromium; the browser tests will be skipped"; \
	  else echo "note: chromium is not installed and this is not root with apt-get; the browser tests will be skipped"; fi; }

test: install browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) var
