"""The deployment files agree with each other and with the production endpoints.

The compose file and the Kubernetes manifests cannot run here (no Docker engine,
no cluster); these tests catch what would otherwise only fail at deploy time:
a variable the endpoints need but a deployment does not set, a load balancer
configuration drifting from the tested one, a misspelt tracker store.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set

import pytest
import yaml

from bot.launch.ports import free_port
from bot.launch.production.config import Config
from bot.launch.production.nginx import COMPOSE_NGINX, render_nginx_config
from bot.settings import PROJECT_ROOT
from tests.databases import IN_CI

DEPLOY = PROJECT_ROOT / "deploy"
SECRET = "s3cret-" + "0" * 40
PRODUCTION_FILES = [PROJECT_ROOT / "endpoints.production.yml", PROJECT_ROOT / "credentials.production.yml"]


def referenced_variables() -> Set[str]:
    """Every ${VAR} the production endpoints and credentials need (comments aside)."""
    found: Set[str] = set()
    for path in PRODUCTION_FILES:
        for line in path.read_text().splitlines():
            found |= set(re.findall(r"\$\{(\w+)\}", line.split("#", 1)[0]))
    return found


def manifests() -> Iterator[Dict[str, Any]]:
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                yield document


def of_kind(kind: str) -> List[Dict[str, Any]]:
    return [m for m in manifests() if m["kind"] == kind]


def test_the_production_endpoints_need_these_variables():
    # Guards the comparisons below against a regex that finds nothing.
    assert {
        "TRACKER_DATABASE_URL",
        "REDIS_HOST",
        "RABBITMQ_HOST",
        "ACTION_ENDPOINT_URL",
        "ANALYTICS_QUEUE",
        "ACTION_SERVER_TOKEN",
    } <= referenced_variables()


def test_rasa_builds_the_production_stores_from_the_endpoints(monkeypatch):
    """Rasa reads the files with the launcher's environment; the custom tracker
    store resolves (a misspelt type would silently mean in-memory storage)."""
    from rasa.core.lock_store import LockStore
    from rasa.shared.utils.common import class_from_module_path
    from rasa.utils.endpoints import read_endpoint_config

    from bot.rasa.event_broker import RabbitMQEventBroker
    from bot.rasa.lock_store import AtomicRedisLockStore
    from bot.rasa.tracker_store import ResilientSQLTrackerStore

    env = Config.from_env({"PRODUCTION_VAR_DIR": "/tmp/unused", "ACTION_SERVER_TOKEN": SECRET}).process_env({})
    assert referenced_variables() <= set(env)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    endpoints = str(PROJECT_ROOT / "endpoints.production.yml")
    tracker = read_endpoint_config(endpoints, "tracker_store")
    assert class_from_module_path(tracker.type) is ResilientSQLTrackerStore
    assert tracker.url.startswith("postgresql://")
    lock_store = LockStore.create(read_endpoint_config(endpoints, "lock_store"))
    assert isinstance(lock_store, AtomicRedisLockStore) and lock_store.key_prefix == "complaints:lock:"
    broker = read_endpoint_config(endpoints, "event_broker")
    assert class_from_module_path(broker.type) is RabbitMQEventBroker
    assert broker.kwargs["queues"] == [env["ANALYTICS_QUEUE"]]
    action_endpoint = read_endpoint_config(endpoints, "action_endpoint")
    assert action_endpoint.url == env["ACTION_ENDPOINT_URL"]
    assert action_endpoint.headers == {"X-Action-Server-Token": SECRET}  # the action servers' shared secret
    assert env["BIND_HOST"] == "127.0.0.1"


def test_compose_gives_every_rasa_replica_what_the_endpoints_need():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    for name in ("rasa-1", "rasa-2"):
        missing = referenced_variables() - set(services[name]["environment"])
        assert not missing, f"{name} lacks {missing}"
        assert "endpoints.production.yml" in " ".join(services[name]["command"])
    # nginx's upstreams are the compose services.
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text()
    for host in re.findall(r"server ([\w-]+):\d+", conf):
        assert host in services, host
    # The nginx image renders it with ACTION_SERVER_TOKEN, and nothing else, filled in.
    nginx = services["nginx"]
    assert nginx["volumes"] == ["./nginx/nginx.conf:/etc/nginx/templates/nginx.conf.template:ro"]
    assert nginx["environment"]["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    assert re.fullmatch(nginx["environment"]["NGINX_ENVSUBST_FILTER"].replace("$$", "$"), "ACTION_SERVER_TOKEN")
    assert "ACTION_SERVER_TOKEN" in nginx["environment"]
    assert re.findall(r"\$\{(\w+)\}", conf) == ["ACTION_SERVER_TOKEN"]
    # Every action server is ours, behind the secret; every Rasa replica says where it listens.
    for name in ("actions-1", "actions-2"):
        assert services[name]["command"][:3] == ["python", "-m", "bot.rasa.action_server"], name
        assert "ACTION_SERVER_TOKEN" in services[name]["environment"], name
    for name in ("rasa-1", "rasa-2"):
        assert "--interface 0.0.0.0" in " ".join(services[name]["command"]), name
    assert "rasa run actions" not in (DEPLOY / "compose.yaml").read_text()
    # Only the chat entry is published to the world; the desk to loopback only.
    published = {name: s.get("ports", []) for name, s in services.items() if s.get("ports")}
    assert published == {"nginx": ["8080:8080"], "desk": ["127.0.0.1:5006:5006"]}


def test_kubernetes_gives_rasa_what_the_endpoints_need_and_hardens_every_pod():
    config = of_kind("ConfigMap")[0]["data"]
    secret_keys = set(yaml.safe_load((DEPLOY / "kubernetes" / "secret.example.yaml").read_text())["stringData"])
    missing = referenced_variables() - set(config) - secret_keys
    assert not missing, f"neither the ConfigMap nor the Secret sets {missing}"
    assert not set(config) & secret_keys, "a setting is both in the ConfigMap and the Secret"

    deployments = {d["metadata"]["name"]: d for d in of_kind("Deployment")}
    assert set(deployments) == {"rasa", "actions", "desk", "analytics", "notices"}
    jobs = {job["metadata"]["name"]: job for job in of_kind("CronJob")}
    assert {
        name: job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
        for name, job in jobs.items()
    } == {
        "retention": ["python", "-m", "bot", "retention", "purge"],
        "reminders": ["python", "-m", "bot", "tickets", "remind"],
    }
    assert all(job["spec"]["concurrencyPolicy"] == "Forbid" for job in jobs.values())
    pods = {name: d["spec"]["template"]["spec"] for name, d in deployments.items()}
    pods.update({name: job["spec"]["jobTemplate"]["spec"]["template"]["spec"] for name, job in jobs.items()})
    for name, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["resources"]["limits"]["memory"], name
            assert {"configMapRef": {"name": "complaints-config"}} in container["envFrom"], name
            if name not in ("analytics", "retention", "reminders", "notices"):
                assert "readinessProbe" in container, name
    rasa = deployments["rasa"]["spec"]["template"]["spec"]["containers"][0]
    args = " ".join(rasa["args"])
    assert "--endpoints endpoints.production.yml" in args and "--credentials credentials.production.yml" in args
    assert "--auth-token $(RASA_TOKEN)" in args
    assert deployments["rasa"]["spec"]["replicas"] >= 2 and deployments["actions"]["spec"]["replicas"] >= 2
    actions = deployments["actions"]["spec"]["template"]["spec"]["containers"][0]
    assert actions["command"][:3] == ["python", "-m", "bot.rasa.action_server"]
    assert "ACTION_SERVER_TOKEN" in secret_keys and config["BIND_HOST"] == "0.0.0.0"

    services = {s["metadata"]["name"]: s for s in of_kind("Service")}
    for name, service in services.items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), name

    [chat] = [i for i in of_kind("Ingress") if i["metadata"]["name"] == "chat"]
    annotations = chat["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    [rule] = chat["spec"]["rules"]
    assert [(p["path"], p["backend"]["service"]["name"]) for p in rule["http"]["paths"]] == [("/webhooks/", "rasa")]
    kustomization = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())
    listed = {path for path in kustomization["resources"]}
    on_disk = {p.name for p in (DEPLOY / "kubernetes").glob("*.yaml")}
    # Applied separately: the secret (never committed) and the per-release migration job.
    assert on_disk - listed == {"kustomization.yaml", "secret.example.yaml", "migrate-job.yaml"}


def test_the_compose_load_balancer_is_the_tested_one():
    assert (DEPLOY / "nginx" / "nginx.conf").read_text() == render_nginx_config(
        COMPOSE_NGINX
    ), "regenerate: .venv/bin/python -m bot.launch production --compose-nginx > deploy/nginx/nginx.conf"


def test_nginx_accepts_the_compose_configuration(tmp_path: Path):
    nginx = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(nginx, os.X_OK):
        if IN_CI:
            pytest.fail("nginx is not installed (scripts/install-nginx installs it)")
        pytest.skip("nginx is not installed; skipping the configuration check")
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text()
    # Container names resolve only inside compose; ports as free loopback ones.
    conf = re.sub(r"server [\w-]+:\d+", "server 127.0.0.1:9", conf)
    for port in ("8080", "5004", "5055"):
        conf = conf.replace(f"0.0.0.0:{port};", f"127.0.0.1:{free_port()};")
    conf = conf.replace("/tmp/nginx.pid", str(tmp_path / "nginx.pid"))
    conf = conf.replace("${ACTION_SERVER_TOKEN}", SECRET)  # as the image's envsubst step does
    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    check = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(path), "-g", "daemon off;"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
