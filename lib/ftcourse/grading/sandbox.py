"""A student's kernel in a box: it sees its own folder and the Python install, nothing else.

The grader starts every kernel as ``python -m ftcourse.grading.sandbox [options] -- KERNEL...``.
Where Linux lets an ordinary user create namespaces (``probe()`` finds out), the
kernel runs in its own

- mount namespace, whose root is a read-only tmpfs holding only the system folders,
  the Python install and the kernel's own folder (read-write): solutions, gradebooks,
  other submissions and home folders do not exist in it; ``/tmp`` is private;
- network namespace with no interface up: no network, not even the host's localhost;
- PID namespace: when the kernel ends, every process it started ends with it;
- user namespace, mapped to the grader's own user id (to ``nobody`` when the grader is
  root), so it holds no capabilities.

Everywhere, with or without namespaces, it gets resource limits (address space, CPU
time, file size, processes), a scrubbed environment, no way to gain privileges through
a setuid program, and it dies with the grader.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil

GiB, MiB = 2**30, 2**20

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 8192, 0x4000, 1 << 18)
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 24, 36, 38
# statvfs flags that a bind mount inherits and a read-only remount must repeat (else EPERM)
LOCKED_FLAGS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
                os.ST_NOATIME: 1024, os.ST_NODIRATIME: 2048, os.ST_RELATIME: 1 << 21}
SYSTEM_DIRS = ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/nix"]
DEVICES = ["null", "zero", "full", "random", "urandom"]
PROC_READONLY = ["sys", "sysrq-trigger", "irq", "bus", "fs", "kcore", "keys", "timer_list", "sched_debug", "acpi", "scsi"]
INSIDE_ID = 1000  # the kernel's uid and gid inside its user namespace: never 0, so exec drops every capability
NOBODY = 65534  # who the kernel is outside when the grader runs as root
PROBE_FAILED = 3
UNAPPLIED = "ftcourse.grading.sandbox: cannot apply "
APPARMOR_USERNS = "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"  # 1 by default on Ubuntu 24.04

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Limits:
    """What one kernel, and every process it starts, may use."""

    memory: int = 4 * GiB  # address space per process (RLIMIT_AS): a memory bomb gets MemoryError
    cpu_seconds: int = 3600  # CPU time per process: a backstop behind the grader's wall clocks
    file_size: int = 256 * MiB  # largest file it may write
    processes: int = 256  # processes and threads beyond those its user already runs
    tmp_size: int = 512 * MiB  # the private /tmp (inside namespaces only)

    @classmethod
    def fitting(cls, kernels: int) -> "Limits":
        """The defaults, with memory lowered so that ``kernels`` kernels at their limit still fit in RAM."""
        return cls(memory=min(cls.memory, psutil.virtual_memory().total // (kernels + 1)))

    def args(self) -> list[str]:
        return [f"--memory={self.memory}", f"--cpu={self.cpu_seconds}", f"--file-size={self.file_size}",
                f"--processes={self.processes}", f"--tmp-size={self.tmp_size}"]


@dataclass(frozen=True)
class Isolation:
    """What this machine allows; ``notes`` says it in words for the grader's output."""

    namespaces: bool
    reason: str = ""  # why not, when not
    unapplied: tuple[str, ...] = ()  # limits the system refused

    def notes(self, limits: Limits) -> list[str]:
        applied = (f"limits per kernel process: {limits.memory / GiB:g} GiB address space, "
                   f"{limits.cpu_seconds} s CPU, {limits.file_size / MiB:g} MiB per file written, "
                   f"{limits.processes} processes; scrubbed environment; every process ended after each notebook")
        refused = [f"  limit NOT applied: {limit}" for limit in self.unapplied]
        if self.namespaces:
            who = "nobody" if os.geteuid() == 0 else "this user"
            return [f"isolation: each kernel sees only its own folder and the Python install (mount namespace), "
                    f"has no network (network namespace), runs as {who} without capabilities and its processes "
                    "end with it (PID namespace)", applied, *refused]
        lines = [f"isolation NOT applied: {self.reason}",
                 "  so student code can read any file this user can (solutions, gradebook, other submissions), "
                 "write wherever this user can, and reach the network", applied, *refused]
        if os.geteuid() == 0:
            lines.append("  the grader runs as root, and so does the kernel (without capabilities): the process "
                         "limit does not apply to root; grade as an ordinary user")
        return lines


