"""The bootstrap of ``make run``/``make test``: Odoo 17 in a project-local venv.

No network: Odoo comes from a small fake Odoo 17 tree (``ODOO_SRC``), the pip
step is a stand-in that records its calls, and the venvs are real ones made
without pip (fast). The real installation is checked by hand (README).
"""

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import bootstrap  # noqa: E402

ODOO_REQUIREMENTS = """\
# a few lines of Odoo 17's own requirements.txt
gevent==22.10.2; python_version > '3.10'
psycopg2==2.9.5 ; python_version > '3.10' or sys_platform == 'win32'
python-ldap==3.4.0 ; sys_platform != 'win32'  # min version = 3.2.0
pytz  # no version pinning
requests==2.25.1 # versions < 2.25 aren't compatible w/ urllib3 1.26
urllib3==1.26.5 # indirect
"""


def make_tree(folder, major=17, requirements="# nothing to install\n"):
    """A tiny Odoo source tree: the ``odoo`` package, release.py, odoo-bin."""
    (folder / "odoo").mkdir(parents=True)
    (folder / "odoo" / "__init__.py").write_text("from . import release\n")
    (folder / "odoo" / "release.py").write_text(
        "FINAL = 'final'\n"
        f"version_info = ({major}, 0, 0, FINAL, 0, '')\n"
        f"version = '{major}.0'\n"
    )
    (folder / "requirements.txt").write_text(requirements)
    (folder / "odoo-bin").write_text("import odoo\n")
    (folder / "addons").mkdir()
    return folder


class FakePip:
    """Stands for ``pip install``: records the arguments, fails on request."""

    def __init__(self, fails=lambda args: False):
        self.calls = []
        self.fails = fails

    def __call__(self, python, args, log_path):
        assert Path(python).exists()
        self.calls.append([str(a) for a in args])
        return 1 if self.fails(args) else 0


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setattr(bootstrap, "VENV_WITH_PIP", False)
    monkeypatch.delenv("ODOO_SRC", raising=False)
    monkeypatch.delenv("INTEGRATION_VENV", raising=False)
    monkeypatch.setenv("INTEGRATION_OFFLINE", "1")


@pytest.fixture
def fake_odoo(tmp_path):
    return make_tree(tmp_path / "odoo-17")


