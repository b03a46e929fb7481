"""Find an installed Odoo 17 and a PostgreSQL server for the project's commands.

Shared by ``scripts/test.py`` (``make test``) and ``scripts/run.py``
(``make run``). Plain Python: it must run before anything else is installed and
explain how to provide Odoo when it cannot find it.
"""

import atexit
import getpass
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ADDONS_DIR = REPO / "addons"

HOW_TO_PROVIDE_ODOO = """\
Odoo 17 cannot be imported by {python}.

Provide it in one of the usual ways, then run the command again:
  * Docker:  docker compose run --rm odoo make test
             (the official odoo:17 image with this repository mounted, see README.md)
  * Source:  git clone --depth 1 --branch 17.0 https://github.com/odoo/odoo /opt/odoo17
             pip install -r /opt/odoo17/requirements.txt
             pip install /opt/odoo17        # or put /opt/odoo17 on sys.path
  * A packaged Odoo 17 (the .deb from nightly.odoo.com) also works.
Check with:  python3 -c "import odoo; print(odoo.__file__)"
It must print Odoo's own odoo/__init__.py (queue_job's wheel creates an empty
site-packages/odoo/addons folder that can hide an editable install).
"""


def fail(message, code=2):
    print(f"\n*** {message}", file=sys.stderr)
    sys.exit(code)


def require_odoo17():
    """Return the imported ``odoo`` package or stop with instructions."""
    try:
        import odoo  # noqa: PLC0415
        import odoo.release  # noqa: PLC0415
    except ImportError:
        fail(HOW_TO_PROVIDE_ODOO.format(python=sys.executable))
    if not getattr(odoo, "__file__", None):
        fail(
            "'import odoo' found only a namespace folder, not Odoo itself:\n"
            + HOW_TO_PROVIDE_ODOO.format(python=sys.executable)
        )
    if odoo.release.version_info[0] != 17:
        fail(
            f"Odoo {odoo.release.version} found at {odoo.__file__}, "
            "this suite needs Odoo 17.\n"
            + HOW_TO_PROVIDE_ODOO.format(python=sys.executable)
        )
    return odoo


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


def _free_port():
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
    port = _free_port()
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