def probe(limits: Limits = Limits()) -> Isolation:
    """Run Python in the sandbox once and say what applies here: namespaces, and any limit refused.

    ``FTCOURSE_SANDBOX=off`` in the environment skips the namespaces (and says so).
    """
    if os.environ.get("FTCOURSE_SANDBOX") == "off":
        reason = "switched off by FTCOURSE_SANDBOX=off"
    elif not sys.platform.startswith("linux"):
        reason = "namespaces need Linux"
    else:
        run = _try(limits, isolate=True)
        if run.returncode == 0:
            return Isolation(True, unapplied=_refused(run))
        lines = [line for line in run.stderr.splitlines() if line.strip() and not line.startswith(UNAPPLIED)]
        reason = lines[-1] if lines else f"the sandbox exited with {run.returncode}"
        if Path(APPARMOR_USERNS).is_file() and Path(APPARMOR_USERNS).read_text().strip() == "1":
            reason += " (AppArmor restricts user namespaces here: kernel.apparmor_restrict_unprivileged_userns=1)"
    return Isolation(False, reason, _refused(_try(limits, isolate=False)))


def _try(limits: Limits, isolate: bool) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="ftcourse-probe-") as tmp:
        stage, work = Path(tmp, "root"), Path(tmp, "work")
        stage.mkdir(), work.mkdir()
        cmd = command([sys.executable, "-c", ""], workdir=work, stage=stage, isolate=isolate, limits=limits)
        return subprocess.run(cmd, capture_output=True, text=True, cwd=work)


def _refused(run: subprocess.CompletedProcess) -> tuple[str, ...]:
    return tuple(line[len(UNAPPLIED):] for line in run.stderr.splitlines() if line.startswith(UNAPPLIED))


def command(kernel: list[str], *, workdir: Path, stage: Path, isolate: bool, limits: Limits = Limits(),
            writable: list[Path] = (), hidden: list[Path] = (), hide_files: list[Path] = (),
            env: dict[str, str] | None = None) -> list[str]:
    """The command line that runs ``kernel`` in the sandbox.

    ``workdir`` (the kernel's folder) and ``writable`` are mounted read-write, ``stage``
    is an empty folder to build the new root on, ``hidden`` are folders that must stay
    out of sight even when on ``sys.path``, ``hide_files`` read as empty files inside.
    """
    args = [sys.executable, "-m", "ftcourse.grading.sandbox", f"--workdir={workdir}", f"--stage={stage}", *limits.args()]
    args += ["--isolate"] if isolate else []
    args += [f"--writable={p}" for p in writable] + [f"--hidden={p}" for p in hidden]
    args += [f"--hide-file={p}" for p in hide_files] + [f"--env={k}={v}" for k, v in (env or {}).items()]
    return [*args, "--", *kernel]


def become_subreaper() -> None:
    """Orphans of our children (a double-forked daemon) become ours, so ``end_descendants`` finds them."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def end_descendants() -> int:
    """SIGKILL every process below this one; returns how many there were."""
    victims = psutil.Process().children(recursive=True)
    for p in victims:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=5)
    return len(victims)


# --- inside: python -m ftcourse.grading.sandbox ----------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    _die_with_parent()
    env = _environment(args)
    if not args.isolate:
        _apply_limits(args, _threads_of(os.getuid()))
        _drop_privileges()
        os.chdir(args.workdir)
        os.execve(args.kernel[0], args.kernel, env)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts reach the kernel through its process group
    kernel_uid = NOBODY if os.geteuid() == 0 else os.geteuid()
    if kernel_uid != os.geteuid():
        _hand_over([args.workdir, *args.writable], kernel_uid)
    nproc = _threads_of(kernel_uid)
    ready, go = os.pipe(), os.pipe()
    child = os.fork()
    if child == 0:  # enters the namespaces, waits for its id maps, then starts PID 1
        try:
            _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID), "unshare")
        except OSError as exc:
            print(f"ftcourse.grading.sandbox: cannot create namespaces: {exc}", file=sys.stderr, flush=True)
            os._exit(PROBE_FAILED)
        os.write(ready[1], b"1")
        if os.read(go[0], 1) != b"1":
            os._exit(PROBE_FAILED)
        init = os.fork()
        if init == 0:
            _run_init(args, env, nproc)
        os._exit(os.waitstatus_to_exitcode(os.waitpid(init, 0)[1]) % 256)
    if os.read(ready[0], 1) == b"1":
        try:
            _map_ids(child, kernel_uid)
            os.write(go[1], b"1")
        except OSError as exc:
            print(f"ftcourse.grading.sandbox: cannot map user ids: {exc}", file=sys.stderr, flush=True)
    os.close(go[1])
    sys.exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) % 256)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m ftcourse.grading.sandbox", description=__doc__.split("\n")[0])
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--stage", type=Path, required=True)
    p.add_argument("--isolate", action="store_true")
    p.add_argument("--writable", type=Path, action="append", default=[])
    p.add_argument("--hidden", type=Path, action="append", default=[])
    p.add_argument("--hide-file", type=Path, action="append", default=[])
    p.add_argument("--env", action="append", default=[])
    for name, default in vars(Limits()).items():
        p.add_argument("--" + name.replace("_", "-").replace("-seconds", ""), dest=name, type=int, default=default)
    p.add_argument("kernel", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    args.kernel = args.kernel[1:] if args.kernel[:1] == ["--"] else args.kernel
    args.workdir, args.stage = args.workdir.resolve(), args.stage.resolve()
    if not args.kernel:
        p.error("no command given after --")
    return args


def _die_with_parent() -> None:
    parent = os.getppid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _environment(args: argparse.Namespace) -> dict[str, str]:
    """Only what a kernel needs; nothing of the grader's environment leaks in."""
    home = "/tmp/home" if args.isolate else str(args.stage / "home")
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home, "TMPDIR": "/tmp" if args.isolate else home, "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": f"{home}/.matplotlib", "IPYTHONDIR": f"{home}/.ipython", "XDG_CACHE_HOME": f"{home}/.cache",
        "HF_HOME": f"{home}/.cache/huggingface", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    }
    env.update(item.split("=", 1) for item in args.env)
    if not args.isolate:
        Path(home).mkdir(parents=True, exist_ok=True)
    return env


