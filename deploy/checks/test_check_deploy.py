"""Tests of the deployment checker: a copy of the repository passes, and each deliberately
broken copy fails with the problem named. A check that cannot fail is a defect.

Run by scripts/check-deploy (pytest from the checker's own venv)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

import check_deploy

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".git", "target", ".state", "node_modules", "test-results", "artifacts", ".pytest_cache", "__pycache__"}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """The files the checks read, copied so that a test may break them."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=lambda _dir, names: [n for n in names if n in SKIP], copy_function=link)
    return copy


def link(source: str, destination: str) -> None:
    """Hard links where possible (fast); write() replaces a file instead of changing it."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def write(path: Path, text: str) -> None:
    path.unlink()
    path.write_text(text)


def run(repo: Path, capsys, *only: str) -> tuple[int, str]:
    args = ["--root", str(repo)]
    for section in only:
        args += ["--only", section]
    if "dockerfiles" not in only:
        args.append("--no-hadolint")
    code = check_deploy.main(args)
    return code, capsys.readouterr().out


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    write(path, text.replace(old, new, count))


def fails_with(repo: Path, capsys, pattern: str, *only: str) -> None:
    code, out = run(repo, capsys, *only)
    assert code == 1, f"the checker passed a broken copy:\n{out}"
    assert re.search(pattern, out), f"expected /{pattern}/ among the problems:\n{out}"


def test_the_repository_as_it_is_passes(repo, capsys):
    code, out = run(repo, capsys, "dockerfiles", "compose", "k8s", "docs", "stack")
    assert code == 0, out
    assert "checks passed" in out


# ---------------------------------------------------------------- Dockerfiles

def test_a_copy_of_a_missing_file_fails(repo, capsys):
    edit(repo / "crates/services/order-api/Dockerfile", "COPY web/public web/public", "COPY web/pubic web/public")
    fails_with(repo, capsys, r"order-api/Dockerfile:\d+: COPY source web/pubic does not exist", "dockerfiles")


def test_a_copy_of_a_file_the_dockerignore_excludes_fails(repo, capsys):
    write(repo / ".dockerignore", (repo / ".dockerignore").read_text() + "\nproto/\n")
    fails_with(repo, capsys, r"COPY source proto is excluded by \.dockerignore", "dockerfiles")


def test_a_build_stage_without_a_folder_the_build_reads_fails(repo, capsys):
    edit(repo / "crates/services/notifier/Dockerfile", "COPY proto proto\n", "")
    fails_with(repo, capsys, r"notifier/Dockerfile: the build stage does not copy proto/", "dockerfiles")


def test_an_unknown_crate_fails(repo, capsys):
    edit(repo / "crates/services/notifier/Dockerfile", "cargo build --release --locked -p notifier",
         "cargo build --release --locked -p notifyer")
    fails_with(repo, capsys, r"-p notifyer: no crate of that name", "dockerfiles")


def test_an_unknown_binary_fails(repo, capsys):
    edit(repo / "crates/tools/admin/Dockerfile", "--bin ordertrack-admin", "--bin admin")
    fails_with(repo, capsys, r"--bin admin: admin has no binary of that name", "dockerfiles")


def test_an_entrypoint_that_is_not_the_binary_fails(repo, capsys):
    edit(repo / "crates/services/courier-tracker/Dockerfile", 'ENTRYPOINT ["/usr/local/bin/courier-tracker"]',
         'ENTRYPOINT ["/usr/local/bin/tracker"]')
    fails_with(repo, capsys, r"ENTRYPOINT /usr/local/bin/tracker: courier-tracker has no binary tracker", "dockerfiles")


def test_another_services_config_fails(repo, capsys):
    edit(repo / "crates/services/notifier/Dockerfile", "COPY config/notifier.toml", "COPY config/order-api.toml")
    fails_with(repo, capsys, r"copies config/order-api\.toml: only this service's config/notifier\.toml", "dockerfiles")


def test_a_healthcheck_on_the_wrong_port_fails(repo, capsys):
    edit(repo / "crates/services/order-grpc/Dockerfile", 'CMD ["healthcheck", "/healthz", "8084"]',
         'CMD ["healthcheck", "/healthz", "50051"]')
    fails_with(repo, capsys, r"HEALTHCHECK's default port is not order-grpc's HTTP port 8084", "dockerfiles")


def test_a_root_runtime_fails(repo, capsys):
    edit(repo / "crates/tools/cdek-double/Dockerfile", "USER 10001:10001\n", "")
    fails_with(repo, capsys, r"runtime runs as root", "dockerfiles")


def test_hadolint_runs_and_can_fail(repo, capsys):
    edit(repo / "crates/tools/admin/Dockerfile", "WORKDIR /app\n", "WORKDIR /app\nRUN cd /tmp && ls\n")
    fails_with(repo, capsys, r"admin/Dockerfile: hadolint: .*DL3003", "dockerfiles")


# ---------------------------------------------------------------- compose

def test_a_compose_file_off_the_specification_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "stop_grace_period: 45s", "stop_grace_periods: 45s")
    fails_with(repo, capsys, r"not valid against the Compose Specification schema", "compose")


def test_a_kafka_image_of_another_version_than_the_local_broker_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "image: apache/kafka:4.1.0", "image: apache/kafka:4.0.0")
    fails_with(repo, capsys, r"services\.kafka: image 'apache/kafka:4\.0\.0' is not apache/kafka:4\.1\.0", "compose")


def test_docs_that_name_another_kafka_version_fail(repo, capsys):
    edit(repo / "scripts/kafka/pom.xml", "<kafka.version>4.1.0<", "<kafka.version>4.2.0<")
    fails_with(repo, capsys, r"docs/deploy\.md: does not name Apache Kafka 4\.2\.0", "docs")


def test_a_misspelt_setting_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "ORDERTRACK_KAFKA__BROKERS: kafka:9092\n      # Kafka: SASL_SSL as its own user (crates/tools/admin/kafka-acls.txt).\n"
         "      ORDERTRACK_KAFKA__SECURITY_PROTOCOL: sasl_ssl\n      ORDERTRACK_KAFKA__USERNAME: notifier",
         "ORDERTRACK_KAFKA__BROKER: kafka:9092\n      ORDERTRACK_KAFKA__SECURITY_PROTOCOL: sasl_ssl\n"
         "      ORDERTRACK_KAFKA__USERNAME: notifier")
    fails_with(repo, capsys, r"services\.notifier: ORDERTRACK_KAFKA__BROKER: \[kafka\] of notifier has no key 'broker'", "compose")


def test_a_service_on_kafka_in_the_clear_or_as_another_user_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "      ORDERTRACK_KAFKA__USERNAME: notifier\n",
         "      ORDERTRACK_KAFKA__USERNAME: courier-tracker\n")
    fails_with(repo, capsys, r"services\.notifier: ORDERTRACK_KAFKA__USERNAME courier-tracker: notifier, its user in "
               r"crates/tools/admin/kafka-acls.txt, expected", "compose")


def test_a_deployment_on_plaintext_kafka_fails(repo, capsys):
    edit(repo / "deploy" / "k8s" / "base" / "config.env", "ORDERTRACK_KAFKA__SECURITY_PROTOCOL=sasl_ssl",
         "ORDERTRACK_KAFKA__SECURITY_PROTOCOL=plaintext")
    fails_with(repo, capsys, r"Deployment/order-api container order-api: ORDERTRACK_KAFKA__SECURITY_PROTOCOL plaintext: "
               r"sasl_ssl expected", "k8s")


def test_a_kafka_user_without_a_local_password_fails(repo, capsys):
    edit(repo / "scripts" / "local-stack.txt",
         "secret     ORDERTRACK_KAFKA_PASSWORD_NOTIFIER          24     -      # Kafka: notifier\n", "")
    fails_with(repo, capsys, r"Kafka user notifier \(crates/tools/admin/kafka-acls.txt\) has no secret "
               r"ORDERTRACK_KAFKA_PASSWORD_NOTIFIER", "stack")


def test_a_setting_of_a_section_the_service_lacks_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "      ORDERTRACK_OPS__KEYS__OPS: ${OPS_KEY:?set OPS_KEY in .env}\n      # Browsers",
         "      ORDERTRACK_OPS__KEYS__OPS: ${OPS_KEY:?set OPS_KEY in .env}\n      ORDERTRACK_POSTGRES__URL: x\n      # Browsers")
    fails_with(repo, capsys, r"services\.notifier: ORDERTRACK_POSTGRES__URL: notifier has no \[postgres\] section", "compose")


def test_a_missing_required_setting_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "      ORDERTRACK_CDEK__WEBHOOK_SECRET: ${CDEK_WEBHOOK_SECRET:?set CDEK_WEBHOOK_SECRET in .env}\n", "")
    fails_with(repo, capsys, r"ORDERTRACK_CDEK__WEBHOOK_SECRET is required by logistics-adapter", "compose")


def test_a_variable_the_env_generator_does_not_make_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "${LOG_LEVEL:-info}", "${LOG_LEVL:-info}")
    fails_with(repo, capsys, r"\$\{LOG_LEVL\} is not listed by deploy/compose/generate-env", "compose")


def test_a_published_port_the_service_does_not_listen_on_fails(repo, capsys):
    edit(repo / "docker-compose.yml", '"${PUBLISH_ADDRESS:-127.0.0.1}:8081:8081"', '"${PUBLISH_ADDRESS:-127.0.0.1}:8081:9091"')
    fails_with(repo, capsys, r"courier-tracker: port 8081:9091: courier-tracker listens on \[8081\]", "compose")


def test_a_dependency_on_an_unknown_service_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "      kafka:\n        condition: service_healthy\n\n  order-grpc:",
         "      zookeeper:\n        condition: service_healthy\n\n  order-grpc:")
    fails_with(repo, capsys, r"depends_on zookeeper: no such service", "compose")


def test_a_database_url_to_a_database_never_created_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "@postgres:5432/ordertrack_tracker?sslmode=verify-full&sslrootcert=/etc/ordertrack/ca/ca.crt\n      ORDERTRACK_POSTGRES__RUN",
         "@postgres:5432/ordertrack_tracking?sslmode=verify-full&sslrootcert=/etc/ordertrack/ca/ca.crt\n      ORDERTRACK_POSTGRES__RUN")
    fails_with(repo, capsys, r"database ordertrack_tracking is never created", "compose")


def test_a_demo_flag_the_simulator_lacks_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "      - --rate\n", "      - --speed\n")
    fails_with(repo, capsys, r"services\.demo: flag --speed is not in simulator's CLI", "compose")


# ---------------------------------------------------------------- Kubernetes

def test_a_probe_on_a_path_the_service_lacks_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/notifier.yaml", "path: /readyz", "path: /ready")
    fails_with(repo, capsys, r"Deployment/notifier container notifier: readinessProbe must GET /readyz, not /ready", "k8s")


def test_a_probe_on_another_port_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/order-grpc.yaml", "          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: http",
         "          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: grpc")
    fails_with(repo, capsys, r"order-grpc: livenessProbe port grpc is not the HTTP port 8084", "k8s")


def test_a_command_that_is_not_the_binary_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/order-api.yaml", 'command: ["/usr/local/bin/order-api"]', 'command: ["/usr/local/bin/orders"]')
    fails_with(repo, capsys, r"command \['/usr/local/bin/orders'\] is not the image's ENTRYPOINT", "k8s")


def test_an_image_no_dockerfile_builds_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/notifier.yaml", "image: ordertrack/notifier", "image: ordertrack/notifications")
    fails_with(repo, capsys, r"image ordertrack/notifications: no crates/<kind>/notifications/Dockerfile builds it", "k8s")


def test_a_field_the_kubernetes_schema_lacks_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/logistics-adapter.yaml", "  revisionHistoryLimit: 5", "  revisionHistoryLimit: 5\n  replica: 3")
    fails_with(repo, capsys, r"Deployment/logistics-adapter: Kubernetes 1\.30\.0 schema: spec: Additional properties", "k8s")


def test_an_ingress_to_a_missing_service_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/ingress.yaml", "name: logistics-adapter", "name: logistics")
    fails_with(repo, capsys, r"/webhooks/cdek: backend Service logistics does not exist", "k8s")


def test_a_public_url_no_ingress_serves_fails(repo, capsys):
    edit(repo / "deploy/k8s/overlays/prod/kustomization.yaml", "ORDERTRACK_TRACKING__LIVE_URL=wss://ordertrack.example.com/ws",
         "ORDERTRACK_TRACKING__LIVE_URL=wss://live.example.com/ws")
    fails_with(repo, capsys, r"tracking\.live_url wss://live\.example\.com/ws: no Ingress rule sends live\.example\.com/ws to notifier", "k8s")


def test_a_secret_in_the_configmap_fails(repo, capsys):
    write(repo / "deploy/k8s/base/config.env",
          (repo / "deploy/k8s/base/config.env").read_text() + "ORDERTRACK_TRACKING__TICKET_SECRET=abc\n")
    fails_with(repo, capsys, r"ORDERTRACK_TRACKING__TICKET_SECRET is \(or may hold\) a secret", "k8s")


def test_a_grace_period_shorter_than_the_drain_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/courier-tracker.yaml", "terminationGracePeriodSeconds: 50", "terminationGracePeriodSeconds: 30")
    fails_with(repo, capsys, r"Deployment/courier-tracker: terminationGracePeriodSeconds 30 < preStop 5", "k8s")


def test_an_hpa_managed_deployment_with_replicas_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/notifier.yaml", "  revisionHistoryLimit: 5", "  replicas: 2\n  revisionHistoryLimit: 5")
    fails_with(repo, capsys, r"Deployment/notifier: spec\.replicas set on a Deployment its HPA scales", "k8s")


# ---------------------------------------------------------------- PostgreSQL and Redis over TLS

def test_a_database_url_without_verify_full_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "@postgres:5432/ordertrack_tracker?sslmode=verify-full&", "@postgres:5432/ordertrack_tracker?sslmode=require&", 2)
    fails_with(repo, capsys, r"services\.courier-tracker: ORDERTRACK_POSTGRES__URL: sslmode=verify-full expected", "compose")


def test_a_ca_file_that_is_not_mounted_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "      - ./deploy/compose/tls/ca:/etc/ordertrack/ca:ro\n    ports:\n      - \"${PUBLISH_ADDRESS:-127.0.0.1}:8083:8083\"",
         "      - ./deploy/compose/tls/ca:/etc/ordertrack/other-ca:ro\n    ports:\n      - \"${PUBLISH_ADDRESS:-127.0.0.1}:8083:8083\"")
    fails_with(repo, capsys, r"services\.logistics-adapter: ORDERTRACK_POSTGRES__URL: sslrootcert /etc/ordertrack/ca/ca\.crt is not in a mounted volume", "compose")


def test_a_service_logging_in_as_the_administrator_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "postgres://ordertrack_order_api:${POSTGRES_ORDER_API_PASSWORD:?set POSTGRES_ORDER_API_PASSWORD in .env}@",
         "postgres://ordertrack:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}@")
    fails_with(repo, capsys, r"services\.order-api: ORDERTRACK_POSTGRES__URL: logs in as ordertrack, not as an ordertrack_\* role", "compose")


def test_plaintext_redis_fails(repo, capsys):
    edit(repo / "docker-compose.yml", "ORDERTRACK_REDIS__URL: rediss://order-grpc:", "ORDERTRACK_REDIS__URL: redis://order-grpc:")
    fails_with(repo, capsys, r"services\.order-grpc: ORDERTRACK_REDIS__URL: redis:// is plaintext", "compose")


def test_a_service_that_migrates_as_its_own_role_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/courier-tracker.yaml", "            - name: ORDERTRACK_POSTGRES__RUN_MIGRATIONS\n              value: \"false\"\n", "")
    fails_with(repo, capsys, r"Deployment/courier-tracker container courier-tracker: ORDERTRACK_POSTGRES__RUN_MIGRATIONS: \"false\" expected", "k8s")


def test_a_redis_ca_that_is_not_mounted_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/order-grpc.yaml", "              mountPath: /etc/ordertrack/ca\n", "              mountPath: /etc/ordertrack/other-ca\n")
    fails_with(repo, capsys, r"Deployment/order-grpc container order-grpc: ORDERTRACK_REDIS__CA_FILE /etc/ordertrack/ca/ca\.crt is not in a mounted volume", "k8s")


# ---------------------------------------------------------------- docs

def test_an_undocumented_variable_fails(repo, capsys):
    edit(repo / "docs/deploy.md", "`DEMO_RATE`", "`DEMO_PACE`")
    fails_with(repo, capsys, r"docs/deploy\.md: DEMO_RATE is used but not documented", "compose", "docs")


def test_an_undocumented_secret_key_fails(repo, capsys):
    write(repo / "docs/deploy.md", (repo / "docs/deploy.md").read_text().replace("courier-token-secret", "courier-secret"))
    fails_with(repo, capsys, r"ordertrack-secrets:courier-token-secret is used but not documented", "k8s", "docs")


# ---------------------------------------------------------------- the local stack

def test_a_local_stack_port_the_service_does_not_listen_on_fails(repo, capsys):
    edit(repo / "scripts/local-stack.txt", "service    courier-tracker    8081 ", "service    courier-tracker    8091 ")
    fails_with(repo, capsys, r"scripts/local-stack\.txt:\d+: courier-tracker: HTTP port 8091 is not 8081, where it listens "
               r"by default \(config/courier-tracker\.toml\)", "stack")


def test_a_local_stack_grpc_port_the_service_does_not_listen_on_fails(repo, capsys):
    edit(repo / "scripts/local-stack.txt", "50051  ORDERTRACK_ORDER_GRPC_PORT", "50052  ORDERTRACK_ORDER_GRPC_PORT")
    fails_with(repo, capsys, r"order-grpc: GRPC port 50052 is not 50051", "stack")


def test_a_local_stack_process_that_is_no_binary_fails(repo, capsys):
    edit(repo / "scripts/local-stack.txt", "service    notifier ", "service    notifyer ")
    fails_with(repo, capsys, r"scripts/local-stack\.txt:\d+: no binary notifyer in the workspace", "stack")


def test_a_local_stack_port_the_readme_does_not_name_fails(repo, capsys):
    edit(repo / "scripts/local-stack.txt", "infra      redis              56379", "infra      redis              56380")
    fails_with(repo, capsys, r"README\.md: the port table has no row with redis's 56380 and `ORDERTRACK_REDIS_PORT`", "stack")


def test_a_local_stack_secret_no_service_reads_fails(repo, capsys):
    edit(repo / "scripts/local-stack.txt", "ORDERTRACK_COURIERS__TOKEN_SECRET ", "ORDERTRACK_COURIER__TOKEN_SECRET  ")
    fails_with(repo, capsys, r"secret ORDERTRACK_COURIER__TOKEN_SECRET is read by no service", "stack")


# ---------------------------------------------------------------- NetworkPolicies

def test_a_workload_without_a_network_policy_fails(repo, capsys):
    # The notifier's policy selects nothing: its pods have only the default deny.
    edit(repo / "deploy/k8s/base/network-policies.yaml", "      app.kubernetes.io/name: notifier\n  policyTypes",
         "      app.kubernetes.io/name: notifyer\n  policyTypes")
    fails_with(repo, capsys, r"overlays/prod Deployment/notifier: no NetworkPolicy selects its pods", "k8s")
    fails_with(repo, capsys, r"overlays/prod Service/notifier: port http \(8082\) of Deployment/notifier is allowed in from nowhere", "k8s")


def test_a_namespace_without_a_default_deny_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/network-policies.yaml", "  name: default-deny\nspec:\n  podSelector: {}\n",
         "  name: default-deny\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: nothing\n")
    fails_with(repo, capsys, r"overlays/dev: no default-deny NetworkPolicy", "k8s")


def test_a_service_port_no_policy_lets_in_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/network-policies.yaml", "          port: grpc\n", "          port: 50052\n")
    fails_with(repo, capsys, r"Service/order-grpc: port grpc \(50051\) of Deployment/order-grpc is allowed in from nowhere", "k8s")


def test_a_workload_without_dns_under_an_egress_deny_fails(repo, capsys):
    edit(repo / "deploy/k8s/base/network-policies.yaml", "  name: allow-dns\nspec:\n  podSelector: {}\n",
         "  name: allow-dns\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: order-api\n")
    fails_with(repo, capsys, r"Job/migrate: egress is denied and no NetworkPolicy allows it DNS", "k8s")


def test_the_dev_double_without_its_policy_fails(repo, capsys):
    edit(repo / "deploy/k8s/overlays/dev/kustomization.yaml", "  - network-policies.yaml\n", "")
    fails_with(repo, capsys, r"overlays/dev Deployment/cdek-double: no NetworkPolicy selects its pods", "k8s")
