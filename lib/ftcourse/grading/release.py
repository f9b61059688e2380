"""Student notebooks are generated from the solutions, never edited by hand.

nbgrader's generate_assignment strips solutions and hidden tests, clears outputs
and locks the test cells; ``release`` runs it into ``notebooks/`` and ``check``
proves that ``notebooks/`` is exactly what it would write.
"""
from __future__ import annotations

import difflib
import filecmp
import json
import re
import shutil
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import nbgrader
from nbgrader.apps import NbGraderAPI

from . import layout


# The kernel `make setup` registers. Student notebooks ask for it by name, so JupyterLab starts the
# course's Python; where it is not installed, JupyterLab takes the only Python kernel there is, or asks.
KERNELSPEC = {"name": "ftcourse", "display_name": "Python (ftcourse)", "language": "python"}


class ReleaseError(RuntimeError):
    pass


@dataclass
class Difference:
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def generate(root: Path, names: list[str], dest: Path, gradebook: Path | None = None) -> None:
    """Write the student version of each named assignment under ``dest/NAME/``.

    nbgrader records each test cell, hidden tests included, in a gradebook: a
    temporary one, or ``gradebook`` when the caller grades with it.
    """
    with tempfile.TemporaryDirectory(prefix="ftcourse-release-") as tmp:
        gradebook = gradebook or Path(tmp, "gradebook.db")
        stamp_schema(gradebook)
        config = layout.nbgrader_config(
            root, CourseDirectory={"release_directory": str(dest), "db_url": f"sqlite:///{gradebook}"},
        )
        api = NbGraderAPI(config=config)
        for name in names:
            result = api.generate_assignment(name)
            if not result["success"]:
                raise ReleaseError(f"nbgrader could not generate {name}:\n{result.get('error') or result.get('log')}")
            for path in sorted((dest / name).glob("*.ipynb")):
                ask_for_course_kernel(path)


def ask_for_course_kernel(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.metadata.kernelspec = dict(KERNELSPEC)
    nbformat.write(nb, path)


def stamp_schema(gradebook: Path) -> None:
    """Start a new gradebook marked with nbgrader's schema version.

    nbgrader finds that version by running ``alembic heads`` in a subprocess, seconds
    each time, unless the database has tables already. The version is the one migration
    in nbgrader's own folder that no other migration revises.
    """
    text = "\n".join(p.read_text() for p in (Path(nbgrader.__file__).parent / "alembic" / "versions").glob("*.py"))
    revisions = set(re.findall(r"^revision = '(\w+)'", text, re.M))
    heads = revisions - set(re.findall(r"^down_revision = '(\w+)'", text, re.M))
    if len(heads) == 1 and not gradebook.exists():
        with sqlite3.connect(gradebook) as db:
            db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (heads.pop(),))


def release(root: Path, names: list[str] | None = None) -> list[str]:
    """Regenerate ``notebooks/`` for ``names`` (default: all, dropping releases that lost their solution)."""
    everything = not names
    names = layout.resolve_names(root, names)
    with tempfile.TemporaryDirectory(prefix="ftcourse-release-") as tmp:
        generate(root, names, Path(tmp))
        for name in names:
            target = root / "notebooks" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(Path(tmp) / name, target)
    if everything:
        for stale in _stale_releases(root):
            shutil.rmtree(root / "notebooks" / stale)
    return names


def handout(root: Path, names: list[str], dest: Path) -> list[Path]:
    """``dest/NAME.zip`` for each released assignment: the folder a student unpacks and works in.

    Entries are sorted and dated 1980-01-01, so the same release always gives the same bytes.
    """
    dest.mkdir(parents=True, exist_ok=True)
    zips = []
    for name in names:
        folder = root / "notebooks" / name
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not ({"__pycache__", ".ipynb_checkpoints"} & set(p.parts)))
        with zipfile.ZipFile(dest / f"{name}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                entry = zipfile.ZipInfo(str(Path(name) / path.relative_to(folder)), date_time=(1980, 1, 1, 0, 0, 0))
                entry.external_attr = 0o644 << 16
                archive.writestr(entry, path.read_bytes(), zipfile.ZIP_DEFLATED)
        zips.append(dest / f"{name}.zip")
    return zips


def check(root: Path) -> list[Difference]:
    """Every way ``notebooks/`` differs from a fresh release; empty when they agree."""
    names = layout.assignments(root)
    with tempfile.TemporaryDirectory(prefix="ftcourse-release-") as tmp:
        fresh = Path(tmp)
        generate(root, names, fresh)
        diffs = [Difference(f"notebooks/{s}", "released but has no solutions/ folder") for s in _stale_releases(root)]
        for name in names:
            diffs += compare_dirs(fresh / name, root / "notebooks" / name, f"notebooks/{name}")
    return diffs


def _stale_releases(root: Path) -> list[str]:
    released = root / "notebooks"
    if not released.is_dir():
        return []
    known = set(layout.assignments(root))
    return sorted(p.name for p in released.iterdir() if p.is_dir() and layout.ASSIGNMENT.match(p.name) and p.name not in known)


def compare_dirs(fresh: Path, committed: Path, label: str) -> list[Difference]:
    """Every way the ``committed`` release folder differs from a ``fresh`` one."""
    if not committed.is_dir():
        return [Difference(label, "missing: run `ftcourse release`")]
    want = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    have = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    diffs = [Difference(f"{label}/{p}", "missing from the release") for p in sorted(want - have)]
    diffs += [Difference(f"{label}/{p}", "not produced by the release (delete it or add it to solutions/)") for p in sorted(have - want)]
    for rel in sorted(want & have):
        a, b = fresh / rel, committed / rel
        if rel.suffix == ".ipynb":
            detail = _notebook_difference(a, b)
        else:
            detail = None if filecmp.cmp(a, b, shallow=False) else "content differs"
        if detail:
            diffs.append(Difference(f"{label}/{rel}", detail))
    return diffs


def _notebook_difference(fresh: Path, committed: Path) -> str | None:
    """The first cell where two notebooks differ, named by index and grade id."""
    a, b = json.loads(fresh.read_text()), json.loads(committed.read_text())
    if a == b:
        return None
    cells_a, cells_b = a.get("cells", []), b.get("cells", [])
    for i, (ca, cb) in enumerate(zip(cells_a, cells_b)):
        if ca != cb:
            grade_id = ca.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            name = f"cell {i}" + (f" ({grade_id})" if grade_id else "")
            src_a, src_b = "".join(ca.get("source", "")), "".join(cb.get("source", ""))
            if src_a != src_b:
                changed = next(d for d in difflib.ndiff(src_b.splitlines(), src_a.splitlines()) if d[:1] in "+-")
                return f"{name}: source differs at {changed[:70]!r} (- committed, + regenerated)"
            keys = sorted(k for k in set(ca) | set(cb) if ca.get(k) != cb.get(k))
            return f"{name}: {', '.join(keys)} differ"
    if len(cells_a) != len(cells_b):
        return f"has {len(cells_b)} cells, the release would have {len(cells_a)}"
    return "notebook metadata differs"
