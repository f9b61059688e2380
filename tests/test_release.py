"""notebooks/ is exactly the release of solutions/, and leaks nothing."""
import io
import json
import re
import shutil
import sqlite3
import subprocess
import zipfile

import nbformat
import pytest

from command import ftcourse
from ftcourse.grading import layout, release
from ftcourse.grading.execute import KERNEL_ENV

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME")


def regions(source: str, begin: str, end: str) -> list[str]:
    found = re.findall(rf"### {begin}\n(.*?)### {end}", source, flags=re.S)
    return [line.strip() for block in found for line in block.splitlines() if line.strip()]


def tracked_notebooks(root):
    out = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=root, capture_output=True, text=True, check=True).stdout
    return [root / f for f in out.split()]


def test_release_is_up_to_date(root):
    assert [str(d) for d in release.check(root)] == []


def test_student_notebooks_ask_for_the_kernel_make_setup_registers(root):
    """JupyterLab starts the kernel a notebook names; "Python (ftcourse)" is the course's own Python."""
    for name in layout.assignments(root):
        kernelspec = nbformat.read(layout.release_notebook(root, name), as_version=4).metadata.kernelspec
        assert kernelspec == release.KERNELSPEC, f"{name} asks for {kernelspec}"
    makefile = (root / "Makefile").read_text()
    assert '--name ftcourse --display-name "Python (ftcourse)"' in makefile
    for name, value in KERNEL_ENV.items():  # the same kernel environment as `ftcourse check` and the grader give
        assert f"--env {name} {value}" in makefile


@pytest.mark.parametrize("name", layout.assignments(layout.find_root(__file__)))
def test_release_leaks_no_solution_or_hidden_test(root, name):
    solution = nbformat.read(layout.solution_notebook(root, name), as_version=4)
    released_files = [p for p in (root / "notebooks" / name).rglob("*") if p.is_file()]
    text = "\n".join(p.read_text(errors="replace") for p in released_files)
    for marker in MARKERS:
        assert marker not in text
    released = nbformat.read(layout.release_notebook(root, name), as_version=4)
    released_lines = {line.strip() for cell in released.cells for line in cell.source.splitlines()}
    # A line the solution notebook also shows in the open (a visible test calling the function, say) is public.
    public = {line.strip() for cell in solution.cells for line in re.sub(
        r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END \1", "", cell.source, flags=re.S).splitlines()}
    for cell in solution.cells:
        secret = regions(cell.source, "BEGIN SOLUTION", "END SOLUTION")
        hidden = regions(cell.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
        leaked = [line for line in secret + hidden if line in released_lines and line not in public]
        assert not leaked, f"{name}: released notebook contains lines of a solution or hidden test: {leaked[:3]}"


def test_committed_notebooks_have_no_outputs(root):
    notebooks = tracked_notebooks(root)
    assert notebooks, "no notebooks are tracked"
    for path in notebooks:
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, f"{path.relative_to(root)} cell {i} has outputs"


@pytest.fixture
def course_copy(root, tmp_path):
    for item in ["nbgrader_config.py", "solutions", "notebooks"]:
        src = root / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    return tmp_path


def test_check_names_the_notebook_and_cell_that_drifted(course_copy):
    path = layout.release_notebook(course_copy, "00-setup")
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells[index].source += "\nprint('edited by hand')"
    nbformat.write(nb, path)
    diffs = [str(d) for d in release.check(course_copy)]
    assert len(diffs) == 1
    assert "notebooks/00-setup/00-setup.ipynb" in diffs[0] and f"cell {index}" in diffs[0]

    cli = ftcourse("--course", str(course_copy), "release", "--check")
    assert cli.returncode == 1
    assert f"cell {index}" in cli.stderr
    assert nbformat.read(path, as_version=4).cells[index].source.endswith("edited by hand')"), "--check changes nothing"


def test_release_regenerates_and_drops_stale_folders(course_copy):
    shutil.rmtree(course_copy / "notebooks" / "00-setup")
    (course_copy / "notebooks" / "99-gone").mkdir()
    assert release.check(course_copy)
    release.release(course_copy)
    assert release.check(course_copy) == []
    assert not (course_copy / "notebooks" / "99-gone").exists()


def test_zip_packs_each_release_as_a_reproducible_hand_out(course_copy):
    def release_zip():
        cli = ftcourse("--course", str(course_copy), "release", "--zip", "00")
        assert cli.returncode == 0, cli.stderr
        assert "hand-out build/handout/00-setup.zip" in cli.stdout
        return (course_copy / "build" / "handout" / "00-setup.zip").read_bytes()

    first = release_zip()
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == ["00-setup/00-setup.ipynb"]
        assert archive.read("00-setup/00-setup.ipynb") == layout.release_notebook(course_copy, "00-setup").read_bytes()
        assert not any(m.encode() in archive.read(n) for m in MARKERS for n in archive.namelist())
    assert release_zip() == first


def test_new_gradebooks_carry_the_schema_version_nbgrader_would_write(tmp_path):
    from nbgrader.api import get_alembic_version  # runs `alembic heads`: the slow way this replaces

    release.stamp_schema(tmp_path / "gradebook.db")
    with sqlite3.connect(tmp_path / "gradebook.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(get_alembic_version(),)]
