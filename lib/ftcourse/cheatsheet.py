"""A one-page cheat sheet, read from the "Interview takeaways" box that ends every notebook.

The boxes are the source: edit a notebook's takeaways and the sheet follows. A box is a
Markdown blockquote whose first line is ``> **Interview takeaways**`` and whose items are
``> - ...`` lines (a line that continues an item starts with ``>`` and some text).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

HEADING = "**Interview takeaways**"
_NAME = re.compile(r"^\d\d-[a-z0-9-]+$")


@dataclass(frozen=True)
class Takeaways:
    notebook: str  # e.g. "04-lora"
    title: str  # the notebook's first heading
    items: tuple[str, ...]


def _cells(path: Path) -> list[str]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                for c in nb["cells"] if c.get("cell_type") == "markdown"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: cannot read it as a notebook ({exc})") from None


def read(path: str | Path) -> Takeaways:
    """The takeaways of one notebook; ``ValueError`` naming the file if it has no box."""
    path = Path(path)
    cells = _cells(path)
    title = next((line[2:].strip() for c in cells for line in c.splitlines() if line.startswith("# ")), path.stem)
    for cell in cells:
        lines = [line.strip() for line in cell.strip().splitlines()]
        if not lines or lines[0] != f"> {HEADING}":
            continue
        items: list[str] = []
        for line in lines[1:]:
            if not line.startswith(">"):
                raise ValueError(f"{path}: the takeaways box has a line outside the blockquote: {line!r}")
            text = line[1:].strip()
            if text.startswith("- "):
                items.append(text[2:].strip())
            elif text and items:
                items[-1] += " " + text
        if not items:
            raise ValueError(f"{path}: the takeaways box has no '> - ' items")
        return Takeaways(path.stem, title, tuple(items))
    raise ValueError(f"{path}: no Markdown cell starts with '> {HEADING}'")


def collect(folder: str | Path, skip_unreadable: bool = False) -> list[Takeaways]:
    """The takeaways of every ``NN-name/NN-name.ipynb`` under ``folder``, in course order.

    A notebook that cannot be read or has no box raises ``ValueError``, or with ``skip_unreadable``
    is left out (a notebook open in a grader, say, or one being written).
    """
    folder = Path(folder)
    found = [d / f"{d.name}.ipynb" for d in sorted(folder.iterdir()) if d.is_dir() and _NAME.match(d.name)]
    sheets = []
    for path in found:
        if not path.is_file():
            continue
        try:
            sheets.append(read(path))
        except ValueError:
            if not skip_unreadable:
                raise
    return sheets


def course_notebooks() -> Path:
    """The course's ``notebooks/`` folder, wherever a notebook is opened.

    The nearest one at or above the working directory (a learner's copy, with their edits), else the one
    beside the folder this package is installed from (``pip install -e``, as ``make`` and ``environment.yml``
    install it): a handout unpacked anywhere else still gets the whole course's sheet.
    """
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for folder in [start, *start.parents]:
            if any((folder / "notebooks").glob("[0-9][0-9]-*/[0-9][0-9]-*.ipynb")):
                return folder / "notebooks"
    raise FileNotFoundError(f"no course notebooks/ folder above {Path.cwd()} or {Path(__file__).parent}")


def markdown(sheets: list[Takeaways]) -> str:
    """The cheat sheet: one short section per notebook, its takeaways as bullets."""
    parts = ["# Fine-tuning interview cheat sheet"]
    for t in sheets:
        parts.append(f"## {t.title}\n" + "\n".join(f"- {item}" for item in t.items))
    return "\n\n".join(parts) + "\n"
