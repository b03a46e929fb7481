"""Find Odoo 17 and a PostgreSQL server for the project's commands.

Shared by ``scripts/test.py`` (``make test``) and ``scripts/run.py``
(``make run``). Plain Python: it must run before anything else is installed.
When the running Python (``PYTHON``, default ``python3``) cannot import Odoo
17, ``scripts/bootstrap.py`` sets up (or reuses) the project's ``.venv/`` with
Odoo 17 and the command runs again under that venv's Python; when that is not
possible either, it explains how to provide Odoo.
"""

import atexit
import getpass
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import bootstrap

REPO = Path(__file__).resolve().parent.parent
ADDONS_DIR = REPO / "addons"
# Set in the command run again under the venv's Python (no second bootstrap).
BOOTSTRAPPED = "INTEGRATION_BOOTSTRAPPED"

HOW_TO_PROVIDE_ODOO = """\
Odoo 17 cannot be imported by {python}{problem}.
{reason}
Provide it in one of these ways, then run the command again:
  * ODOO_SRC: where to take Odoo 17 from (instead of its official source);
    the command installs it into .venv/ with its requirements:
      make test ODOO_SRC=~/src/odoo          a local Odoo 17 tree, e.g. from
        git clone --depth 1 --branch 17.0 https://github.com/odoo/odoo ~/src/odoo
      make test ODOO_SRC=odoo_17.0.latest.tar.gz   a source archive, from
        https://nightly.odoo.com/17.0/nightly/src/
      make test ODOO_SRC=https://host/odoo.git#17.0   a git URL (and branch)
  * PYTHON: a Python that imports Odoo 17 already, used as it is:
      make test PYTHON=/path/to/python3
  * Docker:  docker compose run --rm odoo make test
             (the official odoo:17 image with this repository mounted, see README.md)
  * A packaged Odoo 17 (the .deb from nightly.odoo.com) also works.
Check with:  python3 -c "import odoo; print(odoo.__file__)"
It must print Odoo's own odoo/__init__.py (queue_job's wheel creates an empty
site-packages/odoo/addons folder that can hide an editable install).
"""


def fail(message, code=2):
    print(f"\n*** {message}", file=sys.stderr)
    sys.exit(code)


def import_odoo17():
    """(odoo, None) when this Python imports Odoo 17, else (None, what is wrong)."""
    try:
        import odoo  # noqa: PLC0415
        import odoo.release  # noqa: PLC0415
    except ImportError as exc:
        return None, f" ({exc})"
    if not getattr(odoo, "__file__", None):
        return None, " ('import odoo' finds only a namespace folder, not Odoo itself)"
    if odoo.release.version_info[0] != 17:
        return None, f" (it finds Odoo {odoo.release.version} at {odoo.__file__})"
    return odoo, None


