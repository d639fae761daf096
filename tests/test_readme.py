"""The README's two set-up commands are the ones CI runs."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_ci_runs_the_readme_test_command():
    readme = ROOT.joinpath("README.md").read_text()
    commands = re.findall(r"```sh\n(python3 -m venv[^\n]+)\n```", readme)
    assert len(commands) == 2, "README.md has exactly two set-up commands"
    ci = ROOT.joinpath(".ci/run").read_text()
    test_command = re.search(r'TEST_COMMAND="([^"]+)"', ci).group(1)
    assert test_command == commands[1]
    assert "comptoir demo" in commands[0] and "comptoir run" in commands[0]
