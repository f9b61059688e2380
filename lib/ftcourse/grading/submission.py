"""One submission, graded by nbgrader in a scratch course that holds nothing else.

``main(JOB.json)`` runs in a process of its own per submission (``ftcourse.grading.classroom``
forks it). It builds a scratch course from a copy of the assignment's gradebook, the
release's data files and the student's notebooks, and runs nbgrader's own autograde
and feedback on it. What is ours is plugged into nbgrader:

- ``inspect``: before nbgrader sees a notebook, graded cells get their released
  nbgrader metadata back and duplicates lose theirs (stock nbgrader stops on a
  duplicated id); every change is reported as a flag. nbgrader then puts back edited,
  retyped and deleted test cells (``OverwriteCells``, ``add_missing_cells``).
- ``as_graded``: a test cell fails on an error, not on a warning printed to stderr.
- ``FailClosedExecute``: nbgrader's ``Execute`` with the kernel in ``ftcourse.grading.sandbox``,
  a clock for the whole notebook, capped outputs, a kernel that dies or ignores an
  interrupt costing only the cells after it, and after every test cell a tamper check
  (``ftcourse.grading.tamper``); whatever it cannot vouch for scores 0.
- ``HideHiddenTests`` and ``VerdictTable``: the feedback opens with each test's result
  and error, and never shows hidden test code, even where a student's output quotes it.
"""
from __future__ import annotations

import ast
import copy
import html
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

import bleach
import jinja2
import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, Execute, GetGrades, IgnorePattern, LimitOutput, NbGraderPreprocessor,
    SaveAutoGrades)
from nbgrader.utils import is_grade, is_solution
from traitlets import Bool, CaselessStrEnum, Dict, Float, Integer, List, Unicode

from . import layout, sandbox
from .execute import KERNEL_ENV

MAX_NOTEBOOK_BYTES = 100 * 2**20
# A function that reads its caller's frame can read the test that calls it, expected values included; running
# tests in the student's process cannot prevent that, so such code is flagged for a person to look at.
INTROSPECTION = re.compile(r"_getframe|currentframe|\bf_back\b|\bco_consts\b|\blinecache\b|get_referrers|"
                           r"\bgetouterframes\b|\bstack\(\)")
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
TRUNCATED = "\n[... output truncated by the grader ...]\n"


@dataclass
class Job:
    """Everything one grading process needs; written as JSON by the grader."""

    course: str  # the course root, for nbgrader_config.py
    student: str
    assignment: str
    notebooks: dict[str, str]  # notebook name -> submitted file
    gradebook: str  # the assignment's gradebook (a copy is used)
    release: str  # the released assignment folder (data files, the notebooks students got)
    scratch: str  # an empty folder of our own
    isolate: bool
    hidden: list[str]  # folders the kernel must never see
    cell_timeout: float = 180
    notebook_timeout: float = 900
    output_chars: int = 100_000
    limits: dict = field(default_factory=dict)
    threads: int = 0  # torch/OpenMP threads per kernel; 0: their default
    template_cache: str = ""  # compiled feedback templates, shared by the run


# --- before nbgrader: what the student changed in the graded cells --------------------


