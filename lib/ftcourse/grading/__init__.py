"""Grading and courseware: what releases, runs and grades the notebooks; no notebook imports it.

- ``layout``: where the course lives on disk and how nbgrader is pointed at it.
- ``release``: student notebooks generated from ``solutions/``.
- ``execute``: a notebook run headless, as CI and ``ftcourse run`` do.
- ``selfcheck``: a learner's own check of a notebook (``ftcourse check``).
- ``submission``: one submission graded by nbgrader, in a process of its own.
- ``classroom``: a whole class graded, one ``submission`` process each, resumable.
- ``sandbox``: the box a student's kernel runs in.
- ``tamper``: inside the kernel, did student code tamper with what judges the tests?
"""
