"""The course in a real browser: JupyterLab in headless Chromium, driven as a learner drives it.

Every student notebook is run, each cell once and in order (tests/labdriver.py), its figures,
quiz and errors checked; one solution notebook runs green; a feedback page that `ftcourse grade`
wrote for a hostile submission is opened and must run nothing. Screenshots land in build/browser/, the
time of each run in the summary at the end of the session.

Run alone: .venv/bin/pytest tests/test_browser.py
"""
import subprocess
import sys

import labdriver
import nbformat
import pytest

from ftcourse.grading import layout

ROOT = layout.find_root(__file__)
NAMES = layout.assignments(ROOT)


# Under xdist each notebook's tests share a worker (`--dist loadgroup`), so each runs once in its lab.
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xdist_group(n)) for n in NAMES])
def test_student_notebook_runs_in_jupyterlab_as_a_learner_sees_it(lab, name):
    lab.require()
    run = lab.release(name)
    assert not run.problems, run.report()


@pytest.mark.xdist_group(labdriver.SOLVED)
def test_a_solution_notebook_runs_green_in_jupyterlab(lab):
    lab.require()
    run = lab.solved(labdriver.SOLVED)
    assert not run.problems, run.report()
    assert any(loaded for cell in run.cells for loaded, _ in cell["images"]), "it should show its figures"


def code(source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader:
        cell.metadata.nbgrader = {"schema_version": 3, "locked": False, "points": 0, **nbgrader}
    return cell


def test_the_browser_run_names_each_cell_a_learner_would_see_broken(lab):
    """A notebook with one of each fault: the judge must name each, by cell, and nothing else."""
    lab.require()
    nb = nbformat.v4.new_notebook(cells=[
        code("import matplotlib.pyplot as plt\nplt.plot([1, 3, 2]);"),  # 0: a figure that shows
        code("def answer():\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nanswer()",  # 1: an exercise
             grade=False, solution=True, grade_id="answer"),
        code("assert answer() == 1", grade=True, solution=False, grade_id="answer_tests", points=1),  # 2: its test
        code("answer() + 1"),  # 3: a demo that needs the exercise: allowed
        code("1 / 0"),  # 4: a real error
        code("from IPython.display import display\ndisplay({'image/png': 'bm90IGEgcG5n'}, raw=True)"),  # 5: broken image
        code("display({'text/plain': '<Figure size 640x480 with 1 Axes>'}, raw=True)"),  # 6: a figure as text
        code("display({'application/vnd.jupyter.widget-view+json': {'model_id': 'gone', 'version_major': 2, "
             "'version_minor': 0}, 'text/plain': 'a widget'}, raw=True)"),  # 7: a widget with no model
        code("raise NotImplementedError('not an exercise')"),  # 8: raised outside any exercise
    ], metadata={"kernelspec": {"name": "ftcourse", "display_name": "Python (ftcourse)", "language": "python"}})
    folder = lab.folder / "faults"
    folder.mkdir()
    nbformat.write(nb, folder / "faults.ipynb")
    run = lab.run("faults/faults.ipynb", "faults", blank=True)
    by_cell = {}
    for problem in run.problems:
        by_cell.setdefault(problem.cell, []).append(problem.text)
    assert sorted(c for c in by_cell if c is not None) == [4, 5, 6, 7, 8], run.report()
    assert by_cell[4] == ["ZeroDivisionError: division by zero"]
    assert "did not show as an image" in by_cell[5][0]
    assert "as text where the figure should be" in by_cell[6][0]
    assert any("widget" in text for text in by_cell[7]), by_cell[7]
    assert by_cell[8] == ["NotImplementedError: not an exercise"]
    counts = [cell.execution_count for cell in run.saved.cells]
    assert counts == list(range(1, len(nb.cells) + 1)), f"each cell should run once, in order, past errors: {counts}"
    assert [text for text in by_cell.get(None, []) if "quiz" in text or "kernel" in text] == [], run.report()
    assert [img for img in run.cells[0]["images"] if img[0]], "the plot in cell 0 should have shown"
    assert run.screenshots and all(p.is_file() for p in run.screenshots)
    assert {p.name for p in run.shots} == {f"faults-cell{c}.png" for c in (4, 5, 6, 7, 8)}


def test_a_notebook_being_saved_is_read_once_the_server_has_written_it(tmp_path):
    """The server truncates a notebook and writes it in place, its old copy kept as .~NAME meanwhile:
    reading it then gave an empty file in CI."""
    import threading
    import time

    path, backup = tmp_path / "n.ipynb", tmp_path / ".~n.ipynb"
    nb = nbformat.v4.new_notebook(cells=[code("1 + 1")])
    nbformat.write(nb, backup)
    path.write_text("")

    def finish_the_save():
        time.sleep(0.5)
        nbformat.write(nb, path)
        backup.unlink()

    threading.Thread(target=finish_the_save).start()
    assert labdriver.read_saved(path, timeout=10).cells[0].source == "1 + 1"


# --- a feedback page must run nothing a student put in it -------------------------------

def act(tag):
    """JavaScript that leaves a trace of itself three ways: a console message, a DOM change, a dialog."""
    return (f"console.log('pwned-{tag}');top.document.body.setAttribute('data-pwned-{tag}','');"
            f"alert('pwned-{tag}')")


def hostile_submission():
    """00-setup as a student could hand it in: the graded cells, an answer whose error carries markup, and
    outputs and Markdown that try every way we know to run a script in the page the instructor opens."""
    released = nbformat.read(layout.release_notebook(layout.find_root(__file__), "00-setup"), as_version=4)
    graded = [c for c in released.cells if c.metadata.get("nbgrader", {}).get("grade_id")]
    answer = next(c for c in graded if c.metadata.nbgrader.get("solution"))
    answer.source = ("def count_parameters(model, trainable_only=False):\n"
                     f"    raise ValueError({'<img src=x onerror=' + repr(act('verdict')) + '>'!r})")
    html = f"""<b class="kept">this bold text survives</b>
<script>{act('script')}</script>
<img src="missing.png" onerror="{act('onerror')}">
<svg><animate onbegin="{act('animate')}" attributeName="x" dur="1s"/></svg>
<details open ontoggle="{act('ontoggle')}"><summary>details</summary></details>
<iframe srcdoc="<script>{act('srcdoc')}</script>"></iframe>
<input autofocus onfocus="{act('autofocus')}">
<object data="javascript:{act('object')}"></object>
<a class="jslink" href="javascript:{act('link')}">a link</a>"""
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{act("svgload")}"><script>{act("svgscript")}</script></svg>'
    view = {"model_id": f"</script><script>{act('widgetview')}</script>", "version_major": 2, "version_minor": 0}
    outputs = code("from IPython.display import HTML, Javascript, Markdown, display\n"
                   f"display(HTML({html!r}))\n"
                   f"display(Javascript({act('javascript')!r}))\n"
                   f"display(Markdown({'<img src=x onerror=' + repr(act('markdown')) + '>'!r}))\n"
                   f"display({{'image/svg+xml': {svg!r}}}, raw=True)\n"
                   f"display({{'application/vnd.jupyter.widget-view+json': {view!r}}}, raw=True)\n"
                   f"print({'<script>' + act('stdout') + '</script>'!r})")
    markdown = nbformat.v4.new_markdown_cell(f"## notes\n\n<script>{act('mdscript')}</script>\n\n"
                                             f"<img src=x onerror=\"{act('mdimg')}\">")
    error = code(f"raise RuntimeError({'<img src=x onerror=' + repr(act('error')) + '>'!r})")
    nb = nbformat.v4.new_notebook(cells=[markdown, *graded[:1], outputs, error, *graded[1:]],
                                  metadata=released.metadata)
    nb.metadata.widgets = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0,
        "state": {"m": {"model_name": f"</script><script>{act('widgetstate')}</script>", "model_module": "x",
                        "model_module_version": "1", "state": {}}}}}
    return nb


