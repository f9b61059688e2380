"""The ``ftcourse`` command as a person types it."""
import subprocess
import sys

import pytest

from ftcourse.grading import layout

GROUPS = ["release", "run", "check", "grade", "world", "data", "build-base-model"]


def ftcourse(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ftcourse", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("group", [None, *GROUPS])
def test_every_command_has_help(group):
    result = ftcourse(*([group] if group else []), "--help")
    assert result.returncode == 0
    assert "usage: ftcourse" in result.stdout


def test_check_reports_each_exercise_and_passes_the_solution(root):
    result = ftcourse("check", str(layout.solution_notebook(root, "00-setup")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "count_parameters_tests" in result.stdout and "pass" in result.stdout


def test_check_fails_the_blank_notebook_and_leaves_it_untouched(root):
    path = layout.release_notebook(root, "00-setup")
    before = path.read_bytes()
    result = ftcourse("check", str(path))
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "NotImplementedError" in result.stdout
    assert path.read_bytes() == before


def test_check_of_a_missing_file_says_so():
    result = ftcourse("check", "no/such.ipynb")
    assert result.returncode == 2 and "no such notebook" in result.stderr


def test_run_prints_a_table_and_keeps_executed_copies_in_build(root):
    result = ftcourse("run", "00", "--timeout", "300", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "00-setup" in result.stdout and "ok" in result.stdout
    assert (root / "build" / "executed" / "00-setup.ipynb").is_file()


def test_outside_the_course_commands_explain(tmp_path):
    result = ftcourse("--course", str(tmp_path), "release", "--check")
    assert result.returncode == 2 and "No course found" in result.stderr


def test_the_command_starts_without_importing_torch_or_nbgrader():
    """Every grading process imports the CLI again: it must stay light."""
    code = "import sys, ftcourse.cli; print(sorted({'torch', 'nbgrader', 'nbformat', 'transformers'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]"


def test_grade_help_quotes_the_graders_own_notebook_timeout():
    from ftcourse.cli.grade import NOTEBOOK_TIMEOUT
    from ftcourse.grading.classroom import Settings

    assert NOTEBOOK_TIMEOUT == Settings.notebook_timeout
    assert f"default {Settings.notebook_timeout:g}" in ftcourse("grade", "--help").stdout
