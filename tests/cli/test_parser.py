"""The command line builds only the named sub-command's parser, so quick commands stay quick."""

from __future__ import annotations

import subprocess
import sys

import pytest

from geo.cli import build_parser
from geo.settings import PROJECT_ROOT

CHILD = """
import sys
from geo.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("loaded:" + ",".join(m for m in ("geopandas", "statsmodels", "esda", "libpysal") if m in sys.modules))
"""


def test_fetch_parses_its_arguments_without_importing_the_analysis_stack():
    out = subprocess.run(
        [sys.executable, "-c", CHILD, "fetch", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert "--mirror" in out.stdout
    assert out.stdout.splitlines()[-1] == "loaded:"  # none of the heavy modules was imported


@pytest.mark.parametrize("command", ["fetch", "report", "export", "hotspots", "near-repeat", "cache"])
def test_one_command_parser_equals_that_command_in_the_full_parser(command):
    def sub_help(parser):
        action = next(a for a in parser._actions if a.dest == "command")
        return action.choices[command].format_help()

    assert sub_help(build_parser(command)) == sub_help(build_parser())


def test_an_unknown_command_is_refused_with_every_choice_listed(capsys):
    from geo.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["bogus"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in err and "'near-repeat'" in err and "'fetch'" in err
