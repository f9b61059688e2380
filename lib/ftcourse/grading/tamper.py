"""Did student code tamper with what runs and judges the tests? Asked inside the kernel.

The grader calls ``baseline()`` in a fresh kernel before the first notebook cell and
``report(nonce)`` after every test cell; a report that names a problem, or that never
comes back, scores that test 0. What is fingerprinted is everything a generic trick
must touch to fake a pass: IPython's and the kernel's methods (``showtraceback``,
``run_cell``, ``do_execute``...), input and AST transformers, event hooks, custom
exception handlers, builtins and the notebook's ``__builtins__``, trace and import
hooks, and the test helpers in ``HELPERS``. Additions made by installed libraries
(matplotlib's inline backend registers a hook) are allowed; additions made by code
from a notebook cell are not.

Student code runs in this same process, so a check from inside cannot stand up to
someone who studies this file and targets it; it stops the tricks that do not.
"""
from __future__ import annotations

import builtins
import inspect
import json
import os
import sys
import threading

import ftcourse

HELPERS = ["ftcourse.expect"]
ROOTS = tuple({os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
              | {os.path.dirname(os.path.realpath(ftcourse.__file__)) + os.sep})

_baseline: dict[str, tuple] | None = None


def baseline() -> str:
    """Fingerprint the pristine kernel; called before any notebook cell runs."""
    global _baseline
    for name in HELPERS:
        __import__(name)
    _baseline = _fingerprint()
    return "ok"


def report(nonce: str) -> str:
    """JSON ``{"nonce": nonce, "problems": [...]}``: what changed since ``baseline()``."""
    problems = ["the kernel was not fingerprinted before the notebook ran"] if _baseline is None else _compare()
    return json.dumps({"nonce": nonce, "problems": problems})


def _fingerprint() -> dict[str, tuple]:
    """Name of each thing that must not change → the objects it holds, compared by identity."""
    ip = _shell()
    kernel = ip.kernel
    parts: dict[str, tuple] = {}
    for label, obj in [("get_ipython()", ip), ("get_ipython().kernel", kernel), ("get_ipython().kernel.session", kernel.session),
                       ("get_ipython().displayhook", ip.displayhook), ("get_ipython().display_pub", ip.display_pub),
                       ("get_ipython().InteractiveTB", ip.InteractiveTB)]:
        for name in set(dir(type(obj))) | set(vars(obj)):  # what the instance itself holds, shadowing its class
            own = vars(obj).get(name)
            if callable(own) or callable(inspect.getattr_static(type(obj), name, None)):
                parts[f"{label}.{name}"] = (own,)
        for cls in type(obj).__mro__[:-1]:  # every class, since a subclass may call its base through super()
            for name, value in vars(cls).items():
                parts[f"{cls.__module__}.{cls.__qualname__}.{name}"] = (value,)
    for name in ["compile", "user_ns", "user_global_ns", "events", "input_transformer_manager", "displayhook",
                 "display_pub", "display_formatter", "InteractiveTB", "SyntaxTB", "builtin_trap", "CustomTB",
                 "custom_exceptions", "kernel"]:
        parts[f"get_ipython().{name}"] = (getattr(ip, name, None),)
    parts["the notebook's __builtins__"] = (ip.user_ns.get("__builtins__"),)
    parts["the kernel's message handlers"] = tuple(kernel.shell_handlers.values())
    manager = ip.input_transformer_manager
    parts["an input transformer"] = (*manager.cleanup_transforms, *manager.line_transforms,
                                     *manager.token_transformers, *ip.input_transformers_post)
    parts["an AST transformer"] = tuple(ip.ast_transformers)
    for event, callbacks in ip.events.callbacks.items():
        parts[f"a {event} hook"] = tuple(callbacks)
    parts["an import hook"] = (*sys.meta_path, *sys.path_hooks)
    parts["a trace or profile function"] = (sys.gettrace(), sys.getprofile(),
                                            getattr(threading, "_trace_hook", None),
                                            getattr(threading, "_profile_hook", None))
    parts["sys.excepthook / displayhook / breakpointhook"] = (sys.excepthook, sys.displayhook, sys.breakpointhook)
    for name, value in vars(builtins).items():
        if name != "_":
            parts[f"builtins.{name}"] = (value,)
    for name in HELPERS:
        module = sys.modules.get(name)
        parts[f"the test helper {name}"] = (module, *vars(module).values()) if module else (None,)
    return parts


def _compare() -> list[str]:
    now = _fingerprint()
    problems = []
    for key, before in _baseline.items():  # a name that did not exist before cannot be what a test relies on
        after = now.get(key, ())
        kept, present = {id(obj) for obj in before}, {id(obj) for obj in after}
        removed = kept - present
        added = [obj for obj in after if id(obj) not in kept and not _installed(obj)]
        if key.startswith("builtins.") and not removed:
            continue  # a new builtin cannot change what the tests call
        if len(before) == 1 and removed:
            problems.append(f"{key} was replaced" if after else f"{key} was deleted")
        elif removed or added:
            problems.append(f"{key} was " + ("changed" if removed and added else "removed" if removed else "added"))
    return problems


def _installed(obj: object) -> bool:
    """Defined by an installed package, not by a notebook cell or a file the student submitted."""
    function = getattr(obj, "__func__", obj)
    code = getattr(function, "__code__", None)
    module = sys.modules.get(getattr(function, "__module__", None) or type(obj).__module__)
    where = getattr(module, "__file__", None) or ""
    return os.path.realpath(where).startswith(ROOTS) and (
        code is None or os.path.realpath(code.co_filename).startswith(ROOTS))


def _shell():
    from IPython import get_ipython

    return get_ipython()
