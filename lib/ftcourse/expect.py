"""Assertions for test cells that a student's object cannot talk its way through.

``value == 55`` asks ``value`` whether it equals 55, and an object whose ``__eq__``
always says yes passes. ``equal(value, 55, why)`` first demands the exact built-in
type (no subclasses), then compares with that type's own equality, recursing into
lists, tuples and dicts. Test cells import it inside the cell, so a student's function
of the same name is replaced; the grader checks that this module was not patched.
"""
from __future__ import annotations

import reprlib

PLAIN = (bool, int, float, complex, str, bytes, type(None), list, tuple, dict)


def equal(value: object, expected: object, why: str = "") -> None:
    """Raise ``AssertionError`` (prefixed with ``why``) unless ``value`` is exactly ``expected``."""
    problem = _difference(value, expected)
    if problem:
        raise AssertionError(f"{why}: {problem}" if why else problem)


def _difference(value: object, expected: object) -> str:
    kind = type(expected)
    if kind not in PLAIN:
        raise TypeError(f"equal() compares plain built-in values, not {kind.__name__}")
    if type(value) is not kind:
        return f"expected {_a(kind)}, got {_a(type(value))}"
    if kind in (list, tuple):
        if len(value) != len(expected):
            return f"expected {len(expected)} items, got {len(value)}"
        for i, (v, e) in enumerate(zip(value, expected)):
            if problem := _difference(v, e):
                return f"item {i}: {problem}"
        return ""
    if kind is dict:
        if any(type(k) not in PLAIN for k in value) or set(value) != set(expected):
            return f"expected keys {sorted(map(repr, expected))}, got {sorted(map(repr, value))}"
        return next((f"[{k!r}]: {p}" for k in expected if (p := _difference(value[k], expected[k]))), "")
    return "" if kind.__eq__(expected, value) is True else f"expected {expected!r}, got {reprlib.repr(value)}"


def _a(kind: type) -> str:
    try:
        name = type.__dict__["__name__"].__get__(kind)
    except Exception:  # noqa: BLE001 -- a hostile metaclass: say so rather than crash the test
        name = "an unexpected type"
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"
