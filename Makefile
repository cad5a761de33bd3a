# kiln: two commands on a fresh machine.
#   make demo   set everything up, then chat with kiln in this terminal (no tokens needed)
#   make test   set everything up, then run linters, type checks and the test suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install lint typecheck unit clean

demo: $(STAMP)
	@$(BIN)/kiln demo

test: lint typecheck unit

install: $(STAMP)

# Re-install whenever the pins or the project metadata change.
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# bandit: print every finding of the full scan, then fail on HIGH severity only
	@# (docs/SECURITY.md says why the low and medium ones are accepted).
	$(BIN)/bandit -q -r bot storage adapters kiln --exit-zero -f custom \
		--msg-template "{relpath}:{line} {test_id} {severity}/{confidence} {msg}"
	$(BIN)/bandit -q -r bot storage adapters kiln --severity-level high

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache kiln-demo.db*
