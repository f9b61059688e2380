"""`ftcourse grade` against a class of hostile submissions of the real released 00-setup notebook.

One class is graded with ``--jobs 2``; the run is interrupted once and resumed, then
rerun. Every student below is built from notebooks/00-setup/00-setup.ipynb and each
test asserts that student's score, flags and what it could (not) do. The star and the
blank hand in the whole notebook; the others stop after its one test cell, as a learner
may: the demos after it load and run the model, about half of each kernel's time, and
the grader does nothing with them.
"""
import copy
import csv
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import nbformat
import psutil
import pytest

from command import ctrl_c_as_a_terminal_gives_it
from ftcourse.grading import layout, sandbox
from ftcourse.grading.classroom import find

NAME = "00-setup"
GOOD = """def count_parameters(model, trainable_only=False):
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))"""
WRONG = """def count_parameters(model, trainable_only=False):
    return 1"""
MARKER = f"ftcourse-test-leftover-{os.getpid()}"
CELL_TIMEOUT = 30  # 00-setup loads the model in one cell: over 15 s where the suite's two workers share two cores
HIDDEN_LINE = "equal(count_parameters(_tied), 21"  # a line of the hidden tests: must never reach feedback


def released():
    return nbformat.read(layout.release_notebook(layout.find_root(__file__), NAME), as_version=4)


def index(nb, kind):
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if (kind == "answer" and meta.get("solution")) or (kind == "test" and meta.get("grade") and not meta.get("solution")):
            return i
    raise LookupError(kind)


def answered(source=GOOD, *extra_before_tests, whole=False):
    """The release with ``source`` as the answer, and ``extra`` cells between the answer and its tests;
    cut after its tests unless ``whole``."""
    nb = released()
    if not whole:
        del nb.cells[index(nb, "test") + 1:]
    at = index(nb, "answer")
    nb.cells[at].source = source
    for offset, cell_source in enumerate(extra_before_tests, 1):
        nb.cells.insert(at + offset, nbformat.v4.new_code_cell(cell_source))
    return nb


def with_test_cell(change, source=WRONG):
    nb = answered(source)
    change(nb, index(nb, "test"))
    return nb


def to_markdown(nb, i):
    cell = nb.cells[i]
    nb.cells[i] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)


def duplicate(nb, i):
    twin = copy.deepcopy(nb.cells[i])
    twin.id = "twin"  # as a copy-paste in JupyterLab gives it
    nb.cells.insert(i + 1, twin)


def reorder(nb, i):
    answer = nb.cells.pop(index(nb, "answer"))
    nb.cells.insert(index(nb, "test") + 1, answer)


def snoop(root, folder, outside, port):
    """Looks for solutions, gradebooks and other students; writes outside; phones home; leaves a process."""
    return f"""
import os, socket, subprocess, sys
here = os.getcwd()
for path in [{str(layout.solution_notebook(root, NAME))!r}, {str(root / "build")!r}, {str(folder)!r},
             os.path.join(here, "..", "..", "..", "gradebook.db")]:
    try:
        print("READ", path, os.listdir(path) if os.path.isdir(path) else open(path, "rb").read().decode("latin-1"))
    except OSError as e:
        print("blocked", path, type(e).__name__)
for top, dirs, files in os.walk(os.path.join(here, "..", "..", "..")):
    for f in files:
        try:
            content = open(os.path.join(top, f), "rb").read().decode("latin-1")
        except OSError:  # a socket
            continue
        if f.endswith((".db", ".ipynb")) and content:  # its own notebook reads as empty while it runs
            print("FOUND", f, content)
for target in [{str(outside)!r}, os.path.join(here, "..", "escaped.txt")]:
    try:
        open(target, "w").write("escaped")
        print("WROTE", target)
    except OSError as e:
        print("no write", target, type(e).__name__)
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"grades please")
    print("CONNECTED")
except OSError as e:
    print("no network", e)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", {MARKER!r}], start_new_session=True)
"""


