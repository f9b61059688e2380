"""Headless execution reports what went wrong and never hangs."""
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from ftcourse.grading.execute import KERNEL_ENV, execute


def notebook(tmp_path, *sources):
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)
    return path


def test_an_error_names_its_cell_and_first_line(tmp_path):
    run = execute(notebook(tmp_path, "x = 1", "raise ValueError('bad shape\\nmore detail')"), timeout=120)
    assert run.status == "error"
    assert run.error == "cell 1: ValueError: bad shape"


def test_the_whole_run_is_bounded_and_the_kernel_is_stopped(tmp_path):
    run = execute(notebook(tmp_path, "import os\nprint(os.getpid())", "while True:\n    pass"), timeout=6)
    assert run.status == "timeout" and "notebook's time limit" in run.error
    pid = int(run.notebook.cells[0].outputs[0]["text"])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_slow_cell_is_named_with_its_first_line_and_what_to_do(tmp_path):
    run = execute(notebook(tmp_path, "x = 1", "import time\ntime.sleep(60)", "y = 2"), timeout=120, cell_timeout=3)
    assert run.status == "timeout"
    assert run.error.startswith("cell 1 (`import time`) ran out of time") and "time limit per cell (3 s)" in run.error
    assert "run it again" in run.error and "--cell-timeout" in run.error


def test_a_dead_kernel_names_the_cell_it_died_in(tmp_path):
    run = execute(notebook(tmp_path, "x = 1", "import os\nos._exit(1)"), timeout=120)
    assert run.status == "error" and "the kernel died in cell 1 (`import os`)" in run.error and "memory" in run.error


def test_the_notebook_runs_from_its_own_folder(tmp_path):
    (tmp_path / "data.txt").write_text("hello")
    run = execute(notebook(tmp_path, "print(open('data.txt').read())"), timeout=120)
    assert run.ok and run.notebook.cells[0].outputs[0]["text"].strip() == "hello"


def test_the_kernel_gets_the_course_environment(tmp_path, monkeypatch):
    """KERNEL_ENV, unless the person running it set their own value."""
    (name, value), = KERNEL_ENV.items()
    monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FTCOURSE_PROBE", "kept")
    run = execute(notebook(tmp_path, f"import os\nprint(os.environ[{name!r}], os.environ['FTCOURSE_PROBE'])"), timeout=120)
    assert run.notebook.cells[0].outputs[0]["text"].split() == [value, "kept"]
    monkeypatch.setenv(name, "7")
    run = execute(notebook(tmp_path, f"import os\nprint(os.environ[{name!r}])"), timeout=120)
    assert run.notebook.cells[0].outputs[0]["text"].split() == ["7"]
