"""docs/physics.md stays true to the repository: cited sections exist, named tests and modules exist.

The reference is documentation only (nothing reads it at run time); these tests
read it from the source tree.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "physics.md"
SKIP_DIRS = {".git", ".venv", "venv", "build", "dist", "node_modules", "__pycache__", ".mypy_cache"}
SOURCE_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg"}


def _source_files():
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts):
            continue
        if path.is_file() and path.suffix in SOURCE_SUFFIXES:
            yield path


def _sections() -> set[str]:
    heads = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return set(heads)


def test_every_cited_section_exists():
    sections = _sections()
    assert {"1", "2", "3", "4", "5", "6", "6.4", "6.7", "7", "8", "9"} <= sections
    bad = []
    for path in _source_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if "physics.md" not in line and path != DOC:
                continue
            for cited in re.findall(r"§(\d+(?:\.\d+)?)", line):
                if cited not in sections:
                    bad.append(f"{path.relative_to(ROOT)}:{number}: §{cited}")
    assert not bad, "citations of sections docs/physics.md does not have:\n" + "\n".join(bad)


def test_every_test_and_module_the_reference_names_exists():
    text = DOC.read_text(encoding="utf-8")
    named_tests = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text)
    assert len(named_tests) > 50
    missing = []
    for file, name in named_tests:
        path = ROOT / file
        if not path.is_file() or not re.search(rf"^\s*def {name}\(", path.read_text(encoding="utf-8"), re.MULTILINE):
            missing.append(f"{file}::{name}")
    for rel in re.findall(r"`((?:analysis|instruments|procedures|app|examples|tests)/[\w/.-]*)`", text):
        if not (ROOT / rel).exists():
            missing.append(rel)
    assert not missing, "docs/physics.md names what is not in the repository:\n" + "\n".join(missing)


@pytest.mark.parametrize("old", ["PHYSICS" + ".md", "PHYSICS" + " section"])
def test_nothing_cites_the_physics_notes_that_are_not_shipped(old):
    hits = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _source_files()
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if old in line
    ]
    assert not hits, f"cite docs/physics.md instead of {old}:\n" + "\n".join(hits)
