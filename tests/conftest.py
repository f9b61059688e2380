import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The suite runs offline and writes nothing outside the repo's ignored build/ and the
# temporary directory: every cache and runtime folder that libraries (and the kernels
# they start) would put under $HOME goes to build/test-home instead.
_home = ROOT / "build" / "test-home"
for var, sub in {
    "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
    "JUPYTER_DATA_DIR": "jupyter-data",
    "IPYTHONDIR": "ipython",
    "MPLCONFIGDIR": "matplotlib",
    "HF_HOME": "huggingface",
    "XDG_CACHE_HOME": "cache",
}.items():
    os.environ[var] = str(_home / sub)
# Under pytest-xdist (`make test` runs a worker per core) each worker, and every kernel it
# starts, computes on one thread: two workers with two threads each would fight for the cores.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import labdriver  # noqa: E402
from ftcourse.grading import layout  # noqa: E402

layout.ensure_env_bin_on_path()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def course_model():
    """``(model, tokenizer)`` of the course model on the CPU, loaded once; a test that changes the model deep-copies it."""
    from ftcourse import models

    return models.load(device="cpu")


@pytest.fixture(scope="session")
def lab(root, tmp_path_factory):
    """JupyterLab in headless Chromium, shared by the session or xdist worker (tests/labdriver.py);
    artifacts in build/browser/ (build/browser/gw0/, ... under xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    session = labdriver.Session(root, tmp_path_factory.mktemp("jupyterlab"), root / "build" / "browser" / worker)
    yield session
    session.close()


class _WorkerTimings:
    """Brings each xdist worker's browser timings back to the summary the controller prints."""

    @pytest.hookimpl
    def pytest_testnodedown(self, node, error):
        labdriver.TIMINGS.extend(tuple(t) for t in getattr(node, "workeroutput", {}).get("lab_timings", []))


def pytest_configure(config):
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_WorkerTimings())


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # an xdist worker
        session.config.workeroutput["lab_timings"] = list(labdriver.TIMINGS)


def pytest_terminal_summary(terminalreporter):
    if labdriver.TIMINGS:
        terminalreporter.section("the course in JupyterLab (headless Chromium)")
        for label, seconds in labdriver.TIMINGS:
            terminalreporter.write_line(f"{label:<40} {seconds:6.1f} s")
        terminalreporter.write_line(f"{'in all (summed over workers)':<40} {sum(s for _, s in labdriver.TIMINGS):6.1f} s")


LONGEST_FIRST = ["test_grade", "test_browser", "test_notebooks"]  # a class graded; every notebook, twice


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items):
    """Under `--dist loadgroup` a test without a group may land on any worker, and each worker builds
    the module-scoped fixtures it needs: the graded class of tests/test_grade.py took 570 s, built on
    both workers at once. A test that uses one is grouped with its module, so each is built once."""
    for item in items:
        if item.get_closest_marker("xdist_group") or not hasattr(item, "_fixtureinfo"):
            continue
        defs = item._fixtureinfo.name2fixturedefs
        if any(defs[name][-1].scope == "module" for name in item.fixturenames if name in defs):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    # The longest work first, the short tests last to even out the workers' ends (`make test` keeps this
    # order with --no-loadscope-reorder; xdist would otherwise queue the groups with the most tests first,
    # which left whole notebook runs for the end).
    items.sort(key=lambda item: LONGEST_FIRST.index(item.module.__name__) if item.module.__name__ in LONGEST_FIRST
               else len(LONGEST_FIRST))
