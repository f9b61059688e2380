"""Grade a class: every submission, one isolated process each, in parallel, resumable.

``grade(root, submissions, out)`` finds the submissions, builds each assignment's
gradebook from ``solutions/``, and grades every (student, assignment) in its own
process (``ftcourse.grading.submission``) under a hard wall clock, ``jobs`` at a time.
Each result is stored in ``OUT/.ftcourse/`` the moment it is done, under a key made of
the submission's bytes, the assignment's source and the settings: a rerun reuses what
it has (same grades), grades what is new or changed, and an interrupted run resumes.
``OUT/grades.csv`` and ``OUT/feedback/`` are written from the stored results.
Submissions are only ever read.

Two layouts are accepted: nbgrader's ``SUBMISSIONS/<student>/<assignment>/<notebook>.ipynb``
(what ``nbgrader collect`` writes) and a flat folder of ``<student>__<notebook>.ipynb``
(a download from a learning platform, renamed).
"""
from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import multiprocessing.forkserver
import os
import re
import shutil
import signal
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from .. import __version__
from . import layout, release, sandbox, submission
from .submission import Job

# Each submission gets a process of its own, forked from a server that has nbgrader imported already:
# a fresh interpreter per submission would spend a second or two importing it every time.
WORKERS = multiprocessing.get_context("forkserver")
WORKERS.set_forkserver_preload(["ftcourse.grading.submission"])
STUDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
COLUMNS = ["student", "assignment", "notebook", "score", "max", "flags"]


@dataclass(frozen=True)
class Submission:
    student: str
    assignment: str
    notebooks: tuple[tuple[str, Path], ...]  # (notebook name, file), sorted


@dataclass(frozen=True)
class Settings:
    jobs: int = 1
    cell_timeout: float = 180
    notebook_timeout: float = 900
    output_chars: int = 100_000
    limits: sandbox.Limits = sandbox.Limits()
    grace: float = 120  # beyond the notebook clocks, before the whole grading process is killed
    regrade: bool = False  # ignore stored results


@dataclass
class Report:
    rows: list[dict] = field(default_factory=list)  # one per (student, assignment, notebook), as in grades.csv
    skipped: list[str] = field(default_factory=list)  # files that are not submissions, and why
    notes: list[str] = field(default_factory=list)  # what isolation applies, stale releases
    graded: int = 0  # submissions graded in this run (the rest came from stored results)


def find(folder: Path, notebooks: dict[str, list[str]]) -> tuple[list[Submission], list[str]]:
    """Submissions in ``folder`` for the assignments in ``notebooks`` (assignment → its notebook names)."""
    owner = {nb: a for a, names in notebooks.items() for nb in names}
    found: dict[tuple[str, str], dict[str, Path]] = {}
    skipped = []
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder)
        if ".ipynb_checkpoints" in rel.parts:
            continue
        if any(p.is_symlink() for p in [path, *path.parents] if folder in p.parents):
            skipped.append(f"{rel}: a symbolic link (it could point at another student's work or any file)")
            continue
        if len(rel.parts) == 3:
            student, assignment, name = rel.parts[0], rel.parts[1], path.stem
        elif len(rel.parts) == 1 and "__" in path.stem:
            student, name = path.stem.rsplit("__", 1)
            assignment = owner.get(name)
        else:
            skipped.append(f"{rel}: neither <student>/<assignment>/<notebook>.ipynb nor <student>__<notebook>.ipynb")
            continue
        if name not in notebooks.get(assignment, []):
            skipped.append(f"{rel}: not a notebook of the assignments being graded")
        elif not STUDENT.match(student):
            skipped.append(f"{rel}: {student!r} is not a usable student id (letters, digits and . _ @ + -)")
        elif name in found.get((student, assignment), {}):
            skipped.append(f"{rel}: a second copy of {student}'s {name}")
        else:
            found.setdefault((student, assignment), {})[name] = path
    subs = [Submission(s, a, tuple(sorted(nbs.items()))) for (s, a), nbs in sorted(found.items())]
    return subs, skipped