def _threads_of(uid: int) -> int:
    """RLIMIT_NPROC counts every thread the user runs, so the limit is set above what is running now."""
    return sum(p.info["num_threads"] or 0 for p in psutil.process_iter(["uids", "num_threads"])
               if p.info["uids"] and p.info["uids"].real == uid)


def _apply_limits(args: argparse.Namespace, running: int) -> None:
    """Each limit the system accepts; the ones it refuses are named on stderr (``probe`` reports them)."""
    for name, value, hard in [("RLIMIT_AS", args.memory, args.memory), ("RLIMIT_FSIZE", args.file_size, args.file_size),
                              ("RLIMIT_CORE", 0, 0), ("RLIMIT_NPROC", running + args.processes, running + args.processes),
                              ("RLIMIT_CPU", args.cpu_seconds, args.cpu_seconds + 5)]:
        try:
            resource.setrlimit(getattr(resource, name), (value, hard))
        except (AttributeError, ValueError, OverflowError, OSError) as exc:
            print(f"{UNAPPLIED}{name} ({exc})", file=sys.stderr, flush=True)


def _prctl(*args: int) -> int:
    prctl = getattr(_libc, "prctl", None)  # Linux only
    return prctl(*args) if prctl else -1


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: Path | str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: None if s is None else os.fsencode(str(s))  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _map_ids(child: int, kernel_uid: int) -> None:
    """Written by the parent. As root: setup runs as root inside, the kernel as nobody. Else: as ourselves."""
    if os.geteuid() == 0:
        maps = {"uid_map": f"0 0 1\n{INSIDE_ID} {kernel_uid} 1", "gid_map": f"0 0 1\n{INSIDE_ID} {kernel_uid} 1"}
    else:
        maps = {"setgroups": "deny", "uid_map": f"{INSIDE_ID} {os.getuid()} 1", "gid_map": f"{INSIDE_ID} {os.getgid()} 1"}
    for name, text in maps.items():
        with open(f"/proc/{child}/{name}", "w") as f:
            f.write(text)


def _hand_over(paths: list[Path], uid: int) -> None:
    """The kernel's folders, made its own (when the grader is root and the kernel runs as nobody)."""
    for path in paths:
        for folder, _, files in os.walk(path):
            for name in [folder, *(os.path.join(folder, f) for f in files)]:
                os.chown(name, uid, uid, follow_symlinks=False)


def _drop_privileges() -> None:
    """No setuid binary can raise the kernel's rights, and a root kernel keeps no capability."""
    _prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if os.geteuid() == 0:
        for cap in range(64):
            _prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)