@pytest.fixture
def project(tmp_path):
    """The suite's two requirement files (copies: the tests change them)."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# the suite's requirements\n")
    nodeps = tmp_path / "requirements-nodeps.txt"
    nodeps.write_text("# queue_job\n")
    return requirements, nodeps


def ensure(tmp_path, project, odoo_src, pip=None):
    requirements, nodeps = project
    return bootstrap.ensure(
        venv=tmp_path / ".venv",
        odoo_src=str(odoo_src),
        requirements=[requirements],
        nodeps=[nodeps],
        pip=pip or FakePip(),
    )


def imported_odoo(python):
    result = subprocess.run(
        [str(python), "-c", "import odoo, odoo.release, sys; print(odoo.__file__)"]
        + [],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(result.stdout.strip())


def test_builds_the_venv_from_a_local_tree_and_writes_the_stamp(
    tmp_path, project, fake_odoo
):
    pip = FakePip()
    result = ensure(tmp_path, project, fake_odoo, pip)

    venv = tmp_path / ".venv"
    assert result.built
    assert result.python == bootstrap.venv_python(venv)
    # the venv's own Python imports the tree's Odoo, not a namespace folder
    assert imported_odoo(result.python) == fake_odoo / "odoo" / "__init__.py"
    # a local tree is referenced by a .pth file, not copied
    (pth,) = venv.glob("lib/python*/site-packages/integration-odoo.pth")
    assert pth.read_text().strip() == str(fake_odoo)
    assert not (venv / "src").exists()

    stamp = json.loads((venv / bootstrap.STAMP).read_text())
    assert stamp["state"] == "ready"
    assert stamp["source"] == f"tree:{fake_odoo}"
    assert stamp["odoo_version"] == "17.0"
    assert stamp["python"] == os.path.realpath(sys.executable)
    requirements, nodeps = project
    assert set(stamp["requirements"]) == {
        str(requirements),
        str(nodeps),
        "odoo:requirements.txt",
        "odoo:install-plan",
    }
    # Odoo's requirements first, the suite's within Odoo's pins, then --no-deps
    constraints = str(venv / "integration-odoo-constraints.txt")
    assert pip.calls == [
        ["-r", str(venv / "integration-odoo-requirements.txt")],
        ["-r", str(requirements), "-c", constraints],
        ["--no-deps", "-r", str(nodeps)],
    ]


def test_the_second_call_reuses_the_venv_in_no_time(tmp_path, project, fake_odoo):
    ensure(tmp_path, project, fake_odoo)
    pip = FakePip()
    started = time.monotonic()
    result = ensure(tmp_path, project, fake_odoo, pip)
    assert not result.built
    assert pip.calls == []
    assert time.monotonic() - started < 1
    # ODOO_SRC is needed only once: without it the venv is reused as it is
    assert not ensure(tmp_path, project, "", pip).built
    assert pip.calls == []


@pytest.mark.parametrize("changed", ["requirements", "nodeps", "odoo"])
def test_a_changed_requirements_file_rebuilds_the_venv(
    tmp_path, project, fake_odoo, changed, capsys
):
    ensure(tmp_path, project, fake_odoo)
    path = {
        "requirements": project[0],
        "nodeps": project[1],
        "odoo": fake_odoo / "requirements.txt",
    }[changed]
    path.write_text(path.read_text() + "# one more line\n")
    capsys.readouterr()

    pip = FakePip()
    result = ensure(tmp_path, project, fake_odoo, pip)
    assert result.built
    assert len(pip.calls) == 3
    assert "changed" in capsys.readouterr().out
    assert ensure(tmp_path, project, fake_odoo).built is False


def test_new_build_conditions_rebuild_the_venv(tmp_path, project, monkeypatch, capsys):
    tree = make_tree(tmp_path / "odoo-17", requirements=ODOO_REQUIREMENTS)
    without = {"ldap_headers": False, "psycopg2_buildable": True}
    monkeypatch.setattr(bootstrap, "build_environment", lambda: without)
    assert "python-ldap" in ensure(tmp_path, project, tree).stamp["notes"]
    assert not ensure(tmp_path, project, tree).built
    # the LDAP headers are installed: python-ldap can be built now
    with_ldap = {"ldap_headers": True, "psycopg2_buildable": True}
    monkeypatch.setattr(bootstrap, "build_environment", lambda: with_ldap)
    capsys.readouterr()
    result = ensure(tmp_path, project, tree)
    assert result.built
    assert "odoo:install-plan changed" in capsys.readouterr().out
    assert "python-ldap" not in result.stamp["notes"]


def test_another_odoo_src_or_an_unfinished_setup_rebuilds(tmp_path, project, fake_odoo):
    ensure(tmp_path, project, fake_odoo)
    other = make_tree(tmp_path / "other-odoo-17")
    result = ensure(tmp_path, project, other)
    assert result.built
    assert imported_odoo(result.python) == other / "odoo" / "__init__.py"

    stamp_path = tmp_path / ".venv" / bootstrap.STAMP
    stamp = json.loads(stamp_path.read_text())
    stamp["state"] = "building"  # as left by an interrupted setup
    stamp_path.write_text(json.dumps(stamp))
    assert ensure(tmp_path, project, "").built  # same source, no ODOO_SRC


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_a_source_archive_is_extracted_into_the_venv_and_kept(
    tmp_path, project, suffix, capsys
):
    tree = make_tree(tmp_path / "build" / "odoo-17.0.post20240101")
    archive = tmp_path / f"odoo_17.0{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(archive, "w") as zipped:
            for path in tree.rglob("*"):
                zipped.write(path, path.relative_to(tree.parent))
    else:
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(tree, arcname=tree.name)
    shutil.rmtree(tmp_path / "build")

    result = ensure(tmp_path, project, archive)
    venv = tmp_path / ".venv"
    found = imported_odoo(result.python)
    assert venv / "src" in found.parents
    assert found.parent.parent.name == "odoo-17.0.post20240101"

    # a rebuild for new requirements keeps the extracted tree
    project[0].write_text("# changed\n")
    capsys.readouterr()
    assert ensure(tmp_path, project, archive).built
    assert "kept from the previous setup" in capsys.readouterr().out
    assert imported_odoo(result.python) == found


def test_an_archive_url_is_downloaded_and_extracted(tmp_path, project, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # a local server, no proxy
    served = tmp_path / "served"
    tree = make_tree(tmp_path / "build" / "odoo-17.0.post20240101")
    served.mkdir()
    with tarfile.open(served / "odoo_17.0.latest.tar.gz", "w:gz") as tar:
        tar.add(tree, arcname=tree.name)
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(served)
    )
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/odoo_17.0.latest.tar.gz?x=1"
        result = ensure(tmp_path, project, url)
    finally:
        server.shutdown()
        server.server_close()
    found = imported_odoo(result.python)
    assert found.parent.parent.name == "odoo-17.0.post20240101"
    assert tmp_path / ".venv" / "src" in found.parents
    assert not list((tmp_path / ".venv" / "src").glob("download*"))


@pytest.mark.skipif(not shutil.which("git"), reason="git is not installed")
def test_a_git_url_is_cloned_shallow_from_branch_17(tmp_path, project):
    repo = make_tree(tmp_path / "odoo-git")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "17.0"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "Odoo 17"], check=True)

    result = ensure(tmp_path, project, f"file://{repo}")
    found = imported_odoo(result.python)
    assert found == tmp_path / ".venv" / "src" / "odoo" / "odoo" / "__init__.py"
    assert (found.parent.parent / ".git").is_dir()


def test_with_nothing_available_it_fails_at_once(tmp_path, project):
    started = time.monotonic()
    with pytest.raises(bootstrap.BootstrapError, match="ODOO_SRC is not set"):
        ensure(tmp_path, project, "")
    assert time.monotonic() - started < 2
    assert not (tmp_path / ".venv").exists()


def test_unreachable_official_sources_fail_at_once(monkeypatch, tmp_path, project):
    monkeypatch.delenv("INTEGRATION_OFFLINE")
    monkeypatch.setattr(bootstrap, "reachable", lambda url: False)
    with pytest.raises(bootstrap.BootstrapError) as error:
        ensure(tmp_path, project, "")
    assert "cannot be reached" in str(error.value)
    assert "nightly.odoo.com" in str(error.value)
    assert not (tmp_path / ".venv").exists()

    monkeypatch.setattr(bootstrap, "reachable", lambda url: True)
    sources = bootstrap.official_sources()
    assert sources[-1] == bootstrap.Source("url", bootstrap.OFFICIAL_ARCHIVE)
    if shutil.which("git"):
        assert sources[0] == bootstrap.Source(
            "git", "https://github.com/odoo/odoo.git", "17.0"
        )


def test_an_unusable_odoo_src_is_refused_before_anything_is_made(tmp_path, project):
    old = make_tree(tmp_path / "odoo-16", major=16)
    with pytest.raises(bootstrap.BootstrapError, match="Odoo 16.0"):
        ensure(tmp_path, project, old)
    with pytest.raises(bootstrap.BootstrapError, match="no such folder"):
        ensure(tmp_path, project, tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(bootstrap.BootstrapError, match="not a source archive"):
        ensure(tmp_path, project, tmp_path / "notes.txt")
    assert not (tmp_path / ".venv").exists()


def test_odoo_src_forms():
    parse = bootstrap.parse_source
    assert parse("https://github.com/me/odoo.git") == bootstrap.Source(
        "git", "https://github.com/me/odoo.git", "17.0"
    )
    assert parse("git@github.com:me/odoo.git#17.0-fix") == bootstrap.Source(
        "git", "git@github.com:me/odoo.git", "17.0-fix"
    )
    url = "https://nightly.odoo.com/17.0/nightly/src/odoo_17.0.latest.tar.gz"
    assert parse(url) == bootstrap.Source("url", url)
    assert parse("git+https://host/odoo#17.0").kind == "git"


def test_odoo_requirements_plan_on_a_machine_without_headers():
    lines = ODOO_REQUIREMENTS.splitlines()
    nothing = {"ldap_headers": False, "psycopg2_buildable": False}
    install, constraints, notes = bootstrap.plan_odoo_requirements(lines, nothing)
    names = [bootstrap.requirement_name(line) for line in install]
    assert "python-ldap" not in names
    assert "libldap2-dev libsasl2-dev" in notes["python-ldap"]
    assert "psycopg2-binary==2.9.5 ; python_version > '3.10'" in "\n".join(install)
    assert "gevent" in names and "pytz" in names
    # the pins test tools must respect (no comments, markers kept)
    assert "requests==2.25.1" in constraints
    assert "urllib3==1.26.5" in constraints
    assert "gevent==22.10.2; python_version > '3.10'" in constraints
    assert not any("pytz" in line for line in constraints)
    # gevent 22 cannot find today's zope.* (normalised dist-info names)
    assert "zope.interface<7 ; python_version > '3.10'" in install
    assert "zope.event<5 ; python_version > '3.10'" in constraints

    everything = {"ldap_headers": True, "psycopg2_buildable": True}
    install, _constraints, notes = bootstrap.plan_odoo_requirements(lines, everything)
    assert [line for line in install if "zope" not in line] == lines
    assert notes == {}


def test_failed_builds_are_retried_one_by_one(tmp_path, project, monkeypatch):
    monkeypatch.setattr(
        bootstrap,
        "build_environment",
        lambda: {"ldap_headers": True, "psycopg2_buildable": True},
    )
    tree = make_tree(tmp_path / "odoo-17", requirements=ODOO_REQUIREMENTS)

    def fails(args):
        joined = " ".join(str(a) for a in args)
        return "integration-odoo-requirements" in joined or "python-ldap" in joined

    result = ensure(tmp_path, project, tree, FakePip(fails))
    assert result.built
    assert "auth_ldap" in result.stamp["notes"]["python-ldap"]

    def lxml_fails(args):
        return fails(args) or any("lxml" in str(a) for a in args)

    tree.joinpath("requirements.txt").write_text(ODOO_REQUIREMENTS + "lxml==4.9.2\n")
    with pytest.raises(bootstrap.BootstrapError, match="lxml==4.9.2 failed"):
        ensure(tmp_path, project, tree, FakePip(lxml_fails))


def test_a_venv_it_did_not_make_is_left_alone(tmp_path, project, fake_odoo):
    venv = tmp_path / ".venv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /somewhere\n")
    with pytest.raises(bootstrap.BootstrapError, match="not made by this command"):
        ensure(tmp_path, project, fake_odoo)
    assert bootstrap.clean(venv) is False
    assert (venv / "pyvenv.cfg").exists()

    shutil.rmtree(venv)
    ensure(tmp_path, project, fake_odoo)
    assert bootstrap.clean(venv) is True
    assert not venv.exists()


def test_the_commands_run_again_in_the_venv_and_reuse_it(tmp_path, fake_odoo):
    """odoo_env.require_odoo17() in a Python without Odoo (-S: no
    site-packages): builds the venv from ODOO_SRC, runs the script again with
    the venv's Python, which imports the tree's Odoo; the second run reuses."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# none\n")
    entry = tmp_path / "entry.py"
    entry.write_text(
        f"""\
import os, sys
sys.path.insert(0, {str(REPO / "scripts")!r})
import bootstrap
bootstrap.VENV_WITH_PIP = False
bootstrap.SUITE_REQUIREMENTS = bootstrap.SUITE_REQUIREMENTS_NODEPS = (
    bootstrap.Path({str(requirements)!r}),
)
bootstrap.run_pip = lambda python, args, log_path: 0
import odoo_env
odoo = odoo_env.require_odoo17()
print("ODOO", odoo.__file__)
print("PYTHON", sys.executable)
print("NO_PIP", os.environ.get("INTEGRATION_NO_PIP"))
"""
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "INTEGRATION_", "ODOO_SRC", "VIRTUAL_ENV"))
    }
    env.update(ODOO_SRC=str(fake_odoo), INTEGRATION_VENV=str(tmp_path / "venv"))

    def run():
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-S", str(entry)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout, time.monotonic() - started

    first, _seconds = run()
    assert "== setting up Odoo 17" in first
    assert f"ODOO {fake_odoo / 'odoo' / '__init__.py'}" in first
    assert f"PYTHON {bootstrap.venv_python(tmp_path / 'venv')}" in first
    assert "NO_PIP 1" in first

    del env["ODOO_SRC"]
    second, seconds = run()
    assert "setting up" not in second
    assert "== Odoo 17.0 from" in second
    assert f"ODOO {fake_odoo / 'odoo' / '__init__.py'}" in second
    assert seconds < 10