def test_a_feedback_page_runs_nothing_from_a_hostile_submission(lab, root, tmp_path):
    lab.require()
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    submissions.mkdir()
    nbformat.write(hostile_submission(), submissions / "mallory__00-setup.ipynb")
    graded = subprocess.run([sys.executable, "-m", "ftcourse", "--course", str(root), "grade", str(submissions),
                             "--out", str(out), "--assignment", "00-setup"],
                            capture_output=True, text=True, timeout=600)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    page_file = out / "feedback" / "mallory" / "00-setup" / "00-setup.html"
    assert page_file.is_file(), graded.stdout

    context = lab.browser().new_context()
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page = context.new_page()
    traces = []
    page.on("dialog", lambda dialog: (traces.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("console", lambda msg: "pwned" in msg.text and traces.append(f"console: {msg.text}"))
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    page.wait_for_timeout(1500)  # onerror, ontoggle, autofocus and SVG animations fire after load
    links = page.locator("a.jslink")
    if links.count():
        links.first.click()  # an instructor may click a link in the page
        page.wait_for_timeout(500)
    marks = page.evaluate("() => [...document.body.attributes].map(a => a.name).filter(n => n.startsWith('data-pwned'))")
    shown = page.inner_text("body")
    verdicts = page.locator("table td", has_text="count_parameters_tests").count()
    page.screenshot(path=lab.artifacts / "feedback-hostile.png", full_page=True)
    context.close()
    assert not traces and not marks, f"the feedback page ran a student's script: {traces + marks} ({page_file})"
    # ...and it is a real page, not an empty one: the sanitised output and the verdict table are there.
    assert "this bold text survives" in shown
    assert verdicts == 1 and "<thead>" not in shown, "the verdict table should show as a table"
