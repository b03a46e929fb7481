"""The test command itself: it must refuse to run without Odoo 17, loudly."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_without_odoo_the_test_command_fails_with_instructions(tmp_path):
    # -S: no site-packages, so neither Odoo nor queue_job can be imported.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    result = subprocess.run(
        [sys.executable, "-S", str(REPO / "scripts" / "test.py"), "--no-pip"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Odoo 17 cannot be imported" in result.stderr
    assert "docker compose" in result.stderr
    assert "git clone" in result.stderr


def test_ci_entry_point_runs_the_readme_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme
