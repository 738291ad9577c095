# Set-up and the two everyday jobs. `make demo` and `make test` each create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test setup clean

$(BIN)/maskvat-foley: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/maskvat-foley

demo: setup
	$(BIN)/maskvat-foley demo -o demo-out

test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) demo-out .pytest_cache