def grade(root: Path, folder: Path, out: Path, names: list[str] | None = None, settings: Settings = Settings(),
          progress: bool = True, notify: Callable[[str], None] = lambda line: None) -> Report:
    """Grade every submission in ``folder`` into ``out``; ``notify`` hears the notes before grading starts."""
    folder, out = folder.resolve(), out.resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder of submissions: {folder}")
    if out == folder or out in folder.parents or folder in out.parents:
        raise ValueError(f"--out {out} must not be inside the submissions or contain them")
    names = layout.resolve_names(root, names)
    multiprocessing.forkserver.ensure_running()  # it imports nbgrader while we build the gradebooks
    state = out / ".ftcourse"
    report = Report()
    masters = _prepare_assignments(root, names, state / "assignments", report)
    (state / "templates").mkdir(exist_ok=True)
    subs, report.skipped = find(folder, {a: sorted(p.stem for p in m["release"].glob("*.ipynb")) for a, m in masters.items()})
    isolation = sandbox.probe(settings.limits)
    report.notes += isolation.notes(settings.limits)
    for note in report.notes:
        notify(note)
    hidden = [root / "solutions", root / "build", folder, out]
    results, pending = {}, []
    for sub in subs:
        key = _key(sub, masters[sub.assignment]["fingerprint"], settings, isolation.namespaces)
        stored = _load(state / "results" / sub.student / f"{sub.assignment}.json")
        if stored and stored["key"] == key and not settings.regrade:
            results[sub] = stored["result"]
        else:
            pending.append((sub, key))
    notify(f"{len(subs)} submissions: {len(pending)} to grade, {len(results)} already graded in an earlier run")
    threads = max(1, (os.cpu_count() or 1) // settings.jobs) if settings.jobs > 1 else 0
    workers = Workers(state, out)

    def work(sub: Submission, key: str) -> dict:
        job = Job(course=str(root), student=sub.student, assignment=sub.assignment,
                  notebooks={n: str(p) for n, p in sub.notebooks}, gradebook=str(masters[sub.assignment]["gradebook"]),
                  release=str(masters[sub.assignment]["release"]), scratch="", isolate=isolation.namespaces,
                  hidden=[str(h) for h in hidden], cell_timeout=settings.cell_timeout,
                  notebook_timeout=settings.notebook_timeout, output_chars=settings.output_chars,
                  limits=asdict(settings.limits), threads=threads, template_cache=str(state / "templates"))
        result = workers.grade(job, wall=settings.notebook_timeout * len(sub.notebooks) + settings.grace)
        _store(state / "results" / sub.student / f"{sub.assignment}.json", {"key": key, "result": result})
        return result

    pool = ThreadPoolExecutor(max_workers=settings.jobs)
    try:
        futures = {pool.submit(work, sub, key): sub for sub, key in pending}
        with tqdm(total=len(futures), desc="grading", unit="submission", disable=not progress or not futures) as bar:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                report.graded += 1
                bar.update()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        workers.stop()
    report.rows = [_row(sub, nb) for sub in subs for nb in results[sub]["notebooks"]]
    _write_csv(out / "grades.csv", report.rows)
    return report


def _prepare_assignments(root: Path, names: list[str], where: Path, report: Report) -> dict[str, dict]:
    """Each assignment's gradebook and release, generated from solutions/ now."""
    masters = {}
    for name in names:
        folder = where / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        release.generate(root, [name], folder / "release", gradebook=folder / "gradebook.db")
        fresh = folder / "release" / name
        stale = release.compare_dirs(fresh, root / "notebooks" / name, f"notebooks/{name}")
        if stale:
            report.notes.append(f"notebooks/{name} differs from a fresh release of solutions/ ({stale[0].detail}); "
                                "students may hold an older version: grading uses solutions/")
        digest = hashlib.sha256()
        for path in sorted((root / "solutions" / name).rglob("*")) + [root / layout.CONFIG_FILE]:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
        masters[name] = {"gradebook": folder / "gradebook.db", "release": fresh, "fingerprint": digest.hexdigest()}
    return masters


def _key(sub: Submission, fingerprint: str, settings: Settings, isolated: bool) -> str:
    digest = hashlib.sha256(f"{__version__}\0{fingerprint}\0{isolated}\0".encode())
    digest.update(json.dumps([settings.cell_timeout, settings.notebook_timeout, settings.output_chars,
                              asdict(settings.limits)]).encode())
    for name, path in sub.notebooks:
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class Workers:
    """Grading processes in flight, one per submission, so that a stopped run can end them all."""

    def __init__(self, state: Path, out: Path):
        self.state, self.out = state, out
        self.running: set[multiprocessing.Process] = set()
        self.lock, self.stopping = threading.Lock(), threading.Event()

    def grade(self, job: Job, wall: float) -> dict:
        """Run ``submission.main`` for ``job``, killed with everything it started after ``wall`` seconds."""
        scratch = Path(tempfile.mkdtemp(prefix="ftg-", dir=_short_temp()))
        job.scratch = str(scratch / "course")
        job.hidden.append(str(scratch))
        Path(job.scratch).mkdir()
        (scratch / "job.json").write_text(json.dumps(asdict(job)))
        log = self.state / "logs" / f"{job.student}__{job.assignment}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.lock:
                if self.stopping.is_set():
                    raise KeyboardInterrupt
                proc = WORKERS.Process(target=submission.main, args=(str(scratch / "job.json"), str(log)))
                proc.start()
                self.running.add(proc)
            proc.join(wall)
            finished = not proc.is_alive()
            with self.lock:
                self.running.discard(proc)
                _kill(proc)
            if self.stopping.is_set():  # ended because the run was stopped: grade it again next time
                raise KeyboardInterrupt
            if not finished:
                return _failed(job, f"grading did not finish within {wall:g} s and was stopped")
            if not (scratch / "result.json").is_file():
                return _failed(job, f"the grading process failed: {_tail(log)}")
            for kind in ("feedback", "autograded"):
                src = Path(job.scratch) / kind / job.student / job.assignment
                dest = self.out / kind / job.student / job.assignment
                if dest.exists():
                    shutil.rmtree(dest)
                if src.is_dir():
                    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("root-*", "*.db"))
            return json.loads((scratch / "result.json").read_text())
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def stop(self) -> None:
        with self.lock:
            self.stopping.set()
            for proc in self.running:
                _kill(proc)


def _short_temp() -> str:
    """The kernel's Unix sockets live in the scratch folder, and a socket path has at most 107 bytes."""
    return tempfile.gettempdir() if len(tempfile.gettempdir()) <= 60 else "/tmp"


def _failed(job: Job, problem: str) -> dict:
    return {"student": job.student, "assignment": job.assignment, "notebooks": [
        {"notebook": name, "score": 0.0, "max": submission.max_score(Path(job.gradebook), name, job.assignment),
         "flags": [problem], "tests": []} for name in job.notebooks]}


def _kill(proc: multiprocessing.Process) -> None:
    """The worker's whole process group; its kernel dies with it (parent-death signal)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.join()


def _tail(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def _row(sub: Submission, nb: dict) -> dict:
    return {"student": sub.student, "assignment": sub.assignment, "notebook": nb["notebook"],
            "score": f"{nb['score']:g}", "max": f"{nb['max']:g}", "flags": " | ".join(nb["flags"])}


def _write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _store(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, indent=1))
    tmp.replace(path)
