"""What this machine gives the course: versions, threads, and whether a GPU is there.

Printed at the top of every notebook run, so a result can always be traced to
the library versions and hardware that produced it.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import sys

import pandas as pd

PACKAGES = ["torch", "transformers", "peft", "bitsandbytes", "tokenizers", "nbgrader", "ftcourse"]


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def device() -> str:
    """``"cuda"`` when a CUDA GPU is usable, else ``"cpu"``: the course's default everywhere."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def report() -> pd.DataFrame:
    """One row per fact about the environment, ready to display."""
    import torch

    rows = [("python", sys.version.split()[0]), ("platform", platform.platform(terse=True))]
    rows += [(name, package_version(name)) for name in PACKAGES]
    rows += [
        ("cpu cores", str(os.cpu_count())),
        ("torch threads", str(torch.get_num_threads())),
        ("cuda", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"),
        ("hub access", "offline (HF_HUB_OFFLINE=1)" if os.environ.get("HF_HUB_OFFLINE") == "1" else "allowed"),
    ]
    return pd.DataFrame(rows, columns=["what", "value"]).set_index("what")
