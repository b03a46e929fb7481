"""The Docker files, read without Docker: every address a container uses
names a service of docker-compose.yml, the start-up never installs over
installed modules, versions are pinned in one place each, and the channel
capacities leave HTTP workers free."""

import configparser
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
URL = re.compile(r"https?://[^\s'\"]+")
LOCAL = {"localhost", "127.0.0.1", "0.0.0.0", "::1"}


def strings(value, path=()):
    """Every string of a parsed YAML value, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, (*path, str(index)))
    elif isinstance(value, str):
        yield path, value


def container_ports(name):
    """The ports a service's container listens on (expose, ports, Dockerfile)."""
    service = SERVICES[name]
    ports = {int(str(p).split("/")[0]) for p in service.get("expose", [])}
    for mapping in service.get("ports", []):
        ports.add(int(str(mapping).split(":")[-1].split("/")[0]))
    dockerfile = service.get("build", {}).get("dockerfile")
    if dockerfile:
        for line in (REPO / dockerfile).read_text().splitlines():
            if line.startswith("EXPOSE"):
                ports.update(int(p.split("/")[0]) for p in line.split()[1:])
    return ports


def used_urls():
    """(service, where, url) for every URL in a container's command or
    environment. Healthchecks are left out: they probe their own container,
    where localhost is right."""
    for name, service in SERVICES.items():
        for key in ("command", "entrypoint", "environment"):
            for path, text in strings(service.get(key, ()), (key,)):
                for url in URL.findall(text):
                    yield name, ".".join(path), url


def test_every_url_a_container_uses_names_a_service():
    urls = list(used_urls())
    assert urls, "the connect step's addresses are in its command"
    for name, where, url in urls:
        parts = urlsplit(url)
        host = parts.hostname
        assert host not in LOCAL, f"{name} {where}: {url} is the container itself"
        assert host in SERVICES, f"{name} {where}: {url} names no service"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        assert port in container_ports(host), f"{name} {where}: {host} has no {port}"


def test_the_proxy_routes_to_odoo_and_its_websocket_process():
    conf = (REPO / "docker" / "proxy" / "nginx.conf").read_text()
    mount = next(v for v in SERVICES["proxy"]["volumes"] if "nginx.conf" in v)
    assert mount.split(":")[0] == "./docker/proxy/nginx.conf"
    upstreams = dict(
        re.findall(r"upstream (\w+) \{\s*server ([\w.-]+:\d+);", conf, re.M)
    )
    for address in upstreams.values():
        host, port = address.split(":")
        assert host in SERVICES and int(port) in container_ports(host)
    odoo_conf = configparser.ConfigParser()
    odoo_conf.read(REPO / "docker" / "odoo" / "odoo.conf")
    options = odoo_conf["options"]
    assert options.getboolean("proxy_mode")
    websocket = re.search(r"location /websocket \{(.*?)\}", conf, re.S).group(1)
    target = re.search(r"proxy_pass http://(\w+);", websocket).group(1)
    assert upstreams[target] == f"odoo:{options['gevent_port']}"
    assert "Upgrade $http_upgrade" in websocket
    rest = re.search(r"location / \{(.*?)\}", conf, re.S).group(1)
    target = re.search(r"proxy_pass http://(\w+);", rest).group(1)
    assert upstreams[target] == f"odoo:{options['http_port']}"
    # the browser's one address is the proxy's
    assert "127.0.0.1:8069:8069" in SERVICES["proxy"]["ports"]
    assert "ports" not in SERVICES["odoo"]


def test_the_webhook_base_url_is_odoos_address_in_the_network():
    command = SERVICES["connect"]["command"]
    assert command[:3] == ["python3", "scripts/run.py", "--connect-only"]
    options = dict(arg.split("=", 1) for arg in command if "=" in arg)
    assert urlsplit(options["--webhook-base-url"]).hostname == "odoo"
    assert urlsplit(options["--odoo-url"]).hostname == "odoo"
    assert urlsplit(options["--sandbox-url"]).hostname == "sandbox"
    assert options["--db"] == SERVICES["odoo"]["environment"]["ODOO_DATABASE"]
    assert SERVICES["connect"]["restart"] == "no"  # one-shot
    for needed in ("odoo", "sandbox"):
        assert SERVICES["connect"]["depends_on"][needed] == {
            "condition": "service_healthy"
        }