def inspect(submitted: NotebookNode, released: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """A copy of ``submitted`` whose graded cells carry the released metadata, and what was changed."""
    nb = copy.deepcopy(submitted)
    marked = {c.metadata.nbgrader["grade_id"]: c for c in released.cells if "grade_id" in c.metadata.get("nbgrader", {})}
    tests = {gid for gid, c in marked.items() if is_grade(c) and not is_solution(c)}
    kind = lambda gid: "test cell" if gid in tests else "answer cell"  # noqa: E731
    flags, seen = [], {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid is not None and gid in seen:
            cell.metadata.pop("nbgrader")
            seen[gid] += 1
        elif gid in marked:
            seen[gid] = 1
            _compare_cell(cell, marked[gid], kind(gid), flags)
            cell.metadata.nbgrader = copy.deepcopy(marked[gid].metadata.nbgrader)
        elif "nbgrader" in cell.metadata:
            if gid is not None:
                flags.append(f"cell {gid!r} is not part of the assignment: graded as an ordinary cell")
            cell.metadata.pop("nbgrader")
    flags += [f"{kind(g)} {g} appears {n} times: the first counts, the others run as ordinary cells"
              for g, n in seen.items() if n > 1]
    for gid in marked:
        if gid not in seen:
            stripped = any(c.source == marked[gid].source and "nbgrader" not in c.metadata for c in nb.cells)
            how = "lost its grading metadata" if stripped else "was deleted"
            fix = "the original is put back" if gid in tests else "its tests run on what the other cells define"
            flags.append(f"{kind(gid)} {gid} {how}: {fix}")
    student_code = [c.source for c in nb.cells if c.cell_type == "code"
                    and c.metadata.get("nbgrader", {}).get("grade_id") not in tests]
    prying = sorted({m.group(0) for source in student_code for m in INTROSPECTION.finditer(source)})
    if prying:
        flags.append(f"the notebook inspects the call stack ({', '.join(prying)}), which can read a test's "
                     "expected values: check its answers by hand")
    order = [g for g in marked if g in seen]
    if order != sorted(order, key=_first_index(nb)):
        flags.append("graded cells were reordered: " + " → ".join(sorted(order, key=_first_index(nb))))
    return nb, flags


def _compare_cell(cell: NotebookNode, original: NotebookNode, kind: str, flags: list[str]) -> None:
    gid, theirs, ours = original.metadata.nbgrader["grade_id"], cell.metadata.get("nbgrader", {}), original.metadata.nbgrader
    if cell.cell_type != original.cell_type:
        flags.append(f"{kind} {gid} was turned into {cell.cell_type}: restored")
    if kind == "test cell" and cell.source != original.source:
        flags.append(f"test cell {gid} was edited: the original is put back")
    if "points" in ours and theirs.get("points") != ours["points"]:
        flags.append(f"points of {gid} were changed to {theirs.get('points')!r}: restored to {ours['points']:g}")
    elif any(theirs.get(k) != ours.get(k) for k in ("grade", "solution", "locked")):
        flags.append(f"grading metadata of {gid} was changed: restored")


def _first_index(nb: NotebookNode):
    index = {}
    for i, cell in enumerate(nb.cells):
        index.setdefault(cell.metadata.get("nbgrader", {}).get("grade_id"), i)
    return lambda gid: index[gid]


# --- during nbgrader: the kernel and how cells run -----------------------------------


class SandboxedKernelManager(AsyncKernelManager):
    """Starts this Python's ipykernel inside ``sandbox``, talking over Unix sockets."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)
    isolate = Bool(False, config=True)
    hidden = List(Unicode(), config=True)
    limits = Dict(config=True)
    kernel_env = Dict(config=True)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        workdir = Path(self._launch_args.get("cwd") or os.getcwd())
        runtime = Path(self.connection_file).parent
        kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", os.path.realpath(self.connection_file),
                  *(extra_arguments or [])]
        return sandbox.command(
            kernel, workdir=workdir, stage=Path(tempfile.mkdtemp(prefix="root-", dir=runtime)),
            isolate=self.isolate, limits=sandbox.Limits(**self.limits), writable=[runtime],
            hidden=[Path(h) for h in self.hidden], hide_files=sorted(workdir.glob("*.ipynb")), env=self.kernel_env)


SLOW_CELL_ADVICE = ("if the solution's own cell fits the limit on an idle machine, the grading machine was too busy: "
                    "grade with fewer --jobs or a longer --cell-timeout")


class FailClosedExecute(Execute):
    """nbgrader's Execute, made to survive hostile notebooks and to score 0 what it cannot trust."""

    notebook_timeout = Float(900, config=True, help="seconds for the whole notebook")
    output_chars = Integer(100_000, config=True, help="characters of output kept per cell")
    flags_file = Unicode("", config=True, help="where to append what happened (JSON lines)")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources, km=None):
        self._deadline = time.monotonic() + self.notebook_timeout
        self._stopped, self._fingerprint_error, self._tampered = "", "", False
        self._flags, self._chars, self._truncated, self._next = [], {}, set(), 0
        try:
            return super().preprocess(nb, resources, km)
        except Exception as exc:  # noqa: BLE001 -- the kernel failed us: what did not run cannot pass
            self._stop(f"the grader lost the kernel ({type(exc).__name__}: {str(exc)[:200]})")
            for index, cell in enumerate(nb.cells[self._next:], self._next):
                self._mark_not_run(cell, index)
            return nb, resources
        finally:
            with open(self.flags_file, "a") as f:
                for flag in self._flags:
                    f.write(json.dumps({"notebook": resources["nbgrader"]["notebook"], "flag": flag}) + "\n")

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        if await self._ask("__import__('ftcourse.grading.tamper').grading.tamper.baseline()") != "ok":
            self._fingerprint_error = "the grader could not fingerprint the kernel before the notebook ran"
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def preprocess_cell(self, cell, resources, index):
        self._next = index  # until it has run: an exception from here on leaves it, too, "not run"
        if cell.cell_type != "code" or not cell.source.strip():
            self._next = index + 1
            return cell, resources
        if not self._stopped and time.monotonic() >= self._deadline:
            self._stop(f"the notebook ran out of its {self.notebook_timeout:g} s before cell {index}")
        if self._stopped:
            self._mark_not_run(cell, index)
            return cell, resources
        limit = self._get_timeout(cell)
        try:
            super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            self._error(cell, "CellTimeoutError", "the cell did not stop when interrupted, so the kernel was stopped")
            self._stop(f"cell {_label(cell, index)} ignored the interrupt after {limit} s; the kernel was stopped. {SLOW_CELL_ADVICE}")
            run_sync(self.km.shutdown_kernel)(now=True)
        except DeadKernelError:
            self._error(cell, "DeadKernelError", "the kernel died while running this cell")
            self._stop(f"the kernel died in cell {_label(cell, index)} (most often: out of memory, see the limits)")
        self._note_errors(cell, index, limit)
        if is_grade(cell) and not is_solution(cell) and not self._stopped:
            self._judge_test(cell, index)
        self._next = index + 1
        return cell, resources

    def _get_timeout(self, cell):
        remaining = max(1, int(self._deadline - time.monotonic()))
        return min(self.timeout, remaining) if self.timeout else remaining

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most ``output_chars`` characters per cell; errors always, shortened."""
        content = msg["content"]
        if msg["msg_type"] == "error":
            content["evalue"] = content.get("evalue", "")[:2000]
            content["traceback"] = [line[:2000] for line in content.get("traceback", [])[-60:]]
            return super().output(outs, msg, display_id, cell_index)
        used = self._chars.get(cell_index, 0)
        size = max(100, len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values()))
        self._chars[cell_index] = used + size
        if used + size <= self.output_chars:
            return super().output(outs, msg, display_id, cell_index)
        if cell_index in self._truncated:
            return None
        self._truncated.add(cell_index)
        self._flags.append(f"cell {cell_index}: output over {self.output_chars:,} characters was cut")
        if msg["msg_type"] != "stream":
            return None
        content["text"] = content["text"][:max(0, self.output_chars - used)] + TRUNCATED
        return super().output(outs, msg, display_id, cell_index)

    def _judge_test(self, cell: NotebookNode, index: int) -> None:
        """A test passes on its own merits only: see ``as_graded``, and no tampering."""
        as_graded(cell)
        problems = [self._fingerprint_error] if self._fingerprint_error else self._tamper_report()
        if problems:
            self._error(cell, "TamperingDetected", "; ".join(problems[:5]) + " — this test scores 0")
            if not self._tampered:
                self._flags.append(f"kernel tampering found after test cell {_label(cell, index)}: "
                                   + "; ".join(problems[:5]) + ("; …" if len(problems) > 5 else ""))
            self._tampered = True

    def _tamper_report(self) -> list[str]:
        nonce = secrets.token_hex(8)
        answer = run_sync(self._ask)(f"__import__('ftcourse.grading.tamper').grading.tamper.report({nonce!r})")
        try:
            report = json.loads(answer)
            assert report["nonce"] == nonce and all(type(p) is str for p in report["problems"])
            return report["problems"]
        except Exception:  # noqa: BLE001 -- no well-formed answer is an answer too
            return ["the kernel did not answer the grader's tamper check"]

    async def _ask(self, expression: str, timeout: float = 30) -> str | None:
        """Evaluate ``expression`` in the kernel without running a cell; its string value, or None."""
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"r": expression})
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=max(0.01, deadline - time.monotonic()))
            except Empty:
                return None
            if msg["parent_header"].get("msg_id") == msg_id:
                break
        result = msg["content"].get("user_expressions", {}).get("r", {})
        try:
            value = ast.literal_eval(result["data"]["text/plain"])
        except Exception:  # noqa: BLE001
            return None
        return value if type(value) is str else None

    def _note_errors(self, cell: NotebookNode, index: int, limit: int) -> None:
        names = {o.get("ename") for o in cell.outputs if o.output_type == "error"}
        if "CellTimeoutError" in names and not self._stopped:
            self._flags.append(f"cell {_label(cell, index)} was interrupted after {limit} s, its time limit; "
                               f"{SLOW_CELL_ADVICE}")
        if "MemoryError" in names:
            self._flags.append(f"cell {_label(cell, index)} ran out of memory")

    def _stop(self, reason: str) -> None:
        self._stopped = reason
        self._flags.append(reason + ": the cells after it did not run")

    def _mark_not_run(self, cell: NotebookNode, index: int) -> None:
        if cell.cell_type == "code" and cell.source.strip():
            cell.outputs = []
            self._error(cell, "NotRun", self._stopped)

    @staticmethod
    def _error(cell: NotebookNode, ename: str, evalue: str) -> None:
        cell.outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))


def as_graded(cell: NotebookNode) -> NotebookNode:
    """A test cell's outputs as this course grades them: an error fails it; stderr does not (a correct
    answer that makes a library warn keeps its points), and a value is shown, never read as partial credit."""
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stderr":
            output.name = "stdout"
        elif output.output_type == "execute_result":
            output.output_type = "display_data"
            output.pop("execution_count", None)
    return cell


def _label(cell: NotebookNode, index: int) -> str:
    """``35 (add_lora_tests, `import torch`)``: the cell's number, grade id and first line, how a person finds it."""
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    first = next((line.strip() for line in cell.get("source", "").splitlines() if line.strip()), "")
    parts = ([gid] if gid else []) + ([f"`{first[:60]}{'…' if len(first) > 60 else ''}`"] if first else [])
    return f"{index} ({', '.join(parts)})" if parts else str(index)


