# The README's commands. Both set up .venv once; later runs skip what is installed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ftcourse-installed
# nbgrader shells out to alembic, so the venv's bin/ goes first on PATH.
RUN    := PATH="$(CURDIR)/$(BIN):$$PATH" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

.PHONY: setup browser lab test release clean
setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install --upgrade-strategy only-if-needed -e ".[dev]"
	@# OMP_WAIT_POLICY: ftcourse.grading.execute.KERNEL_ENV says why.
	$(BIN)/python -m ipykernel install --sys-prefix --name ftcourse --display-name "Python (ftcourse)" \
	  --env OMP_WAIT_POLICY PASSIVE
	@touch $(STAMP)

# NO_BROWSER=1 starts headless (IP=0.0.0.0 to listen beyond localhost); containers often run as root.
LAB_FLAGS := $(if $(NO_BROWSER),--no-browser --ip=$(or $(IP),127.0.0.1)) $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(RUN) $(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_FLAGS)

# tests/test_browser.py drives Debian's Chromium: installed here where we may (as root or with passwordless
# sudo); elsewhere those tests are skipped and say what to install (in CI, CI=true, they fail instead).
browser:
	@command -v chromium >/dev/null || test -n "$$FTCOURSE_CHROMIUM" || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	  else echo "No Chromium, and no root to install it: the browser tests will be skipped."; exit 0; fi; \
	  command -v apt-get >/dev/null || { echo "No apt-get: install Chromium to run the browser tests."; exit 0; }; \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium fonts-liberation; }

# One pytest-xdist worker per core (at most 4); each notebook's browser and grading tests share a worker.
# The venv and Chromium install side by side (-j2): each keeps one core busy at most.
test:
	@$(MAKE) --no-print-directory -j2 setup browser
	$(RUN) $(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

release: setup
	$(RUN) $(BIN)/ftcourse release

clean:
	rm -rf build .pytest_cache
