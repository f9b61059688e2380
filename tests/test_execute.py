"""Headless execution reports what went wrong and never hangs."""
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from ftcourse.grading.execute import execute


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


def test_the_notebook_runs_from_its_own_folder(tmp_path):
    (tmp_path / "data.txt").write_text("hello")
    run = execute(notebook(tmp_path, "print(open('data.txt').read())"), timeout=120)
    assert run.ok and run.notebook.cells[0].outputs[0]["text"].strip() == "hello"
