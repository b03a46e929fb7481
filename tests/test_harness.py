"""The test command itself: it must refuse to run without Odoo 17, loudly."""

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_without_odoo_the_test_command_fails_with_instructions(tmp_path):
    # -S: no site-packages, so neither Odoo nor queue_job can be imported; no
    # ODOO_SRC and INTEGRATION_OFFLINE: no venv can be set up (no download).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "INTEGRATION_", "ODOO_SRC", "VIRTUAL_ENV"))
    }
    env.update(INTEGRATION_OFFLINE="1", INTEGRATION_VENV=str(tmp_path / "venv"))
    started = time.monotonic()
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
    assert time.monotonic() - started < 15  # at once: nothing is downloaded
    assert "Odoo 17 cannot be imported" in result.stderr
    assert "ODOO_SRC is not set" in result.stderr
    assert "make test ODOO_SRC=" in result.stderr
    assert "docker compose" in result.stderr
    assert "git clone" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_ci_entry_point_runs_the_readme_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme
