"""Argument helpers shared by the ``stfmr`` subcommands: file options, simulated samples, help defaults.

A file option whose file is missing is refused naming the option
(``--bench lab.toml: no such file``), exit status 2, before anything is opened. Kept free of heavy imports:
``stfmr --help`` builds every subcommand's parser.
"""

from __future__ import annotations

import argparse
import importlib.util
import textwrap
from pathlib import Path


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Add "(default: X)" to an option's help when it has a default worth showing.

    Unlike argparse's ArgumentDefaultsHelpFormatter, leaves out None and False (flags,
    options without a default) and help texts that already state their default. Lines
    are not broken at hyphens, so preset names stay whole.
    """

    def _split_lines(self, text: str, width: int) -> list[str]:
        # never wrap inside a name like "two-mode" or "type-A"
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (not action.option_strings or default is None or default is False or default == argparse.SUPPRESS
                or default == []
                or "default" in text or isinstance(action, (argparse._HelpAction, argparse._VersionAction))):
            return action.help
        return f"{text} (default: %(default)s)"


def input_file(value: str | Path | None, option: str) -> Path | None:
    """Return value as a Path after checking the file exists; a missing one is refused naming the option.

    Raises ValueError (exit 2 through ``stfmr.app.cli``) before anything is opened.
    """
    if value is None:
        return None
    path = Path(value)
    if path.is_dir():
        raise ValueError(f"{option} {value}: is a folder, not a file")
    if not path.is_file():
        raise ValueError(f"{option} {value}: no such file")
    return path


def preset_names() -> list[str]:
    """Names of the simulated sample presets (the files of ``instruments/sim/presets``), without importing it."""
    spec = importlib.util.find_spec("stfmr.instruments.sim")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations))) / "presets"
    return sorted(p.stem for p in folder.glob("*.toml"))


def sample_help(what: str = "the virtual bench with") -> str:
    """Help text of a --sim/--sample option: every preset, or a sample file."""
    return f"{what} a preset ({', '.join(preset_names())}) or a sample file (TOML)"


def sim_sample(value: str | None, option: str = "--sim") -> str | None:
    """Check a simulated sample: a preset name or an existing sample file (returned as given).

    Raises ValueError naming the option, the presets and what was given.
    """
    if value is None or value in preset_names():
        return value
    path = Path(value)
    if path.is_file():
        return value
    if path.is_dir():
        raise ValueError(f"{option} {value}: is a folder, not a sample file")
    if value.endswith(".toml") or path.parent != Path("."):
        raise ValueError(f"{option} {value}: no such sample file")
    raise ValueError(f"{option} {value}: no sample preset {value!r}; presets: {', '.join(preset_names())}, "
                     "or a sample file (TOML)")