# --- after nbgrader: feedback without hidden tests -----------------------------------


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback shows each test's verdict and error message; never the code of hidden tests."""

    def preprocess(self, nb, resources):
        tests = {id(c) for c in nb.cells if is_grade(c) and not is_solution(c)}
        secret = {line.strip() for c in nb.cells if id(c) in tests for block in HIDDEN.findall(c.source)
                  for line in block.splitlines()[1:-1] if len(line.strip()) >= 8}
        for cell in nb.cells:
            if id(cell) in tests:
                cell.source = HIDDEN.sub("# (hidden tests are not shown)\n", cell.source)
            for output in cell.get("outputs", []):
                if output.output_type == "error" and id(cell) in tests:
                    output.traceback = [f"{output.ename}: {output.evalue}"]
                if any(line in _text(output) for line in secret):
                    output.clear()
                    output.update(nbformat.v4.new_output("stream", name="stdout",
                                                         text="[output withheld: it quotes hidden test code]\n"))
        return nb, resources


class VerdictTable(NbGraderPreprocessor):
    """A table on top of the feedback: each test, passed or failed, its points and its error message."""

    def preprocess(self, nb, resources):
        rows = []
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not is_grade(cell):
                continue
            score, points = meta.get("score"), meta.get("points", 0)
            verdict = "graded by hand" if is_solution(cell) else "passed" if score == points else "failed"
            error = next((f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error"), "")
            error = html.escape(error.splitlines()[0] if error else "").replace("|", "\\|")
            earned = "–" if score is None else f"{score:g}"
            rows.append(f"| {meta['grade_id']} | {verdict} | {earned} / {points:g} | {error} |")
        if rows:
            table = "**Autograded tests**\n\n| test | result | points | error |\n|---|---|---|---|\n" + "\n".join(rows)
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(table))
        return nb, resources


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page, its templates compiled once per grading run rather than once per student.

    Outputs are sanitized: a student's notebook must not put a script into a page the instructor opens.
    """

    template_cache = Unicode("", config=True, help="folder for compiled templates, shared by the run")
    sanitize_html = Bool(True, config=True)

    def _create_environment(self):
        environment = super()._create_environment()
        if self.template_cache:
            environment.bytecode_cache = jinja2.FileSystemBytecodeCache(self.template_cache)
        return environment

    @jinja2.pass_context
    def markdown2html(self, context, source):
        """Markdown sanitized too: nbgrader's feedback template renders Markdown cells (and comments) as they are."""
        rendered = super().markdown2html(context, source)
        return bleach.clean(rendered, tags=MARKDOWN_TAGS, attributes=MARKDOWN_ATTRIBUTES, strip=True) \
            if self.sanitize_html else rendered


# What Markdown renders to, and nothing that runs: no script, no event handler, no javascript: link.
MARKDOWN_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
                 "hr", "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td", "th",
                 "thead", "tr", "ul"}
