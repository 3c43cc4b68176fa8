"""The ways of running Waihu stay in step: the Procfile (`make run`), the systemd units and
docker-compose.yml run the same workers on the same queues, every queue has a worker, and
there is exactly one beat."""

import configparser
import re
import shlex
from pathlib import Path

import yaml
from django.conf import settings

from config.queues import queue_names

ROOT = Path(settings.BASE_DIR)
DEPLOY = ROOT / "deploy"
PREFIX = "celery"


def _expand(text: str) -> str:
    return re.sub(r"\$\{WAIHU_CELERY_QUEUE(?::-celery)?\}", PREFIX, text)


def _role(argv: list[str]) -> tuple[str, frozenset[str]] | None:
    """("worker", its queues) or ("beat", ()) for a celery command line; None otherwise."""
    argv = [_expand(arg) for arg in argv]
    if not any(Path(arg).name == "celery" for arg in argv[:1]) or "-A" not in argv:
        return None
    if "beat" in argv:
        return "beat", frozenset()
    assert "worker" in argv
    queues = argv[argv.index("--queues") + 1]
    return "worker", frozenset(queues.split(","))


def _procfile() -> dict[str, tuple]:
    roles = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _sep, command = line.partition(":")
        role = _role(shlex.split(command))
        if role:
            roles[name.strip()] = role
    return roles


def _units() -> dict[str, tuple]:
    roles = {}
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        unit = configparser.ConfigParser(interpolation=None, strict=False)
        unit.read_string(path.read_text())
        command = unit["Service"]["ExecStart"].replace("%%", "%")
        role = _role(shlex.split(command))
        if role:
            roles[path.stem] = role
    return roles


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def _workers(roles: dict) -> list[frozenset]:
    return sorted((queues for kind, queues in roles.values() if kind == "worker"), key=sorted)


def _check(roles: dict) -> None:
    workers = _workers(roles)
    served = [queue for queues in workers for queue in queues]
    assert sorted(served) == sorted(queue_names(PREFIX)), "each queue served exactly once"
    assert [kind for kind, _q in roles.values()].count("beat") == 1


def test_the_procfile_serves_every_queue_once_with_one_beat():
    roles = _procfile()
    _check(roles)
    # Dialling has a worker of its own: long work never holds its slots.
    assert frozenset({f"{PREFIX}.calls"}) in _workers(roles)


def test_the_systemd_units_run_the_procfile_workers():
    units = _units()
    _check(units)
    assert _workers(units) == _workers(_procfile())
    assert set(units) == {
        "waihu-worker-calls",
        "waihu-worker-bulk",
        "waihu-worker-mail",
        "waihu-worker-events",
        "waihu-beat",
    }
    for path in (DEPLOY / "systemd").glob("*.service"):
        text = path.read_text()
        assert "EnvironmentFile=/etc/waihu/waihu.env" in text, path.name
        # The queue prefix has a default before the environment file may change it.
        if "WAIHU_CELERY_QUEUE}" in text:
            assert "Environment=WAIHU_CELERY_QUEUE=celery" in text, path.name


def test_docker_compose_runs_the_same_workers_and_its_services():
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "redis", "web", "beat", "migrate"} <= set(services)
    roles = {}
    for name, service in services.items():
        command = service.get("command")
        if isinstance(command, list):
            role = _role(command)
            if role:
                roles[name] = role
    _check(roles)
    assert _workers(roles) == _workers(_procfile())
    for name in (*roles, "web"):
        service = services[name]
        env = service["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["PROMETHEUS_MULTIPROC_DIR"] == "/run/waihu-metrics"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "migrate" in " ".join(services["migrate"]["command"])


def test_the_web_server_config_and_the_proxy():
    gunicorn = (DEPLOY / "gunicorn.conf.py").read_text()
    assert "mark_process_dead" in gunicorn and "accesslog = None" in gunicorn
    nginx = (DEPLOY / "nginx" / "waihu.conf").read_text()
    assert "X-Forwarded-Proto $scheme" in nginx and "location /static/" in nginx
    assert "ssl_certificate " in nginx
    assert not re.search(r"^\s*rewrite\s", nginx, re.MULTILINE)  # the signed URL untouched
    example = (DEPLOY / "systemd" / "waihu.env.example").read_text()
    assert "PROMETHEUS_MULTIPROC_DIR=/run/waihu-metrics" in example
    assert "/run/waihu-metrics" in (DEPLOY / "systemd" / "waihu-metrics-dir.conf").read_text()


def _options(words: list[str]) -> dict[str, str]:
    """`--name value` pairs of a command line."""
    assert len(words) % 2 == 0 and all(name.startswith("--") for name in words[::2]), words
    return {
        name.removeprefix("--"): value for name, value in zip(words[::2], words[1::2], strict=True)
    }


def test_the_broker_keeps_its_tasks_across_a_restart():
    """Redis as the broker writes every task to its append-only file (flushed each second)
    and never evicts one, in the containers and in the file a host's Redis includes."""
    command = _compose()["services"]["redis"]["command"]
    assert command[0] == "redis-server"
    options = _options(command[1:])
    conf = dict(
        line.split(None, 1)
        for line in (DEPLOY / "redis" / "waihu.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    for given in (options, conf):
        assert given["appendonly"] == "yes"
        assert given["appendfsync"] == "everysec"
        assert given["maxmemory-policy"] == "noeviction"
    assert conf["save"] == '""' and options["save"] == ""
