"""The package type-checks: mypy on every module of stfmr, no error allowed.

mypy runs with the configuration in pyproject.toml ([tool.mypy]) on the package
and on ``tests/typecheck/role_protocols.py``, which assigns every role wrapper
to its role's Protocol (as ophyd's tests/test_bluesky_protocols.py does), so a
wrapper that lacks a member procedures rely on is a type error.

stfmr is assembled from the repository's top-level folders (pyproject's
package-dir maps ``stfmr`` to the root), which mypy cannot follow through the
editable install. So mypy searches a directory that holds one symlink,
``stfmr`` -> the repository root, whatever the checkout is called. That
directory and mypy's incremental cache (``.mypy_cache`` in the root) keep their
places between runs: an unchanged tree is checked again in seconds.

By hand: ``python -m pytest -q tests/test_typing.py`` prints mypy's report when it fails.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from stfmr.instruments.registry import DRIVERS

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = ROOT / "tests" / "typecheck" / "role_protocols.py"


def package_search_dir() -> Path:
    """Return a directory holding ``stfmr`` -> the repository root (made once per checkout)."""
    key = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    uid = os.getuid() if hasattr(os, "getuid") else 0
    base = Path(tempfile.gettempdir()) / f"stfmr-mypy-{uid}-{key}"
    base.mkdir(parents=True, exist_ok=True)
    link = base / "stfmr"
    if not (link.is_symlink() and Path(os.readlink(link)) == ROOT):
        spare = base / f"stfmr.{os.getpid()}"
        spare.unlink(missing_ok=True)
        spare.symlink_to(ROOT, target_is_directory=True)
        os.replace(spare, link)  # atomic: a concurrent run sees the old link or the new one
    return base


def mypy_targets() -> list[str]:
    """``-m stfmr`` and ``-p`` for each top-level sub-package that pyproject installs."""
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    args = ["-m", "stfmr"]
    for name in packages:
        if name.count(".") == 1:
            args += ["-p", name]
    return args


def run_mypy() -> subprocess.CompletedProcess[str]:
    search = package_search_dir()
    command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
               "--cache-dir", str(ROOT / ".mypy_cache"), *mypy_targets(), "-m", CONFORMANCE.stem]
    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(search), str(CONFORMANCE.parent)])}
    return subprocess.run(command, cwd=search, env=env, capture_output=True, text=True)


def test_mypy_finds_no_error_in_the_package():
    result = run_mypy()
    report = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"mypy found errors:\n{report}"
    assert "no issues found" in report, report


def test_every_registered_role_wrapper_is_checked_against_its_protocol():
    text = CONFORMANCE.read_text(encoding="utf-8")
    wrappers = {spec.wrapper_path.rpartition(":")[2] for spec in DRIVERS.values()}
    missing = sorted(name for name in wrappers if f"{name}(" not in text)
    assert not missing, f"add these wrappers to {CONFORMANCE.relative_to(ROOT)}: {', '.join(missing)}"
