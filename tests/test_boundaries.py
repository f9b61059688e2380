"""What notebooks import never pulls in the grader or the base model's build.

Lesson modules (every module at the top of ``ftcourse``) and the course world
(``ftcourse.world``) may import each other; ``ftcourse.grading`` (sandbox, grader)
and ``ftcourse.basemodel`` (corpus, pretraining) are imported by the CLI and the
tests only.
"""
import ast
import json
import subprocess
import sys
from pathlib import Path

import ftcourse

PACKAGE = Path(ftcourse.__file__).parent
FORBIDDEN = ("grading", "basemodel")


def notebook_facing() -> dict[str, Path]:
    """Module name -> file, for every lesson module and every module of the course world."""
    files = [p for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")]
    files += sorted((PACKAGE / "world").glob("*.py"))
    return {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p for p in files}


def imported(name: str, path: Path) -> set[str]:
    """Every module an import statement in the file names, function-level imports included, made absolute."""
    package = name.split(".") if path.stem == "__init__" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return found


def test_the_scan_sees_every_kind_of_import(tmp_path):
    """The scan itself: relative, absolute and function-level imports all count."""
    f = tmp_path / "demo.py"
    f.write_text("from .grading import sandbox\nimport ftcourse.basemodel.corpus\n"
                 "def later():\n    from ..basemodel import pretrain\n")
    names = imported("ftcourse.world.demo", f)
    assert {"ftcourse.world.grading.sandbox", "ftcourse.basemodel.corpus", "ftcourse.basemodel.pretrain"} <= names


def test_no_lesson_or_world_module_imports_grading_or_basemodel():
    modules = notebook_facing()
    assert {"ftcourse.lora", "ftcourse.memory", "ftcourse.world.landai"} <= modules.keys()
    bad = {name: sorted(m for m in imported(name, path) if m.startswith(tuple(f"ftcourse.{f}" for f in FORBIDDEN)))
           for name, path in modules.items()}
    assert {name: found for name, found in bad.items() if found} == {}


def test_importing_them_loads_neither_in_a_fresh_interpreter():
    code = f"""
import importlib, json, sys
loaded = {{}}
for name in {sorted(notebook_facing())!r}:
    importlib.import_module(name)
    loaded[name] = sorted(m for m in sys.modules if m.startswith(("ftcourse.grading", "ftcourse.basemodel")))
    if loaded[name]:
        break
print(json.dumps(loaded))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert {name: found for name, found in loaded.items() if found} == {}
