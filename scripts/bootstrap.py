"""Odoo 17 in a project-local virtual environment, for ``make run``/``make test``.

When the chosen Python (``PYTHON``, default ``python3``) cannot import Odoo 17,
``scripts/odoo_env.py`` calls :func:`ensure`: it creates ``.venv/`` in the
repository (or reuses it), installs Odoo 17 and every requirement into it and
returns the venv's Python, under which the command then runs again.

Where Odoo comes from (``ODOO_SRC``):

* unset: the official source, a shallow clone of the ``17.0`` branch of
  https://github.com/odoo/odoo (when git is installed), else the official
  nightly source archive; either is kept in ``.venv/src/``;
* a local Odoo 17 tree (a checkout or an extracted archive): used where it is,
  not copied (1 GB saved, and a ``git pull`` there needs no rebuild);
* a source archive (``.tar.gz``, ``.tgz``, ``.zip``, ...), a file or an
  ``http(s)`` URL: extracted into ``.venv/src/``;
* a git URL (``https://host/odoo.git``, ``git@host:odoo.git``, ``file://...``)
  with an optional ``#branch`` (default ``17.0``): cloned shallow into
  ``.venv/src/``.

Odoo is put on the venv's ``sys.path`` by a ``.pth`` file naming the tree and
is never installed editable: queue_job's wheel creates
``site-packages/odoo/addons``, a namespace folder that hides an editable
install, whereas a regular package found through a ``.pth`` entry wins over a
namespace folder. The tree keeps ``odoo-bin`` and the community ``addons/``
beside the ``odoo`` package, as the commands expect.

Requirements, in this order: Odoo's own (``python-ldap`` left out, and said
so, when the LDAP/SASL headers it compiles against are missing; ``psycopg2``
as the same version of ``psycopg2-binary`` when it cannot be compiled; when
the whole set fails, one by one, with ``gevent``/``greenlet`` retried unpinned
and ``python-ldap`` optional; with ``gevent`` < 23, ``zope.event`` < 5 and
``zope.interface`` < 7, else gevent's ``patch_all()`` fails on Python 3.11 and
Odoo's websocket process cannot start), then ``requirements.txt`` constrained to Odoo's
pins (test tools cannot move ``requests`` or ``urllib3``), then
``requirements-nodeps.txt`` with ``--no-deps`` (queue_job).

The stamp ``.venv/integration-bootstrap.json`` records what was installed: the
base Python, the source, the hashes of the requirement files (the suite's and
Odoo's). A later run whose stamp matches reuses the venv at once; a changed
requirement file, another Python or another ``ODOO_SRC`` rebuilds it (keeping
a fetched Odoo tree when the source is the same). Without ``ODOO_SRC`` any
complete venv is reused, whatever source it was built from.

Environment: ``ODOO_SRC``; ``INTEGRATION_VENV`` (a folder other than
``.venv``); ``INTEGRATION_OFFLINE=1`` (never download Odoo: without
``ODOO_SRC`` or a complete venv, fail at once).

Plain Python, standard library only: it runs before anything is installed.
``python3 scripts/bootstrap.py setup`` sets the venv up without running
anything else, ``python3 scripts/bootstrap.py clean`` (``make clean-venv``)
removes it.
"""

import contextlib
import datetime
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
STAMP = "integration-bootstrap.json"
LOG = "integration-bootstrap.log"
STAMP_FORMAT = 1
ODOO_MAJOR = 17
ODOO_BRANCH = "17.0"
OFFICIAL_GIT = "https://github.com/odoo/odoo.git"
OFFICIAL_ARCHIVE = "https://nightly.odoo.com/17.0/nightly/src/odoo_17.0.latest.tar.gz"
ARCHIVE_SUFFIXES = (
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz2",
    ".tar.xz",
    ".txz",
    ".tar",
    ".zip",
)
# Installed with their dependencies, then without (queue_job's wheel depends
# on "odoo", which no package index serves).
# requirements.txt includes the other two (-r); listed so that a change in
# any of them rebuilds the venv.
SUITE_REQUIREMENTS = (
    REPO / "requirements.txt",
    REPO / "requirements-runtime.txt",
    REPO / "sandbox" / "requirements.txt",
)
SUITE_REQUIREMENTS_NODEPS = (REPO / "requirements-nodeps.txt",)
VENV_WITH_PIP = True  # tests create venvs without pip (fast, offline)
PROBE_TIMEOUT = 4  # seconds to reach the official source's host

