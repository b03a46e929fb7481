"""The test command (``make test``): every test of the suite in real Odoo 17.

1. stop at once, with instructions, when Odoo 17 cannot be imported;
2. install the Python requirements (queue_job without its ``odoo`` dependency);
3. find PostgreSQL (or start a private one), create a fresh database, install
   every addon of ``addons/`` without demo data;
4. lint (ruff, pylint-odoo), then run pytest-odoo over every addon's tests, the
   top-level ``tests/`` and the sandbox's tests; pytest's summary line is last;
5. drop the database it made. Exit status is non-zero on any failure.

Options: ``--keep-db`` keeps the database; ``--no-pip`` skips step 2;
``--no-lint`` skips step 4's linters; ``--tests PATH`` (repeatable) runs only
those test folders or files instead of all of them; extra arguments after
``--`` go to pytest (e.g. ``-- -k webhook``). Each run serves HTTP on a free
port of its own, so that several runs can share a machine.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import uuid

from odoo_env import (
    REPO,
    fail,
    free_port,
    odoo_addons_path,
    odoo_command,
    postgres_connection,
    project_addons,
    require_odoo17,
    write_config,
)

TEST_DIRS = ["tests", "sandbox/tests"]


def pip_install():
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REPO / "requirements.txt")], check=True)
    # queue_job's wheel depends on "odoo", which no package index serves.
    subprocess.run(
        [*pip, "--no-deps", "-r", str(REPO / "requirements-nodeps.txt")], check=True
    )


def lint():
    """Return True when ruff and pylint-odoo are clean."""
    print("== lint", flush=True)
    python = [sys.executable, "-m"]
    checks = [
        [*python, "ruff", "check", "."],
        [*python, "ruff", "format", "--check", "--quiet", "."],
        [
            *python,
            "pylint",
            "--rcfile",
            ".pylintrc",
            *sorted(
                str(p)
                for p in (REPO / "addons").iterdir()
                if (p / "__manifest__.py").exists()
            ),
        ],
    ]
    ok = True
    for check in checks:
        result = subprocess.run(check, cwd=REPO)
        ok = ok and result.returncode == 0
    print(
        "== lint:",
        "clean" if ok else "FAILED (the tests still run; the exit status will be 1)",
        flush=True,
    )
    return ok


def create_database(config, dbname, addons):
    print(f"== installing {', '.join(addons)} into fresh database {dbname}", flush=True)
    result = subprocess.run(
        odoo_command(
            "-c",
            config,
            "-d",
            dbname,
            "-i",
            ",".join(addons),
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
            "--max-cron-threads=0",
        ),
        cwd=REPO,
        stderr=subprocess.STDOUT,
        stdout=subprocess.PIPE,
        text=True,
    )
    output = result.stdout
    # Odoo logs a failed module load as an ERROR/CRITICAL and may still exit 0.
    failed = result.returncode != 0 or any(
        f" {level} {dbname} " in line
        for line in output.splitlines()
        for level in ("ERROR", "CRITICAL")
    )
    if failed:
        print(output, file=sys.stderr)
        fail(f"installing the addons failed (Odoo's log above); database {dbname}")
    print(output, end="", flush=True)


def database_exists(dbname, host, port, user):
    import psycopg2  # noqa: PLC0415

    conn = psycopg2.connect(host=host, port=port, user=user, dbname="postgres")
    with conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
        found = bool(cr.fetchone())
    conn.close()
    return found


def drop_database(dbname, host, port, user):
    import psycopg2  # noqa: PLC0415

    conn = psycopg2.connect(host=host, port=port, user=user, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (dbname,),
        )
        cr.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
    conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--no-pip", action="store_true")
    parser.add_argument("--no-lint", action="store_true")
    parser.add_argument(
        "--tests",
        action="append",
        metavar="PATH",
        help="run only these test folders or files (repeatable)",
    )
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()

    odoo = require_odoo17()
    # INTEGRATION_NO_PIP=1: the requirements are installed (the venv, the
    # Docker image with its test tools); 0 or unset: install them.
    if not args.no_pip and os.environ.get("INTEGRATION_NO_PIP", "0") in ("", "0"):
        pip_install()
    host, port, user = postgres_connection()
    addons = project_addons()
    if not addons:
        fail("no addon found under addons/")

    dbname = f"integration_test_{uuid.uuid4().hex[:10]}"
    while database_exists(dbname, host, port, user):  # never touch someone's db
        dbname = f"integration_test_{uuid.uuid4().hex[:10]}"
    tmp = tempfile.mkdtemp(prefix="integration-test-")
    config = write_config(
        f"{tmp}/odoo.conf",
        host,
        port,
        user,
        odoo_addons_path(odoo),
        data_dir=f"{tmp}/data",
        db_name=dbname,
        list_db="False",
        http_port=free_port(),
    )
    with open(config, "a") as handle:
        # Tests run their jobs themselves; queue_job's runner (which starts
        # with the test HTTP server) must not race them on committed data.
        handle.write("\n[queue_job]\nchannels = root:0\n")
    lint_ok = True
    try:
        create_database(config, dbname, addons)
        if not args.no_lint:
            lint_ok = lint()
        test_paths = args.tests or [f"addons/{name}/tests" for name in addons]
        if not args.tests:
            test_paths += [d for d in TEST_DIRS if (REPO / d).is_dir()]
        print("== tests", flush=True)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                f"--odoo-config={config}",
                f"--odoo-database={dbname}",
                "--odoo-http",
                "-p",
                "no:cacheprovider",
                "-q",
                *test_paths,
                *args.pytest_args,
            ],
            cwd=REPO,
            env={
                **os.environ,
                "INTEGRATION_TEST_ODOO_CONFIG": config,
                # the server found above, for tests that start the scripts
                # (tests/test_run_script.py): not a second private one
                "PGHOST": host,
                "PGPORT": str(port),
                "PGUSER": user,
                # queue_job reads it before the configuration file
                "ODOO_QUEUE_JOB_CHANNELS": "root:0",
            },
        )
        tests_ok = result.returncode == 0
    finally:
        if not args.keep_db:
            drop_database(dbname, host, port, user)
        else:
            print(f"(database {dbname} kept, config {config})", file=sys.stderr)
    # Nothing is printed after pytest: its summary line ends the output.
    sys.exit(0 if (tests_ok and lint_ok) else 1)


if __name__ == "__main__":
    main()
