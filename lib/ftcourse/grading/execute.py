"""Running notebooks headless, the way CI and learners' self-checks do.

A notebook runs in a fresh kernel of the current Python, from its own folder,
so relative paths behave as they do in JupyterLab.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


# Every kernel the course starts (here, in the grader's sandbox, and JupyterLab's "Python (ftcourse)", which
# `make setup` installs with the same variables). torch's OpenMP threads spin while they wait for each other by
# default; on a laptop busy with other work they burn the cores they wait for. Measured on 2 cores beside 4 busy
# processes: a training step of the course model took 1.0-1.8 s by default (once 9 s) and 0.5-1.0 s with threads
# that sleep at once (PASSIVE); solution notebook 01 took 72 s passive and 385 s spinning 30,000 times before it
# slept (GOMP_SPINCOUNT=30000). Idle, the settings differed by less than this machine's run-to-run noise (±20%).
KERNEL_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


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

    running = {"index": None, "since": start}

    def on_cell_start(cell, cell_index, **_):
        running.update(index=cell_index, since=time.perf_counter())

    client = NotebookClient(
        nb,
        timeout_func=cell_budget,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_start=on_cell_start,
    )
    status, error = "ok", ""
    # The kernel process's own log (startup chatter) goes to a file, shown only if the kernel dies.
    with tempfile.TemporaryFile("w+") as kernel_log:
        try:
            client.execute(stderr=kernel_log, env={**KERNEL_ENV, **os.environ})
        except CellTimeoutError:
            where = describe_cell(nb, running["index"])
            ran = time.perf_counter() - running["since"]
            if deadline and time.perf_counter() >= deadline - 1:
                limit, option = f"the notebook's time limit ({timeout:g} s in all)", "--timeout"
            else:
                limit, option = f"the time limit per cell ({cell_timeout:g} s)", "--cell-timeout"
            status, error = "timeout", (f"{where} ran out of time: it ran {ran:.0f} s and hit {limit}, "
                                        f"{time.perf_counter() - start:.0f} s into the run. {TIMEOUT_ADVICE} ({option} S).")
        except CellExecutionError as exc:
            status, error = "error", _first_error_line(nb, exc)
        except DeadKernelError:
            kernel_log.seek(0)
            last = [line for line in kernel_log.read().splitlines() if line.strip() and "WARNING |" not in line][-1:]
            status, error = "error", (f"the kernel died in {describe_cell(nb, running['index'])}" + (f" ({last[0]})" if last else "")
                                      + f". {DEATH_ADVICE}")
    seconds = time.perf_counter() - start
    if save_to is not None:
        save_to.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save_to)
    return Execution(path, nb, seconds, status, error)


TIMEOUT_ADVICE = "A busy machine slows every cell: close other notebooks and programs and run it again, or allow more time"
DEATH_ADVICE = ("A kernel usually dies when the machine runs out of memory: close other notebooks and programs, "
                "restart, and run it again.")


def describe_cell(nb: nbformat.NotebookNode, index: int | None) -> str:
    """``cell 35 (`runs = {}`)``: the cell's number and its first line, which is how a person finds it."""
    if index is None:
        return "a cell"
    first = next((line.strip() for line in nb.cells[index].source.splitlines() if line.strip()), "")
    return f"cell {index} (`{first[:60]}{'…' if len(first) > 60 else ''}`)" if first else f"cell {index}"


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