# Odoo's requirements that may fail to build, and what is lost without them.
OPTIONAL = {
    "python-ldap": "LDAP logins (Odoo's auth_ldap addon) are unavailable",
    "gevent": "Odoo's websocket process cannot start (no live notifications)",
    "greenlet": "Odoo's websocket process cannot start (no live notifications)",
}
RETRY_UNPINNED = ("gevent", "greenlet")


class BootstrapError(Exception):
    """No venv with Odoo 17 could be set up; the message says why."""


class Result(NamedTuple):
    python: Path  # the venv's interpreter
    venv: Path
    built: bool  # False when an existing venv was reused
    stamp: dict


def say(message):
    print(message, flush=True)


# ---------------------------------------------------------------- places


def default_venv():
    return Path(os.environ.get("INTEGRATION_VENV") or REPO / ".venv").absolute()


def venv_python(venv):
    if os.name == "nt":
        return Path(venv) / "Scripts" / "python.exe"
    return Path(venv) / "bin" / "python"


def shown(path):
    """A path as the user wants to read it: relative to the repository."""
    try:
        return str(Path(path).relative_to(REPO))
    except ValueError:
        return str(path)


def _file_hash(path):
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "missing"


# ---------------------------------------------------------------- sources


class Source(NamedTuple):
    kind: str  # "tree", "archive" (a local file), "url" (an archive), "git"
    location: str
    ref: str = ""  # git branch

    @property
    def key(self):
        """What the stamp records, to tell whether ODOO_SRC changed."""
        if self.kind == "archive":
            stat = Path(self.location).stat()
            return f"archive:{self.location}:{stat.st_size}:{int(stat.st_mtime)}"
        if self.kind == "git":
            return f"git:{self.location}#{self.ref}"
        return f"{self.kind}:{self.location}"

    def __str__(self):
        if self.kind == "git":
            return f"{self.location} (git, branch {self.ref})"
        return self.location


def odoo_version(tree):
    """``version_info`` of the Odoo tree at ``tree``, or None."""
    release = Path(tree) / "odoo" / "release.py"
    try:
        text = release.read_text()
    except OSError:
        return None
    namespace = {}
    try:  # Odoo's release.py only defines constants
        exec(compile(text, str(release), "exec"), namespace)
        return tuple(namespace["version_info"])
    except Exception:  # noqa: BLE001 - fall back to reading the line
        match = re.search(r"^version_info\s*=\s*\((\d+)", text, re.M)
        return (int(match.group(1)),) if match else None


def find_tree(folder, what):
    """The Odoo source tree at ``folder``: itself, its parent when ``folder``
    is the ``odoo`` package, or its only sub-folder (an extracted archive)."""
    folder = Path(folder)
    candidates = [folder]
    if folder.name == "odoo" and (folder / "release.py").is_file():
        candidates.append(folder.parent)
    if folder.is_dir():
        candidates += sorted(p for p in folder.iterdir() if p.is_dir())
    for candidate in candidates:
        if (candidate / "odoo" / "release.py").is_file():
            return check_tree(candidate, what)
    raise BootstrapError(
        f"{what} is not an Odoo source tree (no odoo/release.py in {folder} "
        "or its sub-folders)"
    )


def check_tree(tree, what):
    version = odoo_version(tree)
    if not version or version[0] != ODOO_MAJOR:
        found = ".".join(str(v) for v in version[:2]) if version else "unknown"
        raise BootstrapError(
            f"{what} holds Odoo {found} ({tree}), this suite needs Odoo {ODOO_MAJOR}"
        )
    if not (tree / "odoo" / "__init__.py").is_file():
        raise BootstrapError(f"{what}: {tree}/odoo has no __init__.py")
    if not (tree / "requirements.txt").is_file():
        raise BootstrapError(
            f"{what}: {tree} has no requirements.txt (Odoo's Python requirements)"
        )
    return tree


