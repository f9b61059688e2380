"""The ``ftcourse`` command run in this process: ``main([...])`` with its output captured.

Starting a Python per call costs seconds of imports; ``tests/test_cli.py`` keeps one real
``python -m ftcourse`` run so the program itself stays tested.
"""
import contextlib
import io
import os
import signal
import subprocess
import sys
from unittest import mock

from ftcourse.cli import main


def ftcourse(*args, cwd=None, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """``ftcourse ARGS`` as a person types it, in this process, with ``input`` on standard input (as a pipe gives it)
    and ``env`` added to the environment; returncode, stdout and stderr as ``subprocess.run`` gives them."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(cwd or os.getcwd()), \
            mock.patch.object(sys, "stdin", io.StringIO(input or "")), mock.patch.dict(os.environ, env or {}):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:  # argparse: --help, --version and usage errors
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return subprocess.CompletedProcess(["ftcourse", *map(str, args)], code, out.getvalue(), err.getvalue())


def ctrl_c_as_a_terminal_gives_it() -> None:
    """``preexec_fn`` for a child a test interrupts: SIGINT unblocked and handled by default, as a shell starts a
    program. In CI a grader and a drill started by one xdist worker both ignored their SIGINT (an inherited ignore
    or block: Python leaves an ignored SIGINT ignored), and the Ctrl-C tests failed for the worker's reasons."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    signal.signal(signal.SIGINT, signal.SIG_DFL)
