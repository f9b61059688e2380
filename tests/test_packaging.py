"""The two ways to install (make, conda) describe the same environment."""
import re
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.version import Version


def load(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((root / "environment.yml").read_text())
    return project, env


def test_conda_environment_matches_pyproject(root):
    project, env = load(root)
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    version = python.split("=", 1)[1]
    assert Version(version + ".0") in Requirement(f"python{project['requires-python']}").specifier
    assert version == "3.11"
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert any(re.fullmatch(r"-e \.(\[dev\])?", line) for line in pip), "the pip section installs this package"
    assert env["name"] == project["name"] == "ftcourse"


def test_torch_requirement_admits_the_local_cpu_build(root):
    project, _ = load(root)
    torch = next(Requirement(r) for r in project["dependencies"] if Requirement(r).name == "torch")
    assert Version("2.13.0") in torch.specifier
    assert "torch==2.13.0" in (root / "Makefile").read_text()


def test_ci_runs_the_readme_test_command(root):
    readme = (root / "README.md").read_text()
    assert "make test" in readme
    assert "make test" in (root / ".ci" / "run").read_text()


def test_every_data_file_the_library_reads_is_installed_with_it(root):
    """A non-editable install ships only what package-data names: a data file left out is a FileNotFoundError there."""
    from pathlib import PurePath

    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["ftcourse"]
    package = root / "lib" / "ftcourse"
    files = [p.relative_to(package) for p in (package / "data").iterdir() if p.is_file()]
    assert files and [f for f in files if not any(PurePath(f).match(p) for p in patterns)] == []