def parse_source(spec):
    """The :class:`Source` named by ``ODOO_SRC``; raises when it is unusable."""
    spec = spec.strip()
    what = f"ODOO_SRC={spec}"
    if spec.startswith("git+"):
        spec = spec[4:]
    if "://" in spec or re.match(r"^[\w.-]+@[\w.-]+:", spec):
        url, _, ref = spec.partition("#")
        parts = urllib.parse.urlsplit(url)
        is_archive = parts.path.lower().endswith(ARCHIVE_SUFFIXES)
        if is_archive and parts.scheme == "file":
            spec = urllib.parse.unquote(parts.path)  # a local archive
        elif is_archive and parts.scheme in ("http", "https"):
            return Source("url", url)
        else:
            return Source("git", url, ref or ODOO_BRANCH)
    path = Path(spec).expanduser().absolute()
    if path.is_dir():
        return Source("tree", str(find_tree(path, what)))
    if path.is_file():
        if not path.name.lower().endswith(ARCHIVE_SUFFIXES):
            raise BootstrapError(
                f"{what} is a file but not a source archive "
                f"({', '.join(ARCHIVE_SUFFIXES)})"
            )
        return Source("archive", str(path))
    raise BootstrapError(f"{what}: no such folder or file")


def reachable(url, timeout=PROBE_TIMEOUT):
    """True when the host of ``url`` answers (or a proxy is configured)."""
    parts = urllib.parse.urlsplit(url)
    if any(os.environ.get(v) for v in ("https_proxy", "HTTPS_PROXY", "all_proxy")):
        return True  # the proxy decides; the download itself will tell
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def official_sources(offline=False):
    """The official sources worth trying now, or an error saying why none is."""
    if offline:
        raise BootstrapError(
            "ODOO_SRC is not set and INTEGRATION_OFFLINE forbids downloading "
            "Odoo's official source"
        )
    candidates = []
    if shutil.which("git"):
        candidates.append(Source("git", OFFICIAL_GIT, ODOO_BRANCH))
    candidates.append(Source("url", OFFICIAL_ARCHIVE))
    with ThreadPoolExecutor(len(candidates)) as pool:
        answers = list(pool.map(lambda s: reachable(s.location), candidates))
    sources = [s for s, ok in zip(candidates, answers) if ok]
    if not sources:
        hosts = ", ".join(
            urllib.parse.urlsplit(s.location).hostname for s in candidates
        )
        raise BootstrapError(
            f"ODOO_SRC is not set and Odoo's official source cannot be reached "
            f"({hosts}: no network?)"
        )
    return sources


def _extract(archive, dest):
    dest.mkdir(parents=True, exist_ok=True)
    name = str(archive).lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(dest)  # zipfile drops absolute and ../ names
            return
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
                return
            root = dest.resolve()
            for member in tar.getmembers():
                target = (dest / member.name).resolve()
                if root not in target.parents and target != root:
                    raise BootstrapError(f"{archive}: unsafe path {member.name}")
            tar.extractall(dest)  # noqa: S202 - names checked above
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise BootstrapError(f"cannot extract {archive}: {exc}") from exc