def _run_init(args: argparse.Namespace, env: dict[str, str], nproc: int) -> None:
    """PID 1 of the new namespace: build the root, start the kernel, reap, exit with the kernel."""
    try:
        _die_with_parent()
        _build_root(args)
        _switch_root(args.stage)
        kernel = os.fork()
        if kernel == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            if os.geteuid() == 0:  # the grader is root: the kernel becomes nobody
                os.setgroups([])
            os.setresgid(INSIDE_ID, INSIDE_ID, INSIDE_ID)
            os.setresuid(INSIDE_ID, INSIDE_ID, INSIDE_ID)
            os.chdir(args.workdir)
            _apply_limits(args, nproc)
            _drop_privileges()
            os.execve(args.kernel[0], args.kernel, env)
    except BaseException as exc:  # noqa: BLE001 -- pid 1 must never return into the caller's code
        print(f"ftcourse.grading.sandbox: {exc}", file=sys.stderr, flush=True)
        os._exit(PROBE_FAILED)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pid, status = os.wait()
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) % 256)


def _build_root(args: argparse.Namespace) -> None:
    stage = args.stage
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount propagates back to the host
    _mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m")
    (stage / "tmp").mkdir()  # first, since the kernel's own folder may well be under /tmp
    _mount("tmpfs", stage / "tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={args.tmp_size}")
    (stage / "tmp" / "home").mkdir(mode=0o700)
    os.chown(stage / "tmp" / "home", INSIDE_ID, INSIDE_ID)
    for path in _readonly_paths(args.hidden):
        if path.is_symlink() and path.parent == Path("/"):
            os.symlink(os.readlink(path), stage / path.name)
        else:
            _bind(path, stage, readonly=True)
    for path in [args.workdir, *args.writable]:
        if any(h == path.resolve() or path.resolve() in h.parents for h in map(Path.resolve, args.hidden)):
            raise ValueError(f"refusing to mount {path} read-write: it holds a hidden folder")
        _bind(path.resolve(), stage, readonly=False, recursive=False)
    for path in args.hide_file:
        _bind(Path("/dev/null"), stage, readonly=True, at=path.resolve())
    _seal_scaffolding(stage, [args.workdir, *args.writable])
    _make_dev(stage / "dev")
    (stage / "proc").mkdir()
    _mount("proc", stage / "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name in PROC_READONLY:  # the host kernel's settings and secrets, closed as container runtimes close them
        if (stage / "proc" / name).exists():
            _bind(stage / "proc" / name, stage, readonly=True, at=Path("/proc") / name)
    _mount(None, stage, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=0755")


def _readonly_paths(hidden: list[Path]) -> list[Path]:
    """System folders plus the Python install, minus anything that would reveal a hidden folder."""
    hidden = [h.resolve() for h in hidden]
    python = [sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]
    wanted = [Path(p) for p in SYSTEM_DIRS if os.path.lexists(p)]
    wanted += [Path(os.path.realpath(p)) for p in python if p and os.path.exists(p)]
    chosen: list[Path] = []
    for path in sorted(set(wanted), key=lambda p: len(p.parts)):
        covered = any(path == c or c in path.parents for c in chosen if not c.is_symlink())
        reveals = any(h == path or path in h.parents or h in path.parents for h in hidden)
        if not covered and not reveals:
            chosen.append(path)
    return chosen


def _bind(source: Path, stage: Path, *, readonly: bool, at: Path | None = None, recursive: bool = True) -> None:
    target = stage / (at or source).relative_to("/")
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
    elif not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
    _mount(str(source), target, None, MS_BIND | (MS_REC if recursive else 0))
    if readonly:
        locked = os.statvfs(target).f_flag
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
        flags |= sum(ms for st, ms in LOCKED_FLAGS.items() if locked & st)
        _mount(None, target, None, flags)


def _seal_scaffolding(stage: Path, writable: list[Path]) -> None:
    """The folders made in the private /tmp to hold the read-write mounts are themselves read-only."""
    tops = {Path("/tmp", p.resolve().relative_to("/tmp").parts[0]) for p in writable
            if Path("/tmp") in p.resolve().parents}
    for top in tops - {p.resolve() for p in writable}:
        _bind(stage / top.relative_to("/"), stage, readonly=True, at=top)


def _make_dev(dev: Path) -> None:
    dev.mkdir()
    _mount("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=0755,size=64k")
    for name in DEVICES:
        (dev / name).touch()
        _mount(f"/dev/{name}", dev / name, None, MS_BIND)
    for name, target in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")]:
        os.symlink(target, dev / name)
    (dev / "shm").mkdir()
    _mount("tmpfs", dev / "shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")


def _switch_root(stage: Path) -> None:
    """Make ``stage`` the root: the host's tree is no longer reachable from here."""
    os.chdir(stage)
    _mount(str(stage), "/", None, MS_MOVE)
    os.chroot(".")
    os.chdir("/")


if __name__ == "__main__":
    main()
