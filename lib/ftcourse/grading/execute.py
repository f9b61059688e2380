"""Running notebooks headless, the way CI and learners' self-checks do.

A notebook runs in a fresh kernel of the current Python, from its own folder,
so relative paths behave as they do in JupyterLab.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


@dataclass
class Execution:
    path: Path
    notebook: nbformat.NotebookNode
    seconds: float
    status: str  # "ok", "error" or "timeout"
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def execute(
    path: Path | str,
    *,
    timeout: float | None = None,
    cell_timeout: float = 600,
    allow_errors: bool = False,
    save_to: Path | None = None,
) -> Execution:
    """Execute a notebook; ``timeout`` bounds the whole run, ``cell_timeout`` each cell.

    With ``allow_errors`` every cell runs and errors stay in the outputs (a
    self-check); without it the first error stops the run (a solution check).
    """
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    deadline = start + timeout if timeout else None

    def cell_budget(cell) -> float:
        """Each cell gets its own limit, cut short by what is left of the whole run's."""
        return cell_timeout if deadline is None else max(1.0, min(cell_timeout, deadline - time.perf_counter()))

    client = NotebookClient(
        nb,
        timeout_func=cell_budget,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )
    status, error = "ok", ""
    # The kernel process's own log (startup chatter) goes to a file, shown only if the kernel dies.
    with tempfile.TemporaryFile("w+") as kernel_log:
        try:
            client.execute(stderr=kernel_log)
        except CellTimeoutError:
            limit = "the notebook's" if deadline and time.perf_counter() >= deadline - 1 else "a cell's"
            status, error = "timeout", f"stopped at {limit} time limit after {time.perf_counter() - start:.0f} s"
        except CellExecutionError as exc:
            status, error = "error", _first_error_line(nb, exc)
        except DeadKernelError:
            kernel_log.seek(0)
            last = [line for line in kernel_log.read().splitlines() if line.strip()][-1:]
            status, error = "error", "the kernel died" + (f": {last[0]}" if last else "")
    seconds = time.perf_counter() - start
    if save_to is not None:
        save_to.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save_to)
    return Execution(path, nb, seconds, status, error)


def _first_error_line(nb: nbformat.NotebookNode, exc: CellExecutionError) -> str:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index}: {error_line(output)}"
    return str(exc).strip().splitlines()[-1]


def error_line(output: dict) -> str:
    """``ValueError: bad shape`` from an error output: the line a person reads first."""
    text = f"{output['ename']}: {output['evalue']}".strip().rstrip(":")
    return text.splitlines()[0] if text else output["ename"]
