"""The course as a learner meets it: JupyterLab in headless Chromium.

``Lab`` starts JupyterLab the way ``make lab NO_BROWSER=1`` does (on 127.0.0.1, a free
port and a token). ``Learner`` opens a notebook in it and runs all its cells, going on
past each error as a learner would (JupyterLab's "Run All" stops at the first, and a
blank notebook has one per exercise); then it answers each quiz question, saves the
notebook and reports what the page showed: the saved file, the figures and whether they
loaded, what each quiz said, how long each cell took, and what the judge given to it
found wrong, with a screenshot of each such cell.
``Session`` shares one server and one browser among the tests of a pytest session.

Chromium comes from the system (Debian's ``chromium``; ``make test`` installs it where
it may) and is driven by Playwright for Python, which never downloads a browser here.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

KERNEL = "Python (ftcourse)"  # the kernel `make setup` registers, as JupyterLab names it
# No network here or in CI: without these flags Chromium keeps trying to reach Google's servers.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
INSTALL = ("install Debian's Chromium as root (`apt-get install chromium fonts-liberation`; `make test` does it "
           "when it runs as root or with passwordless sudo) and Playwright for Python (`.venv/bin/pip install -e "
           "'.[dev]'`; never `playwright install`), or set FTCOURSE_CHROMIUM to a Chromium or Chrome binary")
SETTINGS = {  # the lab's own settings, a learner's defaults otherwise
    # JupyterLab asks at its first start whether to fetch news from the internet; the answer is no.
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
CELL_TIMEOUT_S = 300  # as `ftcourse check` gives a cell
NOTEBOOK_TIMEOUT_S = 600  # as tests/test_notebooks.py gives a notebook
SHOT_HEIGHT = 16_000  # px of notebook per screenshot
# The solution notebook the browser runs, every cell green: of the notebooks that draw figures the cheapest
# to run (benchmarks/README.md), with exercises and a quiz.
SOLVED = "02-data"
TIMINGS: list[tuple[str, float]] = []  # (what, seconds) for the session's summary


def chromium() -> str | None:
    """The browser to drive: $FTCOURSE_CHROMIUM, else Chromium on PATH."""
    return os.environ.get("FTCOURSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> str:
    """Why the browser tests cannot run here, or "" when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: " + INSTALL
    if not chromium():
        return "no Chromium found: " + INSTALL
    return ""


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_saved(path: Path, timeout: float = 60) -> nbformat.NotebookNode:
    """The notebook as last saved. Jupyter's server writes a notebook in place, after copying the old one to
    ``.~NAME`` (an autosave may still be writing it): read it once that copy is gone and the file parses."""
    writing = path.with_name(f".~{path.name}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not writing.exists():
                return nbformat.read(path, as_version=4)
        except nbformat.reader.NotJSONError:
            pass
        time.sleep(0.2)
    return nbformat.read(path, as_version=4)


class Lab:
    """A JupyterLab server on ``notebook_dir``, started as `make lab NO_BROWSER=1` starts it, with settings of its own."""

    def __init__(self, notebook_dir: Path, home: Path):
        self.notebook_dir, self.token, self.port = notebook_dir, secrets.token_hex(16), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = home / "user-settings"
        for plugin, values in SETTINGS.items():
            path = settings / f"{plugin.replace(':', '/')}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        bin_dir = Path(sys.executable).parent
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTERLAB_SETTINGS_DIR": str(settings),
               "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])}
        command = [str(bin_dir / "jupyter"), "lab", f"--notebook-dir={notebook_dir}", "--no-browser", "--ip=127.0.0.1",
                   f"--port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}"]
        if os.geteuid() == 0:
            command.append("--allow-root")
        self.log = home / "jupyterlab.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_until_up(timeout=180)

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api("status")
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kernels(self, relpath: str) -> list[str]:
        """The kernels of the notebook's sessions, by the names JupyterLab shows."""
        specs = self.api("kernelspecs")["kernelspecs"]
        names = [s["kernel"]["name"] for s in self.api("sessions") if s["path"] == relpath]
        return [specs[n]["spec"]["display_name"] if n in specs else n for n in names]

    def kernel_ready(self, relpath: str) -> bool:
        """Whether the session for the notebook at ``relpath`` has a kernel, started and idle."""
        return any(s["path"] == relpath and s["kernel"]["execution_state"] == "idle" for s in self.api("sessions"))

    def shut_down_kernels(self) -> None:
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


@dataclass
class QuizAnswer:
    cell: int
    question: str
    unanswered: str  # what "Check" says before an option is picked
    verdict: str  # what it says once the first option is picked


@dataclass
class Problem:
    cell: int | None
    text: str

    def __str__(self) -> str:
        return self.text if self.cell is None else f"cell {self.cell}: {self.text}"


@dataclass
class Run:
    """What one notebook showed in the browser."""

    label: str
    saved: nbformat.NotebookNode | None  # the file as JupyterLab saved it after the run
    seconds: float
    cell_seconds: dict[int, float]
    kernels: list[str]  # the kernel(s) JupyterLab started for it
    cells: list[dict]  # what each cell shows: prompt, images [(loaded, width)], output text, widget counts
    quiz: list[QuizAnswer]
    page_errors: list[str]  # uncaught exceptions in the page, and console errors
    offline_requests: list[str]  # requests for anything outside the lab (refused)
    stopped: Problem | None = None  # the run itself stopped: a cell timed out, a dialog came up
    problems: list[Problem] = field(default_factory=list)  # what the judge found
    shots: list[Path] = field(default_factory=list)  # a screenshot of each problem cell
    screenshots: list[Path] = field(default_factory=list)  # the whole notebook, top to bottom

    def report(self) -> str:
        lines = [f"{self.label} in JupyterLab ({self.seconds:.0f} s): {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems]
        lines += [f"  screenshot: {p}" for p in [*self.shots, *self.screenshots]]
        return "\n".join(lines)


# The page, read in one call: each cell's prompt and what its outputs show.
_READ_CELLS = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell => ({
  prompt: (cell.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim(),
  images: [...cell.querySelectorAll('.jp-OutputArea-output img')].map(img => [img.complete && img.naturalWidth > 0,
                                                                              img.naturalWidth]),
  text: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n'),
  widgets: cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]').length,
  rendered: cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"] '
                                  + '> .jupyter-widgets').length,
}))"""

# Each cell's prompt ("[3]:" run, "[*]:" running or queued, "[ ]:" not run, "" markdown), and any dialog.
_RUN_STATE = """() => ({
  dialog: !!document.querySelector('.jp-Dialog'),
  prompts: [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(
    cell => (cell.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim()),
})"""
_RAN = re.compile(r"^\[\d+\]:$")

_INDICATOR = "(document.querySelector('.jp-Notebook-ExecutionIndicator') || {dataset: {}}).dataset.status"


class Learner:
    """A browser on a ``Lab``, doing with one notebook what a learner does."""

    def __init__(self, browser, lab: Lab, artifacts: Path):
        self.browser, self.lab, self.artifacts = browser, lab, artifacts
        artifacts.mkdir(parents=True, exist_ok=True)

    def run(self, relpath: str, label: str, judge: Callable[[Run], list[Problem]]) -> Run:
        """Open ``relpath`` (under the lab's folder), run it, answer its quiz, save it; ``judge`` names what is wrong."""
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page_errors: list[str] = []
        offline: list[str] = []
        page.on("pageerror", lambda exc: page_errors.append(f"uncaught: {exc}"))
        page.on("console", lambda msg: page_errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        context.route(re.compile(r"^(?!" + re.escape(self.lab.url) + r"/|data:|blob:)"),
                      lambda route: (offline.append(route.request.url), route.abort()))
        sources = _run_on_past_errors(self.lab.notebook_dir / relpath).cells
        cell_seconds: dict[int, float] = {}
        stopped, kernels, quiz = None, [], []
        start = time.perf_counter()
        try:
            page.goto(f"{self.lab.url}/lab/tree/{relpath}?reset&token={self.lab.token}")
            # JupyterLab attaches the cells in batches, then starts the kernel.
            page.wait_for_function(f"() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === {len(sources)}"
                                   f" && ({_INDICATOR} === 'idle' || document.querySelector('.jp-Dialog'))",
                                   timeout=180_000)
            if page.query_selector(".jp-Dialog"):
                raise _Stop(Problem(None, f"a dialog came up on opening the notebook: {self._dialog(page)}"))
            self._wait_kernel(page, relpath)
            kernels = self.lab.kernels(relpath)
            stopped = self._run_cells(page, sources, cell_seconds)
            if stopped is None:
                page.wait_for_function(f"() => {_INDICATOR} === 'idle'", timeout=60_000)
                self._wait_widgets(page)
                quiz = self._answer_quiz(page)
            self._save(page)
        except _Stop as stop:
            stopped = stop.problem
        except Exception as exc:  # noqa: BLE001 -- Playwright gave up on the page: report it with what it shows
            stopped = Problem(None, f"the run stopped: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
        seconds = time.perf_counter() - start
        try:
            cells = page.evaluate(_READ_CELLS)
            saved = read_saved(self.lab.notebook_dir / relpath)
            run = Run(label, saved, seconds, cell_seconds, kernels, cells, quiz, page_errors, offline, stopped)
            run.problems = ([stopped] if stopped else []) + judge(run)
            for cell in sorted({p.cell for p in run.problems if p.cell is not None})[:5]:
                page.locator(".jp-Notebook .jp-Cell").nth(cell).scroll_into_view_if_needed()
                run.shots.append(self.artifacts / f"{label}-cell{cell}.png")
                page.screenshot(path=run.shots[-1])
            run.screenshots = self._full_screenshot(page, label)
        finally:  # the next notebook starts with no kernel and no page of this one's left
            self.lab.shut_down_kernels()
            context.close()
            TIMINGS.append((label, seconds))
        return run

    def _wait_kernel(self, page, relpath: str, timeout: float = 180) -> None:
        """Until the notebook's kernel is up. The page's indicator says 'idle' for a moment before the session
        exists, then 'initializing' while the kernel starts; in CI a cell run in that window never got its prompt."""
        deadline = time.monotonic() + timeout
        while not self.lab.kernel_ready(relpath):
            if time.monotonic() > deadline:
                raise _Stop(Problem(None, f"no kernel was ready for it {timeout:.0f} s after it opened; "
                                          f"JupyterLab's log ends:\n{self.lab.log_tail()}"))
            time.sleep(0.2)
        page.wait_for_function(f"() => {_INDICATOR} === 'idle'", timeout=60_000)

    def _run_cells(self, page, sources, cell_seconds: dict[int, float]) -> Problem | None:
        """Select every cell (click the first, Shift+click the last code cell) and run the selection (Ctrl+Enter);
        with each cell tagged as ``_run_on_past_errors`` does, each runs once, in order, errors or not. Times each
        cell from when the one before it got its count."""
        code = [i for i, cell in enumerate(sources) if cell.cell_type == "code" and cell.source.strip()]
        if not code:
            return None
        cells = page.locator(".jp-Notebook .jp-Cell")
        cells.nth(code[0]).locator(".jp-InputPrompt").click()
        page.keyboard.press("Escape")  # command mode: the keys act on cells, not on text
        if code[-1] > code[0]:
            cells.nth(code[-1]).locator(".jp-InputPrompt").click(modifiers=["Shift"])
        page.keyboard.press("Control+Enter")
        deadline = time.monotonic() + NOTEBOOK_TIMEOUT_S
        running, since = None, time.monotonic()
        while True:
            state = page.evaluate(_RUN_STATE)
            now = time.monotonic()
            if state["dialog"]:
                return Problem(running, f"a dialog came up while it ran: {self._dialog(page)}")
            waiting = next((i for i in code if not _RAN.match(state["prompts"][i])), None)
            if waiting != running:
                if running is not None:
                    cell_seconds[running] = now - since
                running, since = waiting, now
            if waiting is None:
                return None
            budget = max(1.0, min(CELL_TIMEOUT_S, deadline - since))
            if now - since > budget:
                return Problem(waiting, f"still running after {budget:.0f} s (the notebook may take "
                                        f"{NOTEBOOK_TIMEOUT_S} s, a cell {CELL_TIMEOUT_S} s)")
            time.sleep(0.1)

    @staticmethod
    def _dialog(page) -> str:
        return " ".join(page.locator(".jp-Dialog").first.inner_text().split())[:300]

    @staticmethod
    def _wait_widgets(page) -> None:
        """Widget views render once their models arrive; the judge reports any that never do."""
        try:
            page.wait_for_function("() => !document.querySelector('.jp-Notebook').innerText.includes('Loading widget')",
                                   timeout=15_000)
        except Exception:  # noqa: BLE001 -- Playwright's TimeoutError
            pass

    def _answer_quiz(self, page) -> list[QuizAnswer]:
        """Each question: "Check" with no option picked, then the first option picked and checked."""
        answers = []
        cells = page.locator(".jp-Notebook .jp-Cell")
        for i in range(cells.count()):
            questions = cells.nth(i).locator(".jp-OutputArea-output .widget-vbox:has(> .widget-radio)")
            for q in range(questions.count()):
                question = questions.nth(q)
                question.scroll_into_view_if_needed()
                feedback = question.locator(":scope > .widget-html").last
                check = question.get_by_role("button", name="Check")
                check.click()
                unanswered = _text_when(feedback, lambda t: t != "")
                question.locator("input[type=radio]").first.check()
                check.click()
                verdict = _text_when(feedback, lambda t, before=unanswered: t != before)
                prompt = question.locator(":scope > .widget-html").first.inner_text().strip()
                answers.append(QuizAnswer(i, prompt, unanswered, verdict))
        return answers

    @staticmethod
    def _save(page) -> None:
        page.keyboard.press("Control+s")
        page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')",
                               timeout=30_000)

    def _full_screenshot(self, page, label: str) -> list[Path]:
        """The whole notebook: the window made as tall as the notebook (up to SHOT_HEIGHT px a picture), in as
        many pictures as it takes, top to bottom."""
        scroller = "document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')"
        total = page.evaluate(f"() => {scroller} ? {scroller}.scrollHeight : 0")
        chrome = page.viewport_size["height"] - page.evaluate(f"() => {scroller} ? {scroller}.clientHeight : 0")
        parts = max(1, -(-total // SHOT_HEIGHT))
        page.set_viewport_size({"width": 1280, "height": chrome + min(total, SHOT_HEIGHT)})
        paths = []
        for part in range(parts):
            page.evaluate(f"() => {{ if ({scroller}) {scroller}.scrollTop = {part * SHOT_HEIGHT}; }}")
            page.wait_for_timeout(300)
            paths.append(self.artifacts / (f"{label}.png" if parts == 1 else f"{label}-{part + 1}of{parts}.png"))
            page.screenshot(path=paths[-1], timeout=180_000)
        return paths


def _run_on_past_errors(path: Path) -> nbformat.NotebookNode:
    """Tags each code cell of the lab's copy ``raises-exception``: JupyterLab then runs the cells queued after
    one that fails instead of skipping them (its "Run All" stops at the first error, and a blank notebook has
    one per exercise). So the whole notebook runs as one selection, as Shift+Enter on each cell would run it;
    Shift+Enter itself costs the page about 0.25 s of CPU a cell, more than most cells take."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "raises-exception" not in cell.metadata.get("tags", []):
            cell.metadata["tags"] = [*cell.metadata.get("tags", []), "raises-exception"]
    nbformat.write(nb, path)
    return nb


class _Stop(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


def _text_when(locator, ok, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    text = locator.inner_text().strip()
    while not ok(text) and time.monotonic() < deadline:
        time.sleep(0.05)
        text = locator.inner_text().strip()
    return text


# --- what a page may show -------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_FRAME = re.compile(r"Cell In\s*\[(\d+)\]")
_FIGURE_REPR = re.compile(r"<Figure size \d+x\d+ with \d+ Axes>")
_IMAGES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
_VERDICTS = ("Right. ", "Not quite. ")


def judge(run: Run, blank: bool) -> list[Problem]:
    """Everything the page shows wrong. In a ``blank`` notebook an exercise's NotImplementedError, and a
    visible test failing because of it, are what a learner is meant to see; nothing else is."""
    from nbgrader.utils import is_grade, is_solution

    problems = [Problem(None, f"JupyterLab started the kernel {', '.join(run.kernels) or 'none'} for it, "
                              f"not {KERNEL!r}")] if run.kernels != [KERNEL] else []
    nb = run.saved
    answers = {c.execution_count for c in nb.cells if c.cell_type == "code" and is_solution(c) and c.execution_count}
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type != "error":
                continue
            frames = _CELL_FRAME.findall(_ANSI.sub("", "\n".join(out.traceback)))
            from_answer = out.ename == "NotImplementedError" and frames and int(frames[-1]) in answers
            if blank and (from_answer or (is_grade(cell) and not is_solution(cell))):
                continue
            problems.append(Problem(i, f"{out.ename}: {out.evalue}".strip().splitlines()[0]))
    for i, (cell, shown) in enumerate(zip(nb.cells, run.cells)):
        drawn = sum(1 for out in cell.get("outputs", []) if set(out.get("data", {})) & set(_IMAGES))
        loaded = sum(1 for ok, _ in shown["images"] if ok)
        if loaded < drawn:
            problems.append(Problem(i, f"{drawn - loaded} of its {drawn} figure(s) did not show as an image"))
        if not shown["images"] and (figure := _FIGURE_REPR.search(shown["text"])):
            problems.append(Problem(i, f"shows {figure.group(0)!r} as text where the figure should be"))
        for text in ("Loading widget", "Error displaying widget", "model not found"):
            if text in shown["text"]:
                problems.append(Problem(i, f"a widget shows {text!r}"))
        if shown["rendered"] < shown["widgets"]:
            problems.append(Problem(i, f"{shown['widgets'] - shown['rendered']} of its {shown['widgets']} widgets "
                                       "did not render"))
    asked = sum(c.source.count("Question(") for c in nb.cells if c.cell_type == "code" and "ftcourse.quiz" in c.source)
    if not run.stopped and len(run.quiz) != asked:
        problems.append(Problem(None, f"the quiz asks {asked} question(s); {len(run.quiz)} showed as widgets with a "
                                      "Check button"))
    for answer in run.quiz:
        if answer.unanswered != "Pick an option first." or not answer.verdict.startswith(_VERDICTS) \
                or len(answer.verdict) < 20:
            problems.append(Problem(answer.cell, f"quiz question {answer.question!r}: 'Check' said "
                                                 f"{answer.unanswered!r} with no option picked and {answer.verdict!r} "
                                                 "with the first one"))
    problems += [Problem(None, f"the page logged {e}") for e in run.page_errors]
    problems += [Problem(None, f"the page asked for {url} (outside the lab: there is no network)")
                 for url in run.offline_requests]
    return problems


class Session:
    """One JupyterLab on a scratch copy of notebooks/ and one Chromium, started at the first run and
    shared by the pytest session; each notebook runs at most once (tests/test_notebooks.py scores
    the same blank runs the browser test inspects)."""

    def __init__(self, root: Path, scratch: Path, artifacts: Path):
        self.root, self.scratch, self.artifacts = root, scratch, artifacts
        self.reason = missing()
        self._runs: dict[str, Run | Exception] = {}
        self._learner: Learner | None = None

    def require(self) -> None:
        """Skip the calling test where the browser cannot run; in CI (CI=true) fail it instead."""
        import pytest

        if self.reason:
            if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
                pytest.fail(f"CI must run the browser tests, but {self.reason}", pytrace=False)
            pytest.skip(f"browser test skipped: {self.reason}")

    def release(self, name: str) -> Run:
        """The student notebook ``notebooks/NAME/NAME.ipynb``, blank, as a learner first runs it."""
        return self.run(f"{name}/{name}.ipynb", name, blank=True)

    def solved(self, name: str) -> Run:
        """The solution notebook, copied into a scratch folder of the lab: every cell must be green."""
        from ftcourse.grading.release import ask_for_course_kernel

        label = f"{name}-solved"
        folder = self.folder / "solved" / name
        if not folder.exists():
            shutil.copytree(self.root / "solutions" / name, folder)
            ask_for_course_kernel(folder / f"{name}.ipynb")  # as a learner's solved copy of the release does
        return self.run(f"solved/{name}/{name}.ipynb", label, blank=False)

    def run(self, relpath: str, label: str, blank: bool) -> Run:
        """Run the notebook at ``relpath`` in the lab's folder, once per session: a run that raised raises
        the same for every test that asks for it."""
        if label not in self._runs:
            try:
                self._runs[label] = self._learner_().run(relpath, label, lambda r: judge(r, blank=blank))
            except Exception as exc:
                self._runs[label] = exc
        if isinstance(self._runs[label], Exception):
            raise self._runs[label]
        return self._runs[label]

    def browser(self):
        """The session's Chromium (the lab starts with it)."""
        return self._learner_().browser

    @property
    def folder(self) -> Path:
        """The lab's notebook folder: a scratch copy of notebooks/."""
        return self._learner_().lab.notebook_dir

    def _learner_(self) -> Learner:
        if self._learner is None:
            from playwright.sync_api import sync_playwright

            shutil.rmtree(self.artifacts, ignore_errors=True)
            began = time.perf_counter()
            shutil.copytree(self.root / "notebooks", self.scratch / "lab")
            lab = Lab(self.scratch / "lab", self.scratch / "home")
            self._playwright = sync_playwright().start()
            self._learner = Learner(launch(self._playwright), lab, self.artifacts)
            TIMINGS.append(("JupyterLab and Chromium started", time.perf_counter() - began))
        return self._learner

    def close(self) -> None:
        if self._learner is not None:
            self._learner.browser.close()
            self._playwright.stop()
            self._learner.lab.stop()
            lines = [f"{label:<40} {seconds:6.1f} s" for label, seconds in TIMINGS]
            lines.append(f"{'in all':<40} {sum(s for _, s in TIMINGS):6.1f} s")
            (self.artifacts / "timings.txt").write_text("\n".join(lines) + "\n")
