"""The sandbox on its own: a plain Python command in it, checked from outside."""
import os
import socket
import subprocess
import sys
import textwrap

import psutil
import pytest

from ftcourse.grading import sandbox

ISOLATED = sandbox.probe().namespaces
needs_namespaces = pytest.mark.skipif(not ISOLATED, reason="this machine does not allow user namespaces")


def run_inside(tmp_path, code, *, isolate=ISOLATED, limits=sandbox.Limits(), **kwargs):
    work, stage = tmp_path / "work", tmp_path / "stage"
    work.mkdir(exist_ok=True)
    stage.mkdir(exist_ok=True)
    cmd = sandbox.command([sys.executable, "-c", textwrap.dedent(code)], workdir=work, stage=stage, isolate=isolate,
                          limits=limits, **kwargs)
    env = {**os.environ, "GRADER_SECRET": "s3cret"}
    return subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=60, env=env)


def test_the_probe_says_in_words_what_applies():
    isolation = sandbox.probe()
    notes = " ".join(isolation.notes(sandbox.Limits()))
    assert ("mount namespace" in notes) if isolation.namespaces else ("NOT applied" in notes and isolation.reason)
    assert "GiB address space" in notes


@pytest.mark.parametrize("isolate", [False, pytest.param(True, marks=needs_namespaces)])
def test_limits_and_a_scrubbed_environment_apply_with_or_without_namespaces(tmp_path, isolate):
    run = run_inside(tmp_path, """
        import os
        print("secret" if "GRADER_SECRET" in os.environ else "scrubbed")
        try:
            bytearray(3 * 2**30)
        except MemoryError:
            print("memory limited")
        try:
            open("big", "wb").write(b"x" * 2**21)
        except OSError as e:
            print("file size limited", e.errno)
    """, isolate=isolate, limits=sandbox.Limits(memory=2**30, file_size=2**20))
    assert run.stdout.split("\n")[:3] == ["scrubbed", "memory limited", "file size limited 27"], run.stderr


@needs_namespaces
def test_hidden_folders_network_and_the_world_outside_are_out_of_reach(tmp_path):
    secret = tmp_path / "solutions" / "answer.txt"
    secret.parent.mkdir()
    secret.write_text("42")
    (tmp_path / "elsewhere.txt").write_text("not for students")
    notebook = tmp_path / "work" / "mine.ipynb"
    notebook.parent.mkdir()
    notebook.write_text("hidden tests inside")
    server = socket.create_server(("127.0.0.1", 0))
    run = run_inside(tmp_path, f"""
        import os, socket
        for path in [{str(secret)!r}, {str(tmp_path / "elsewhere.txt")!r}]:
            print(path, os.path.exists(path))
        print(sorted(os.listdir({str(tmp_path)!r})))
        print("notebook", repr(open("mine.ipynb").read()))
        for target in ["/etc/evil", "../evil", {str(tmp_path / "evil")!r}]:
            try:
                open(target, "w").write("x")
                print("wrote", target)
            except OSError:
                pass
        try:
            socket.create_connection(("127.0.0.1", {server.getsockname()[1]}), timeout=2)
            print("connected")
        except OSError as e:
            print("offline")
    """, hidden=[tmp_path / "solutions"], hide_files=[notebook])
    server.close()
    lines = run.stdout.splitlines()
    assert lines[:3] == [f"{secret} False", f"{tmp_path / 'elsewhere.txt'} False", "['work']"], run.stderr
    assert lines[3:] == ["notebook ''", "offline"]
    assert not (tmp_path / "evil").exists() and notebook.read_text() == "hidden tests inside"


@needs_namespaces
def test_every_process_the_command_started_ends_with_it(tmp_path):
    marker = f"sandbox-orphan-{os.getpid()}"
    run_inside(tmp_path, f"""
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", {marker!r}], start_new_session=True)
    """)
    assert not [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]


def test_end_descendants_kills_the_orphans_a_grader_adopted():
    marker = f"descendant-{os.getpid()}"
    code = f"""
import subprocess, sys, time
from ftcourse.grading import sandbox
sandbox.become_subreaper()
subprocess.run([sys.executable, "-c", "import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}])"])
time.sleep(0.5)  # the grandchild is an orphan now, adopted by this process
print(sandbox.end_descendants())
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "1", run.stderr
    assert not [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]


def test_a_limit_the_system_refuses_is_named_and_the_rest_still_apply():
    isolation = sandbox.probe(sandbox.Limits(processes=10**19))
    assert isolation.namespaces == ISOLATED
    assert [u.split()[0] for u in isolation.unapplied] == ["RLIMIT_NPROC"]
    assert "limit NOT applied: RLIMIT_NPROC" in "\n".join(isolation.notes(sandbox.Limits()))