def test_the_start_up_updates_and_never_installs_over_installed_modules():
    start = (REPO / "docker" / "odoo" / "start.sh").read_text()
    assert "scripts/run.py --init-only" in start
    code = [line for line in start.splitlines() if not line.startswith("#")]
    install = re.compile(r"\s(-i|-u|--init|--update)(?![\w-])")
    assert not any(install.search(line) for line in code)
    assert SERVICES["odoo"]["command"] == ["integration-start"]
    dockerfile = (REPO / "docker" / "odoo" / "Dockerfile").read_text()
    assert "docker/odoo/start.sh /usr/local/bin/integration-start" in dockerfile
    # no glob over a folder that exists only with a bind mount
    assert "/mnt/extra-addons/*" not in yaml.safe_dump(COMPOSE)


def test_postgres_is_ready_when_it_answers_over_tcp():
    test = " ".join(SERVICES["db"]["healthcheck"]["test"])
    assert "pg_isready -h 127.0.0.1" in test
    ci = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    assert "pg_isready -h 127.0.0.1" in ci


def test_images_and_python_versions_are_pinned_in_one_place():
    dockerfile = (REPO / "docker" / "odoo" / "Dockerfile").read_text()
    image = re.search(r"^ARG ODOO_IMAGE=(\S+)$", dockerfile, re.M).group(1)
    assert re.fullmatch(r"odoo:17\.0-\d{8}(@sha256:[0-9a-f]{64})?", image)
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    assert ci["jobs"]["test"]["container"]["image"] == image
    # lint on the Python of the image (jammy's 3.10), like the sandbox image
    setup = next(
        step
        for step in ci["jobs"]["lint"]["steps"]
        if step.get("uses", "").startswith("actions/setup-python")
    )
    assert setup["with"]["python-version"] == "3.10"
    sandbox = (REPO / "docker" / "sandbox" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.10\.\d+-slim-\w+$", sandbox, re.M)
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+-alpine", SERVICES["proxy"]["image"])
    ruff = (REPO / "ruff.toml").read_text()
    assert 'target-version = "py310"' in ruff


def requirement_lines(path):
    lines = []
    for line in (REPO / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def test_requirements_declare_what_the_code_needs_and_pin_the_tools():
    runtime = requirement_lines("requirements-runtime.txt")
    assert "jsonschema>=4.0" in runtime  # Draft202012Validator
    full = requirement_lines("requirements.txt")
    assert "-r requirements-runtime.txt" in full
    assert "-r sandbox/requirements.txt" in full
    for tool in ("pylint-odoo", "pylint", "ruff", "pytest-odoo"):
        assert any(re.fullmatch(rf"{tool}==[\d.]+", line) for line in full), tool


def test_dockerfiles_read_the_requirements_files():
    for path in ("docker/odoo/Dockerfile", "docker/sandbox/Dockerfile"):
        text = (REPO / path).read_text()
        installs = re.findall(r"pip3? install[^\n\\]*", text)
        assert installs, path
        for install in installs:
            assert " -r " in install, f"{path}: {install}"
            assert not re.search(r"[<>=]=", install), f"{path}: {install}"


def test_no_pip_is_said_only_when_the_test_tools_are_in_the_image():
    dockerfile = (REPO / "docker" / "odoo" / "Dockerfile").read_text()
    assert "ENV INTEGRATION_NO_PIP=${TEST_TOOLS}" in dockerfile
    assert "INTEGRATION_NO_PIP=1" not in dockerfile
    test_script = (REPO / "scripts" / "test.py").read_text()
    assert 'os.environ.get("INTEGRATION_NO_PIP", "0") in ("", "0")' in test_script


def test_the_build_context_leaves_out_local_state():
    ignored = set(requirement_lines(".dockerignore"))
    for entry in (".git", "var", ".venv", "**/__pycache__", ".ruff_cache"):
        assert entry in ignored, entry


def root_capacity(channels):
    return int(re.match(r"\s*root:(\d+)", channels).group(1))


@pytest.mark.parametrize("path", ["docker/odoo/odoo.conf", "odoo.conf.example"])
def test_jobs_leave_an_http_worker_free(path):
    conf = configparser.ConfigParser()
    conf.read(REPO / path)
    workers = conf["options"].getint("workers")
    root = root_capacity(conf["queue_job"]["channels"])
    assert 1 <= root <= workers - 1, f"{path}: root:{root} with {workers} workers"
    channels = dict(
        item.split(":") for item in conf["queue_job"]["channels"].split(",")
    )
    assert all(int(capacity) <= root for capacity in channels.values())