def students(root, folder, outside, port):
    hook = """
def _cheat(info):
    import sys, types
    sys.modules["ftcourse.expect"] = types.SimpleNamespace(equal=lambda *a, **k: None)
get_ipython().events.register("pre_run_cell", _cheat)"""
    fake_import = """
import builtins, types
_real_import = builtins.__import__
def _import(name, *args, **kwargs):
    if name == "ftcourse.expect":
        return types.SimpleNamespace(equal=lambda *a, **k: None)
    return _real_import(name, *args, **kwargs)
builtins.__import__ = _import"""
    return {
        "star": answered(whole=True),
        "blank": released(),
        "warns": answered(GOOD.replace("    return", """    import sys, warnings, torch
    warnings.warn("counting the slow way", UserWarning)
    torch.tensor(torch.tensor(1.0))  # torch itself warns: copy-constructing a tensor
    print("a note on stderr", file=sys.stderr)
    return""")),
        "loop": answered(GOOD, "while True:\n    pass"),
        "sigint": answered("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.1)\n" + GOOD),
        "raises": answered("raise ValueError('not today')\n" + GOOD),
        "syntax": answered(GOOD + "\n    return (("),
        "sysexit": answered(GOOD, "import sys\nsys.exit('bye')"),
        "osexit": answered(GOOD, "import os\nos._exit(0)"),
        "killself": answered(GOOD, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        "membomb": answered(GOOD, "def bomb():\n    hog = []\n    while True:\n        hog.append(bytearray(2**26))\nbomb()"),
        "flood": answered(GOOD, "for i in range(200_000):\n    print(i)", "print('x' * 50_000_000)"),
        "edited": with_test_cell(lambda nb, i: setattr(nb.cells[i], "source", "pass")),
        "deleted": with_test_cell(lambda nb, i: nb.cells.pop(i)),
        "markdown": with_test_cell(to_markdown),
        "points": with_test_cell(lambda nb, i: nb.cells[i].metadata.nbgrader.update(points=200), GOOD),
        "stripped": with_test_cell(lambda nb, i: nb.cells[i].metadata.pop("nbgrader")),
        "reordered": with_test_cell(reorder, GOOD),
        "duplicated": with_test_cell(duplicate, GOOD),
        "showtraceback": answered(WRONG + "\nget_ipython().showtraceback = lambda *a, **k: None"),
        "transformer": answered(WRONG + "\nget_ipython().input_transformers_cleanup.append(\n"
                                "    lambda lines: ['pass\\n'] if any('equal(' in l for l in lines) else lines)"),
        "hook": answered(WRONG + hook),
        "builtins": answered(WRONG + fake_import),
        "helper": answered(WRONG + "\ndef equal(*args, **kwargs):\n    pass"),
        "helperpatch": answered(WRONG + "\nimport ftcourse.expect\nftcourse.expect.equal = lambda *a, **k: None"),
        "runcell": answered(WRONG + """
import IPython.core.interactiveshell as shell
_run_cell = shell.InteractiveShell.run_cell
shell.InteractiveShell.run_cell = lambda self, cell, *a, **k: _run_cell(self, "pass" if "equal(" in cell else cell, *a, **k)"""),
        "ast": answered(WRONG + """
import ast
class Quiet(ast.NodeTransformer):
    def visit_Expr(self, node):
        return None if "equal" in ast.dump(node) else node
get_ipython().ast_transformers.append(Quiet())"""),
        "stackreader": answered("""def count_parameters(model, trainable_only=False):
    import inspect, re
    caller = inspect.getframeinfo(inspect.currentframe().f_back).code_context or [""]
    found = re.search(r"\\), (\\d+)", caller[0])
    return int(found.group(1)) if found else 0"""),
        "alwayseq": answered("class Anything(int):\n    def __eq__(self, other):\n        return True\n"
                             "    __hash__ = int.__hash__\n\n"
                             "def count_parameters(model, trainable_only=False):\n    return Anything(0)"),
        "snoop": answered(GOOD, snoop(root, folder, outside, port)),
    }


def write_class(folder, class_):
    """Most students in the flat layout, a few as nbgrader collects them, plus files that are not submissions."""
    for student, nb in class_.items():
        if student in ("star", "blank", "edited"):
            path = folder / student / NAME / f"{NAME}.ipynb"
            path.parent.mkdir(parents=True)
        else:
            path = folder / f"{student}__{NAME}.ipynb"
        nbformat.write(nb, path)
    (folder / f"garbage__{NAME}.ipynb").write_text("{ this is not json")
    (folder / "notes.ipynb").write_text("{}")


def fingerprint(folder):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def ftcourse(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "ftcourse", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=ctrl_c_as_a_terminal_gives_it, **kwargs)


class Listener:
    """A TCP server on the host's localhost that records whoever connects."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port, self.calls = self.sock.getsockname()[1], []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.calls.append(conn.recv(100))
            conn.close()


def test_find_reads_both_layouts_and_says_what_it_skips(tmp_path):
    for rel in ["ada/00-setup/00-setup.ipynb", "bob__00-setup.ipynb", "ada/00-setup/.ipynb_checkpoints/00-setup.ipynb",
                "cy/99-other/99-other.ipynb", "notes.ipynb", "bad id!__00-setup.ipynb", "ada__00-setup.ipynb"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    (tmp_path / "eve__00-setup.ipynb").symlink_to(tmp_path / "bob__00-setup.ipynb")
    subs, skipped = find(tmp_path, {"00-setup": ["00-setup"]})
    assert [(s.student, s.assignment, [n for n, _ in s.notebooks]) for s in subs] == [
        ("ada", "00-setup", ["00-setup"]), ("bob", "00-setup", ["00-setup"])]
    assert sorted(line.split(":")[0] for line in skipped) == [
        "ada__00-setup.ipynb", "bad id!__00-setup.ipynb", "cy/99-other/99-other.ipynb", "eve__00-setup.ipynb", "notes.ipynb"]
    assert any("a second copy of ada's 00-setup" in line for line in skipped)
    assert any(line.startswith("eve__00-setup.ipynb: a symbolic link") for line in skipped)


@pytest.fixture(scope="module")
def graded(root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grade")
    folder, out, outside = tmp / "submissions", tmp / "out", tmp / f"escaped-{MARKER}.txt"
    folder.mkdir()
    listener = Listener()
    class_ = students(root, folder, outside, listener.port)
    write_class(folder, class_)
    before = fingerprint(folder)
    args = ["--course", str(root), "grade", str(folder), "--out", str(out), "--jobs", "2",
            "--cell-timeout", str(CELL_TIMEOUT), "--timeout", "120", "--memory", "2"]

    first = ftcourse(*args)  # interrupted as soon as one result is stored, as Ctrl-C would
    results = out / ".ftcourse" / "results"
    deadline = time.monotonic() + 300
    while not any(results.rglob("*.json")) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGINT)
    first_output = first.communicate(timeout=60)[0]
    stored_after_interrupt = len(list(results.rglob("*.json")))

    second = ftcourse(*args)
    output = second.communicate(timeout=900)[0]
    assert second.returncode == 0, output
    rerun = ftcourse(*args)
    rerun_output = rerun.communicate(timeout=300)[0]
    listener.sock.close()
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    return {"root": root, "out": out, "folder": folder, "rows": rows, "output": output, "first": first_output,
            "stored_after_interrupt": stored_after_interrupt, "rerun": rerun_output, "before": before,
            "outside": outside, "listener": listener, "students": class_, "isolated": sandbox.probe().namespaces}


def score(graded, student):
    row = graded["rows"][student]
    return float(row["score"]), float(row["max"]), row["flags"]


def autograded_text(graded, student):
    nb = nbformat.read(graded["out"] / "autograded" / student / NAME / f"{NAME}.ipynb", as_version=4)
    return "\n".join(json.dumps(c.get("outputs", [])) for c in nb.cells)


def snoop_output(graded):
    nb = nbformat.read(graded["out"] / "autograded" / "snoop" / NAME / f"{NAME}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "grades please" in c.source)
    assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    return "".join(o.get("text", "") for o in cell.outputs)


def feedback(graded, student):
    return (graded["out"] / "feedback" / student / NAME / f"{NAME}.html").read_text()


def test_every_student_gets_a_line_and_the_output_says_what_isolation_applied(graded):
    students = set(graded["students"]) | {"garbage"}
    assert set(graded["rows"]) == students
    assert "skipped notes.ipynb" in graded["output"]
    for student in students:
        assert re.search(rf"^{student}\s", graded["output"], re.M), f"{student} missing from the summary table"
    expected = "isolation: each kernel sees only its own folder" if graded["isolated"] else "isolation NOT applied"
    assert expected in graded["output"]


@pytest.mark.parametrize("student", ["star", "warns", "loop", "sysexit", "membomb", "flood", "points", "duplicated", "snoop"])
def test_correct_answers_keep_their_points_whatever_else_the_notebook_does(graded, student):
    earned, possible, flags = score(graded, student)
    assert possible == 2 and earned == 2, flags


def test_a_correct_answer_that_warns_on_stderr_is_not_flagged(graded):
    assert score(graded, "warns")[2] == ""
    assert "counting the slow way" in autograded_text(graded, "warns")


@pytest.mark.parametrize("student", ["blank", "raises", "syntax", "sigint", "osexit", "killself", "edited", "deleted",
                                     "markdown", "stripped", "reordered", "showtraceback", "transformer", "hook",
                                     "builtins", "helper", "helperpatch", "runcell", "ast", "alwayseq", "garbage"])
def test_wrong_missing_or_tricked_answers_score_zero(graded, student):
    earned, possible, flags = score(graded, student)
    assert (earned, possible) == (0, 2), flags


@pytest.mark.parametrize("student, flag", [
    ("loop", f"was interrupted after {CELL_TIMEOUT} s"),
    ("sigint", "ignored the interrupt"),
    ("osexit", "the kernel died"),
    ("killself", "the kernel died"),
    ("membomb", "ran out of memory"),
    ("flood", "was cut"),
    ("edited", "count_parameters_tests was edited"),
    ("deleted", "count_parameters_tests was deleted"),
    ("markdown", "count_parameters_tests was turned into markdown"),
    ("points", "points of count_parameters_tests were changed"),
    ("stripped", "count_parameters_tests lost its grading metadata"),
    ("reordered", "graded cells were reordered"),
    ("duplicated", "count_parameters_tests appears 2 times"),
    ("showtraceback", "get_ipython().showtraceback"),
    ("transformer", "an input transformer was added"),
    ("hook", "a pre_run_cell hook was added"),
    ("builtins", "builtins.__import__ was replaced"),
    ("helperpatch", "the test helper ftcourse.expect"),
    ("runcell", "InteractiveShell.run_cell was replaced"),
    ("ast", "an AST transformer was added"),
    ("stackreader", "inspects the call stack"),
    ("garbage", "not a readable notebook"),
])
def test_tampering_and_limits_are_flagged(graded, student, flag):
    assert flag in score(graded, student)[2]


@pytest.mark.parametrize("student", ["star", "blank", "raises", "alwayseq", "helper", "sysexit"])
def test_honest_mistakes_and_plain_wrong_answers_are_not_flagged(graded, student):
    assert score(graded, student)[2] == ""


def test_a_function_that_reads_the_test_calling_it_is_flagged_for_a_person_not_zeroed(graded):
    # In-process tests cannot hide their expected values from the code they call: the flag says so.
    earned, possible, flags = score(graded, "stackreader")
    assert (earned, possible) == (2, 2) and "check its answers by hand" in flags


def test_output_floods_are_cut_down(graded):
    html = graded["out"] / "feedback" / "flood" / NAME / f"{NAME}.html"
    assert html.stat().st_size < 2_000_000
    assert (graded["out"] / "autograded" / "flood" / NAME / f"{NAME}.ipynb").stat().st_size < 2_000_000


def test_feedback_shows_each_verdict_and_error_but_never_hidden_tests(graded):
    for student in graded["students"]:
        assert HIDDEN_LINE not in feedback(graded, student), student
        assert "BEGIN HIDDEN TESTS" not in feedback(graded, student), student
    assert "AssertionError: nn.Linear(10, 5) has 55 parameters: expected 55, got 1" in feedback(graded, "edited")
    assert re.search(r"<td>count_parameters_tests</td>\s*<td>passed</td>\s*<td>2 / 2</td>", feedback(graded, "star"))
    assert re.search(r"<td>count_parameters_tests</td>\s*<td>failed</td>\s*<td>0 / 2</td>", feedback(graded, "edited"))
    assert "expected an int, got an Anything" in feedback(graded, "alwayseq")
    assert "TamperingDetected" in feedback(graded, "hook")


def test_student_code_cannot_read_write_or_reach_outside_its_folder(graded):
    seen = snoop_output(graded)
    if graded["isolated"]:
        assert seen.count("blocked") == 4, seen
        assert "FOUND" not in seen and "READ" not in seen and "CONNECTED" not in seen
        assert seen.count("no write") == 2 and "WROTE" not in seen and "no network" in seen
        assert not graded["outside"].exists()
        assert graded["listener"].calls == []
    else:  # the run said so, and the hidden tests the snoop did read must still stay out of its feedback
        assert "isolation NOT applied" in graded["output"]
        assert "READ" in seen and HIDDEN_LINE in seen
    assert HIDDEN_LINE not in feedback(graded, "snoop")


def test_no_process_outlives_the_run(graded):
    left = [p for p in psutil.process_iter(["cmdline"]) if MARKER in " ".join(p.info["cmdline"] or [])]
    assert left == []


def test_submissions_are_never_modified(graded):
    assert fingerprint(graded["folder"]) == graded["before"]


def test_an_interrupted_run_resumes_and_a_rerun_gives_the_same_grades(graded):
    assert "ftcourse: interrupted" in graded["first"]
    assert 0 < graded["stored_after_interrupt"] < len(graded["rows"])
    total = len(graded["rows"])
    assert f"{total} submissions ({total - graded['stored_after_interrupt']} graded now" in graded["output"]
    assert f"{total} submissions (0 graded now" in graded["rerun"]
    table = lambda text: [line for line in text.splitlines() if re.match(r"^\w+\s+00-setup\s", line)]  # noqa: E731
    assert table(graded["rerun"]) == table(graded["output"])