def _download(url, target):
    say(f"   downloading {url}")
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            with open(target, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
    except (OSError, urllib.error.URLError) as exc:
        raise BootstrapError(f"downloading {url} failed: {exc}") from exc


def fetch(source, src_dir):
    """The Odoo 17 tree of ``source``, fetched into ``src_dir`` when remote."""
    what = f"the Odoo source {source}"
    if source.kind == "tree":
        return check_tree(Path(source.location), what)
    if src_dir.exists():
        shutil.rmtree(src_dir)
    src_dir.mkdir(parents=True)
    if source.kind == "git":
        if not shutil.which("git"):
            raise BootstrapError(f"{what}: git is not installed")
        say(f"   git clone --depth 1 --branch {source.ref} {source.location}")
        result = subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", "--single-branch"]
            + ["--branch", source.ref, source.location, str(src_dir / "odoo")],
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if result.returncode:
            raise BootstrapError(f"git clone of {source} failed: {result.stdout}")
        return find_tree(src_dir / "odoo", what)
    if source.kind == "url":
        path = urllib.parse.urlsplit(source.location).path.lower()
        suffix = next(s for s in ARCHIVE_SUFFIXES if path.endswith(s))
        archive = src_dir / f"download{suffix}"
        _download(source.location, archive)
    else:
        archive = Path(source.location)
    say(f"   extracting {archive.name if source.kind == 'url' else archive}")
    _extract(archive, src_dir / "odoo")
    if source.kind == "url":
        archive.unlink()
    tree = find_tree(src_dir / "odoo", what)
    # Odoo's sdist (the nightly archive) has setup/odoo, the same launcher.
    if not (tree / "odoo-bin").exists() and (tree / "setup" / "odoo").is_file():
        shutil.copy(tree / "setup" / "odoo", tree / "odoo-bin")
    return tree


# ---------------------------------------------------------------- requirements


def requirement_name(line):
    """The normalised project name of a requirements line, or None."""
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
    return re.sub(r"[-_.]+", "-", match.group(0)).lower() if match else None


def _include_dirs():
    dirs = [os.environ.get(v, "") for v in ("CPATH", "C_INCLUDE_PATH")]
    dirs = [d for value in dirs for d in value.split(os.pathsep) if d]
    dirs += [sysconfig.get_config_var("INCLUDEDIR") or "", "/usr/include"]
    dirs += ["/usr/local/include", "/opt/homebrew/include"]
    dirs += ["/opt/homebrew/opt/openldap/include", "/usr/local/opt/openldap/include"]
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if multiarch:
        dirs.append(f"/usr/include/{multiarch}")
    return [Path(d) for d in dirs if d]


def build_environment():
    """What this machine can compile: the facts the requirements plan needs."""
    dirs = _include_dirs()

    def header(name):
        return any((d / name).is_file() for d in dirs)

    python_h = (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file()
    return {
        "ldap_headers": python_h
        and all(header(h) for h in ("ldap.h", "lber.h", "sasl/sasl.h")),
        "psycopg2_buildable": python_h and bool(shutil.which("pg_config")),
    }


def plan_odoo_requirements(lines, environment):
    """(lines to install, constraints lines, notes) for Odoo's requirements.txt."""
    install, notes = [], {}
    for line in lines:
        name = requirement_name(line)
        if name == "python-ldap" and not environment["ldap_headers"]:
            notes[name] = (
                "not installed: building it needs the LDAP and SASL headers "
                "(Debian/Ubuntu: apt-get install libldap2-dev libsasl2-dev; "
                f"the next run then adds it); {OPTIONAL[name]}"
            )
            continue
        if name == "psycopg2" and not environment["psycopg2_buildable"]:
            line = re.sub(r"^\s*psycopg2", "psycopg2-binary", line)
            notes[name] = (
                "installed as psycopg2-binary (same version): building psycopg2 "
                "needs pg_config and Python's headers (Debian/Ubuntu: libpq-dev "
                "python3-dev)"
            )
        install.append(line)
        if name == "gevent" and re.search(r"==\s*(1\d|2[0-2])\.", line):
            # gevent < 23 finds its plugins' requirements with pkg_resources,
            # which misses the normalised dist-info names (zope_interface-8.*)
            # of today's zope.interface and zope.event: patch_all() fails.
            marker = line.split("#", 1)[0].partition(";")[2].strip()
            suffix = f" ; {marker}" if marker else ""
            install += [f"zope.event<5{suffix}", f"zope.interface<7{suffix}"]
    # Odoo's exact pins hold for everything installed after it (test tools).
    constraints = [
        line.split("#", 1)[0].rstrip()
        for line in install
        if requirement_name(line) and re.search(r"==|<", line.split("#", 1)[0])
    ]
    return install, constraints, notes


def run_pip(python, args, log_path):
    """``python -m pip install *args``, its output appended to ``log_path``."""
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    command += ["--no-input", *args]
    with open(log_path, "a") as log:
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        return subprocess.run(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        ).returncode


def _log_tail(log_path, lines=30):
    try:
        text = Path(log_path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def _one_by_one(python, lines, constraints_file, pip, log_path, notes):
    """Install Odoo's requirements one at a time after the whole set failed."""
    for line in lines:
        name = requirement_name(line)
        if not name:
            continue
        requirement = line.split("#", 1)[0].strip()
        if pip(python, ["-c", str(constraints_file), requirement], log_path) == 0:
            continue
        if name in RETRY_UNPINNED and pip(python, [name], log_path) == 0:
            notes[name] = f"{requirement} failed to build: the latest {name} instead"
            continue
        if name in OPTIONAL:
            notes[name] = f"{requirement} failed to build: {OPTIONAL[name]}"
            continue
        if name == "psycopg2":
            binary = re.sub(r"^\s*psycopg2", "psycopg2-binary", requirement)
            if pip(python, [binary], log_path) == 0:
                notes[name] = f"{requirement} failed to build: psycopg2-binary instead"
                continue
        raise BootstrapError(
            f"installing Odoo's requirement {requirement} failed "
            f"(log: {log_path}):\n{_log_tail(log_path)}"
        )


def install_requirements(venv, tree, requirements, nodeps, pip):
    """Odoo's requirements, the suite's (constrained), the no-deps ones."""
    python = venv_python(venv)
    log_path = venv / LOG
    lines = (tree / "requirements.txt").read_text().splitlines()
    install, constraints, notes = plan_odoo_requirements(lines, build_environment())
    odoo_file = venv / "integration-odoo-requirements.txt"
    odoo_file.write_text("\n".join(install) + "\n")
    constraints_file = venv / "integration-odoo-constraints.txt"
    constraints_file.write_text("\n".join(constraints) + "\n")

    say(f"   pip: Odoo's requirements (log: {shown(log_path)})")
    if pip(python, ["-r", str(odoo_file)], log_path) != 0:
        say("   pip: the whole set failed, one by one now")
        _one_by_one(python, install, constraints_file, pip, log_path, notes)
    for path in requirements:
        say(f"   pip: {shown(path)} (within Odoo's pins)")
        if pip(python, ["-r", str(path), "-c", str(constraints_file)], log_path):
            raise BootstrapError(
                f"installing {path} with Odoo's pins as constraints failed "
                f"(log: {log_path}):\n{_log_tail(log_path)}"
            )
    for path in nodeps:
        say(f"   pip: {shown(path)} (--no-deps)")
        if pip(python, ["--no-deps", "-r", str(path)], log_path):
            raise BootstrapError(
                f"installing {path} failed (log: {log_path}):\n{_log_tail(log_path)}"
            )
    return notes


# ---------------------------------------------------------------- the venv


def _python_identity():
    return {
        "python": os.path.realpath(sys.executable),
        "python_version": ".".join(str(v) for v in sys.version_info[:3]),
    }


def read_stamp(venv):
    try:
        stamp = json.loads((Path(venv) / STAMP).read_text())
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def _write_stamp(venv, stamp):
    path = Path(venv) / STAMP
    path.with_suffix(".tmp").write_text(json.dumps(stamp, indent=2) + "\n")
    path.with_suffix(".tmp").replace(path)


def requirement_hashes(tree, requirements, nodeps):
    """Hashes of the requirement files and of what is installed of Odoo's on
    this machine (it changes with bootstrap.py or, e.g., new LDAP headers)."""
    hashes = {shown(p): _file_hash(p) for p in (*requirements, *nodeps)}
    odoo_requirements = Path(tree) / "requirements.txt"
    hashes["odoo:requirements.txt"] = _file_hash(odoo_requirements)
    try:
        lines = odoo_requirements.read_text().splitlines()
    except OSError:
        lines = []
    install, constraints, _notes = plan_odoo_requirements(lines, build_environment())
    plan = "\n".join([*install, "--", *constraints]).encode()
    hashes["odoo:install-plan"] = hashlib.sha256(plan).hexdigest()
    return hashes


def stale_reason(stamp, venv, wanted, requirements, nodeps):
    """None when the venv can be used as it is, else why it must be (re)built."""
    if stamp is None:
        return "first run" if not Path(venv).exists() else "no stamp"
    if stamp.get("format") != STAMP_FORMAT or stamp.get("state") != "ready":
        return "its last setup did not finish"
    if stamp.get("python") != _python_identity()["python"]:
        return f"it was made with another Python ({stamp.get('python')})"
    if stamp.get("python_version") != _python_identity()["python_version"]:
        return f"its Python was {stamp.get('python_version')}"
    if wanted is not None and stamp.get("source") != wanted.key:
        return f"ODOO_SRC changed (it was built from {stamp.get('source')})"
    if not venv_python(venv).exists():
        return f"{shown(venv_python(venv))} is missing"
    tree = Path(stamp.get("odoo_tree", ""))
    if not (tree / "odoo" / "release.py").is_file():
        return f"its Odoo tree {tree} is missing"
    hashes = requirement_hashes(tree, requirements, nodeps)
    changed = [
        k for k, v in hashes.items() if stamp.get("requirements", {}).get(k) != v
    ]
    if changed:
        return f"{', '.join(changed)} changed"
    return None


@contextlib.contextmanager
def _locked(venv):
    """One setup at a time (two commands started on a fresh clone)."""
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
    except ImportError:
        yield
        return
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_name(venv.name + ".lock"), "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"   another command is setting up {shown(venv)}: waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _create_venv(venv):
    command = [sys.executable, "-m", "venv"]
    if not VENV_WITH_PIP:
        command.append("--without-pip")
    result = subprocess.run(
        [*command, str(venv)], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if result.returncode:
        raise BootstrapError(
            f"{sys.executable} -m venv {venv} failed (Debian/Ubuntu: apt-get "
            f"install python3-venv):\n{(result.stderr or result.stdout).strip()}"
        )


def _link_odoo(venv, tree):
    """Put ``tree`` on the venv's sys.path with a .pth file (see the docstring)."""
    result = subprocess.run(
        [str(venv_python(venv)), "-c"]
        + ["import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    site = Path(result.stdout.strip())
    site.mkdir(parents=True, exist_ok=True)
    (site / "integration-odoo.pth").write_text(f"{tree}\n")


def _verify(venv, tree, notes):
    """Odoo must import from ``tree`` in the venv; gevent should."""
    python = str(venv_python(venv))
    result = subprocess.run(
        [python, "-c", "import odoo.release; print(odoo.__file__)"],
        capture_output=True,
        text=True,
    )
    found = result.stdout.strip()
    if result.returncode or not found:
        raise BootstrapError(
            f"the new venv cannot import Odoo (log: {venv / LOG}):\n"
            + "\n".join(result.stderr.strip().splitlines()[-15:])
        )
    if Path(found).resolve() != (tree / "odoo" / "__init__.py").resolve():
        raise BootstrapError(f"the new venv imports another Odoo: {found}")
    # what Odoo's websocket process does first (and scripts/run.py checks)
    check = "import gevent.monkey; gevent.monkey.patch_all()"
    if subprocess.run([python, "-c", check], capture_output=True).returncode:
        notes.setdefault("gevent", f"gevent cannot be loaded: {OPTIONAL['gevent']}")


def _keep_fetched_tree(stamp, venv, wanted):
    """The tree a previous setup fetched into the venv, when it can serve again
    (same ODOO_SRC, or none given)."""
    if not stamp or not stamp.get("odoo_tree") or not stamp.get("source"):
        return None
    if wanted is not None and wanted.key != stamp["source"]:
        return None
    tree = Path(stamp["odoo_tree"])
    if venv / "src" not in tree.parents or not (tree / "odoo" / "release.py").is_file():
        return None
    return tree


def _previous_source(stamp):
    """The local tree or archive a previous setup used, when still there."""
    kind, _, rest = (stamp or {}).get("source", "").partition(":")
    if kind == "tree" and (Path(rest) / "odoo" / "release.py").is_file():
        return Source("tree", rest)
    if kind == "archive" and Path(rest.rsplit(":", 2)[0]).is_file():
        return Source("archive", rest.rsplit(":", 2)[0])
    return None


def _offline():
    return os.environ.get("INTEGRATION_OFFLINE", "") not in ("", "0")


def _sources(stamp, venv, wanted):
    """(kept tree, sources to try): decided before anything is removed, so
    that a machine with no source at all fails at once."""
    kept = _keep_fetched_tree(stamp, venv, wanted)
    if kept:
        return kept, []
    if wanted:
        return None, [wanted]
    previous = _previous_source(stamp)
    if previous:
        return None, [previous]
    return None, official_sources(_offline())


def _build(venv, stamp, reason, kept, sources, requirements, nodeps, pip):
    started = time.monotonic()
    say(f"== setting up Odoo {ODOO_MAJOR} in {shown(venv)} ({reason})")
    aside = venv.with_name(venv.name + ".src")
    if kept:
        if aside.exists():
            shutil.rmtree(aside)
        (venv / "src").rename(aside)
    if venv.exists():
        shutil.rmtree(venv)
    _create_venv(venv)
    new = {"format": STAMP_FORMAT, "state": "building", **_python_identity()}
    _write_stamp(venv, new)
    if kept:
        aside.rename(venv / "src")
        tree, source_key = kept, stamp["source"]
        say(f"   Odoo: {tree} (kept from the previous setup)")
    else:
        errors = []
        for source in sources:
            say(f"   Odoo from {source}")
            try:
                tree = fetch(source, venv / "src")
            except BootstrapError as exc:
                errors.append(str(exc))
                continue
            source_key = source.key
            break
        else:
            shutil.rmtree(venv, ignore_errors=True)
            raise BootstrapError("\n".join(errors))
    new.update(source=source_key, odoo_tree=str(tree))
    _write_stamp(venv, new)  # a rerun after an interruption keeps the tree
    _link_odoo(venv, tree)
    notes = install_requirements(venv, tree, requirements, nodeps, pip)
    _verify(venv, tree, notes)
    version = odoo_version(tree)
    new.update(
        state="ready",
        odoo_version=".".join(str(v) for v in version[:2]),
        requirements=requirement_hashes(tree, requirements, nodeps),
        notes=notes,
        built=datetime.datetime.now().isoformat(timespec="seconds"),
        seconds=round(time.monotonic() - started),
    )
    _write_stamp(venv, new)
    for name, note in sorted(notes.items()):
        say(f"!! {name}: {note}")
    say(f"== {shown(venv)} ready in {new['seconds']}s (Odoo from {tree})")
    return new


def ensure(venv=None, odoo_src=None, requirements=None, nodeps=None, pip=None):
    """A venv with Odoo 17 and every requirement: reused when its stamp
    matches, else (re)built. Returns a :class:`Result`; raises
    :class:`BootstrapError` at once when no source of Odoo is available.

    ``odoo_src`` defaults to ``$ODOO_SRC`` ("" means unset), ``pip`` to
    :func:`run_pip` (tests pass a stand-in).
    """
    venv = Path(venv or default_venv()).absolute()
    if odoo_src is None:
        odoo_src = os.environ.get("ODOO_SRC", "")
    requirements = tuple(SUITE_REQUIREMENTS if requirements is None else requirements)
    nodeps = tuple(SUITE_REQUIREMENTS_NODEPS if nodeps is None else nodeps)
    pip = pip or run_pip
    wanted = parse_source(odoo_src) if odoo_src else None

    stamp = read_stamp(venv)
    reason = stale_reason(stamp, venv, wanted, requirements, nodeps)
    if reason is None:
        say(
            f"== Odoo {stamp.get('odoo_version')} from {shown(venv)} "
            f"(set up {stamp.get('built')}; make clean-venv removes it)"
        )
        return Result(venv_python(venv), venv, False, stamp)
    if stamp is None and venv.exists() and any(venv.iterdir()):
        raise BootstrapError(
            f"{venv} exists but was not made by this command (no {STAMP}): "
            "remove it, set INTEGRATION_VENV to another folder, or run with "
            f"PYTHON={venv_python(venv)} if it imports Odoo 17"
        )
    if sys.version_info < (3, 10):  # noqa: UP036 - the user's Python, not ours
        raise BootstrapError(
            f"Odoo {ODOO_MAJOR} needs Python 3.10 or later, {sys.executable} is "
            f"{sys.version.split()[0]} (choose another with PYTHON=...)"
        )
    _sources(stamp, venv, wanted)  # fails at once when there is none
    with _locked(venv):
        stamp = read_stamp(venv)  # another command may have just built it
        reason = stale_reason(stamp, venv, wanted, requirements, nodeps)
        if reason is None:
            return Result(venv_python(venv), venv, False, stamp)
        kept, sources = _sources(stamp, venv, wanted)
        new = _build(venv, stamp, reason, kept, sources, requirements, nodeps, pip)
    return Result(venv_python(venv), venv, True, new)


def clean(venv=None):
    """Remove the venv this command made (never a folder it did not make)."""
    venv = Path(venv or default_venv()).absolute()
    for leftover in (venv.with_name(venv.name + s) for s in (".lock", ".src")):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        elif leftover.exists():
            leftover.unlink()
    if not venv.exists():
        say(f"{shown(venv)}: nothing to remove")
        return True
    if read_stamp(venv) is None and any(venv.iterdir()):
        say(f"{venv} was not made by this command (no {STAMP}): left alone")
        return False
    shutil.rmtree(venv)
    say(f"{shown(venv)} removed")
    return True


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["clean"]:
        return 0 if clean() else 1
    if argv == ["setup"]:
        try:
            result = ensure()
        except BootstrapError as exc:
            print(f"\n*** {exc}", file=sys.stderr)
            return 2
        say(str(result.python))
        return 0
    print("usage: bootstrap.py setup|clean", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