def _run_again_in(result):
    """Replace this process by the same command under the venv's Python."""
    python = str(result.python)
    bindir = str(result.python.parent)
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env.update(
        VIRTUAL_ENV=str(result.venv),
        PATH=bindir + os.pathsep + env.get("PATH", ""),
        # the stamp says the venv holds every requirement: no pip step
        INTEGRATION_NO_PIP="1",
    )
    env[BOOTSTRAPPED] = str(result.venv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(python, [python, os.path.abspath(sys.argv[0]), *sys.argv[1:]], env)


def require_odoo17(ensure=None):
    """Return the imported ``odoo`` package. Without Odoo 17 in this Python,
    run the command again in the project's venv (set up when needed: see
    scripts/bootstrap.py), or stop with instructions."""
    odoo, problem = import_odoo17()
    if odoo is not None:
        return odoo
    message = HOW_TO_PROVIDE_ODOO.format
    venv = os.environ.get(BOOTSTRAPPED)
    if venv:
        fail(
            message(
                python=sys.executable,
                problem=problem,
                reason=f"It is the Python of {venv}, which this command set up: "
                "remove it (make clean-venv) and run the command again.\n",
            )
        )
    try:
        result = (ensure or bootstrap.ensure)()
    except bootstrap.BootstrapError as exc:
        fail(
            message(
                python=sys.executable,
                problem=problem,
                reason="No virtual environment with Odoo 17 could be set up "
                "either:\n" + textwrap.indent(str(exc), "  ") + "\n",
            )
        )
    _run_again_in(result)


def odoo_addons_path(odoo):
    """Addons folders: ours first, then Odoo's (source tree or packaged)."""
    paths = [ADDONS_DIR]
    for entry in list(odoo.addons.__path__):
        paths.append(Path(entry))
    # A source checkout keeps the community addons beside the odoo package.
    source_addons = Path(odoo.__file__).resolve().parent.parent / "addons"
    if (source_addons / "sale").is_dir():
        paths.append(source_addons)
    extra = os.environ.get("ODOO_ADDONS_PATH")
    if extra:
        paths.extend(Path(p) for p in extra.split(",") if p)
    seen, result = set(), []
    for path in paths:
        key = str(path.resolve())
        if path.is_dir() and key not in seen:
            seen.add(key)
            result.append(key)
    return ",".join(result)


def project_addons():
    """Every addon of this repository (a folder with a manifest)."""
    return sorted(p.parent.name for p in ADDONS_DIR.glob("*/__manifest__.py"))


def _answers(host, port, user):
    import psycopg2  # noqa: PLC0415

    try:
        conn = psycopg2.connect(
            host=host, port=port, user=user, dbname="postgres", connect_timeout=3
        )
    except psycopg2.OperationalError:
        return False
    conn.close()
    return True


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _throwaway_cluster():
    """Start a private PostgreSQL in a temporary folder; removed at exit."""
    bindir = None
    for candidate in [os.environ.get("PG_BINDIR")] + sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), reverse=True
    ):
        if candidate and (Path(candidate) / "initdb").exists():
            bindir = Path(candidate)
            break
    if bindir is None and shutil.which("initdb"):
        bindir = Path(shutil.which("initdb")).parent
    if bindir is None:
        return None
    folder = tempfile.mkdtemp(prefix="integration-pg-")
    port = free_port()
    user = getpass.getuser()
    # PostgreSQL refuses to run as root: run the server as 'postgres' then,
    # with a superuser named like us so that trust authentication lets us in.
    as_server_user = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_server_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_server_user, bindir / "initdb", "-D", folder + "/data", "-U", user]
        + ["-A", "trust"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [
            *as_server_user,
            bindir / "pg_ctl",
            "-D",
            folder + "/data",
            "-l",
            folder + "/log",
            "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
            "-w",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )

    def stop():
        subprocess.run(
            [*as_server_user, bindir / "pg_ctl", "-D", folder + "/data"]
            + ["-m", "fast", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    return "127.0.0.1", port, user


def postgres_connection():
    """(host, port, user): PG* variables, else 127.0.0.1:5432, else a private one."""
    host = os.environ.get("PGHOST") or "127.0.0.1"
    port = int(os.environ.get("PGPORT") or 5432)
    user = os.environ.get("PGUSER") or getpass.getuser()
    for _attempt in range(3):
        if _answers(host, port, user):
            return host, port, user
        time.sleep(1)
    cluster = _throwaway_cluster()
    if cluster:
        print(f"PostgreSQL did not answer on {host}:{port}; started a private one.")
        return cluster
    fail(
        f"PostgreSQL does not answer on {host}:{port} (user {user}) and no "
        "PostgreSQL binaries were found to start one. Set PGHOST/PGPORT/PGUSER."
    )


def write_config(path, db_host, db_port, db_user, addons_path, **options):
    lines = [
        "[options]",
        f"addons_path = {addons_path}",
        f"db_host = {db_host}",
        f"db_port = {db_port}",
        f"db_user = {db_user}",
        f"db_password = {os.environ.get('PGPASSWORD', 'False')}",
    ]
    lines += [f"{key} = {value}" for key, value in options.items()]
    Path(path).write_text("\n".join(lines) + "\n")
    return path


def odoo_command(*args):
    """Odoo's own command line with this Python: ``odoo-bin`` of a source tree
    or the packaged ``odoo`` script (a server restarts itself by re-running
    its own argv, which ``python -m odoo`` cannot do)."""
    import odoo  # noqa: PLC0415

    candidates = [Path(odoo.__file__).resolve().parent.parent / "odoo-bin"]
    if shutil.which("odoo"):
        candidates.append(Path(shutil.which("odoo")))
    for candidate in candidates:
        if candidate.is_file():
            return [sys.executable, str(candidate), *args]
    return [sys.executable, "-m", "odoo", *args]