MARKDOWN_ATTRIBUTES = {"*": ["class", "id", "title"], "a": ["href"], "img": ["src", "alt", "width", "height"],
                       "td": ["align"], "th": ["align"]}


def _text(output: NotebookNode) -> str:
    parts = [output.get("text", ""), output.get("evalue", ""), *output.get("traceback", [])]
    parts += [str(v) for v in output.get("data", {}).values()]
    return "\n".join(map(str, parts))


# --- the whole run for one student and assignment ------------------------------------


def run(job: Job) -> dict:
    """Grade ``job`` with nbgrader; the result as a plain dict (what ``classroom`` stores)."""
    scratch = Path(job.scratch)
    source, submitted = scratch / "source" / job.assignment, scratch / "submitted" / job.student / job.assignment
    shutil.copytree(job.release, source, ignore=shutil.ignore_patterns("*.ipynb"))
    submitted.mkdir(parents=True)
    shutil.copy(job.gradebook, scratch / "gradebook.db")
    releases = {p.stem: nbformat.read(p, as_version=4) for p in sorted(Path(job.release).glob("*.ipynb"))}
    flags: dict[str, list[str]] = {name: [] for name in releases}
    for name, released in releases.items():
        path = Path(job.notebooks[name]) if name in job.notebooks else None
        if path is None:
            flags[name].append("not submitted")
            continue
        try:
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                raise ValueError(f"{path.stat().st_size / 2**20:.0f} MiB is over the {MAX_NOTEBOOK_BYTES >> 20} MiB limit")
            nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
            nb, changes = inspect(nb, released)
        except Exception as exc:  # noqa: BLE001 -- anything unreadable scores 0, with the reason
            flags[name].append(f"not a readable notebook: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        flags[name] += changes
        nbformat.write(nb, submitted / f"{name}.ipynb")
    api = NbGraderAPI(config=_config(job, scratch))
    graded = any(submitted.iterdir())  # nothing readable: nothing for nbgrader to grade
    if graded:
        outcome = api.autograde(job.assignment, job.student, force=True, create=True)
        graded = outcome["success"]
        if not graded:
            for name in flags:
                flags[name].append("nbgrader could not grade it: " + _last_line(outcome.get("error") or outcome["log"]))
    for line in _read_lines(scratch / "flags.jsonl"):
        flags[line["notebook"]].append(line["flag"])
    if graded and not api.generate_feedback(job.assignment, job.student, force=True)["success"]:
        for name in flags:
            flags[name].append("nbgrader could not write the feedback")
    notebooks = [_notebook_result(job, scratch, name, flags[name], graded) for name in flags]
    return {"student": job.student, "assignment": job.assignment, "notebooks": notebooks}


def _config(job: Job, scratch: Path):
    env = {**KERNEL_ENV, **({"OMP_NUM_THREADS": str(job.threads), "MKL_NUM_THREADS": str(job.threads)}
                            if job.threads else {})}
    return layout.nbgrader_config(
        Path(job.course),
        CourseDirectory={"root": str(scratch), "source_directory": "source", "submitted_directory": "submitted",
                         "autograded_directory": "autograded", "feedback_directory": "feedback",
                         "db_url": f"sqlite:///{scratch / 'gradebook.db'}"},
        Autograde={"autograde_preprocessors": [FailClosedExecute, IgnorePattern, LimitOutput, SaveAutoGrades,
                                               AssignLatePenalties, CheckCellMetadata]},
        OverwriteCells={"add_missing_cells": True},
        GenerateFeedback={"preprocessors": [GetGrades, HideHiddenTests, VerdictTable, CSSHTMLHeaderPreprocessor],
                          "exporter_class": FeedbackExporter},
        FeedbackExporter={"template_cache": job.template_cache},
        FailClosedExecute={"timeout": int(job.cell_timeout), "notebook_timeout": job.notebook_timeout,
                           "output_chars": job.output_chars, "flags_file": str(scratch / "flags.jsonl"),
                           "kernel_name": "python3", "shutdown_kernel": "immediate"},
        SandboxedKernelManager={"isolate": job.isolate, "hidden": job.hidden, "limits": job.limits,
                                "kernel_env": env, "connection_file": str(scratch / "rt" / "kernel.json"),
                                "ip": str(scratch / "rt" / "k")},
    )


def max_score(gradebook: Path, name: str, assignment: str) -> float:
    with Gradebook(f"sqlite:///{gradebook}") as gb:
        return float(gb.find_notebook(name, assignment).max_score)


def _notebook_result(job: Job, scratch: Path, name: str, flags: list[str], graded: bool) -> dict:
    tests, score = [], 0.0
    if graded:
        errors = _errors(scratch / "autograded" / job.student / job.assignment / f"{name}.ipynb")
        with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}") as gb:
            submission = gb.find_submission_notebook(name, job.assignment, job.student)
            score = float(submission.score)
            for grade in submission.grades:
                tests.append({"id": grade.name, "score": float(grade.score or 0), "max": float(grade.max_score),
                              "error": errors.get(grade.name, ""), "manual": bool(grade.needs_manual_grade)})
    manual = sum(t["max"] for t in tests if t["manual"])
    if manual:
        flags = [*flags, f"{manual:g} points are graded by hand"]
    return {"notebook": name, "score": score, "max": max_score(scratch / "gradebook.db", name, job.assignment),
            "flags": flags, "tests": tests}


def _errors(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    found = {}
    for cell in nbformat.read(path, as_version=4).cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        error = next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)
        if gid and error:
            found[gid] = f"{error.ename}: {error.evalue}".strip().rstrip(":").splitlines()[0][:200]
    return found


def _read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "unknown error"


def main(job_file: str, log: str) -> None:
    """One grading process (``classroom`` forks one per submission): ``result.json`` lands next to the job."""
    os.setsid()  # a process group of its own, so that the grader can end it whole
    with open(log, "w") as stream:
        os.dup2(stream.fileno(), 1)
        os.dup2(stream.fileno(), 2)
    job = Job(**json.loads(Path(job_file).read_text()))
    sandbox.become_subreaper()
    os.environ["JUPYTER_RUNTIME_DIR"] = str(Path(job.scratch) / "rt")
    (Path(job.scratch) / "rt").mkdir(exist_ok=True)
    try:
        result = run(job)
    finally:
        sandbox.end_descendants()
    (Path(job_file).parent / "result.json").write_text(json.dumps(result, indent=1))
