"""The ``stfmr`` entry point itself."""

import pytest

from stfmr import __version__
from stfmr.app import cli


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_subcommand_prints_help_and_fails(capsys):
    assert cli.main([]) == cli.EXIT_BAD_INPUT
    assert "usage: stfmr" in capsys.readouterr().out
