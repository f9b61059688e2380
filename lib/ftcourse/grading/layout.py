"""Where the course lives on disk and how nbgrader is pointed at it.

The course directory is the folder that holds ``nbgrader_config.py``.
``solutions/`` is nbgrader's source, ``notebooks/`` its release, and
``build/`` (ignored by git) holds the gradebook and executed copies.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
ASSIGNMENT = re.compile(r"^\d\d-[a-z0-9-]+$")


class CourseNotFound(RuntimeError):
    pass


def find_root(start: Path | str | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd, then this package) with the nbgrader config."""
    starts = [Path(start)] if start is not None else [Path.cwd(), Path(__file__).resolve().parent]
    for base in starts:
        for folder in [base.resolve(), *base.resolve().parents]:
            if (folder / CONFIG_FILE).is_file() and (folder / "solutions").is_dir():
                return folder
    raise CourseNotFound(
        f"No course found: no folder above {starts[0]} holds {CONFIG_FILE} and solutions/. "
        "Run this from inside the course repository, or pass --course DIR."
    )


def assignments(root: Path) -> list[str]:
    """Assignment names in course order: ``solutions/NN-name/NN-name.ipynb``."""
    names = [p.name for p in (root / "solutions").iterdir() if p.is_dir() and ASSIGNMENT.match(p.name)]
    return sorted(n for n in names if (root / "solutions" / n / f"{n}.ipynb").is_file())


def solution_notebook(root: Path, name: str) -> Path:
    return root / "solutions" / name / f"{name}.ipynb"


def release_notebook(root: Path, name: str) -> Path:
    return root / "notebooks" / name / f"{name}.ipynb"


def resolve_names(root: Path, wanted: list[str] | None) -> list[str]:
    """Assignment names from user input: full names (``04-lora``) or their number (``04``, ``4``)."""
    known = assignments(root)
    if not wanted:
        return known
    chosen = []
    for w in wanted:
        w = Path(w).stem if w.endswith(".ipynb") else w.strip("/").split("/")[-1]
        hits = [n for n in known if n == w or (w.isdigit() and int(n[:2]) == int(w))]
        if not hits:
            raise CourseNotFound(f"No notebook named {w!r}; the course has: {', '.join(known)}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def nbgrader_config(root: Path, **sections: dict) -> Config:
    """The course's nbgrader config with ``sections`` (e.g. ``CourseDirectory={...}``) laid over it."""
    ensure_env_bin_on_path()
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    for section, values in sections.items():
        for key, value in values.items():
            config[section][key] = value
    return config


def ensure_env_bin_on_path() -> None:
    """nbgrader runs ``alembic`` as a subprocess; it must come from this environment."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
