"""The Helm chart (helm/baohan): linted and rendered with Helm's own Go library (helm-python-sdk,
no helm CLI), every rendered manifest validated against the Kubernetes JSON schemas of a pinned
version in strict mode (kubernetes-validate: unknown fields are errors), with the default values
and with ci/full-values.yaml. Copies of the chart with a broken template or an invalid field prove
that the checks fail when they should.
"""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, validate

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "helm" / "baohan"
FULL_VALUES = CHART / "ci" / "full-values.yaml"
# The Kubernetes version the manifests are checked against (and the lint's kube version).
KUBE_VERSION = "1.33.0"
RELEASE, NAMESPACE = "baohan", "baohan"
LINT_WARNING = 2  # helm lint severities: 1 info, 2 warning, 3 error

# Secret keys of the chart's Secret: never literal values in a pod spec or in values.yaml.
SECRET_KEYS = {
    "DJANGO_SECRET_KEY",
    "DJANGO_SECRET_KEY_FALLBACKS",
    "DATABASE_URL",
    "REDIS_URL",
    "BAOHAN_FIELD_KEYS",
    "BAOHAN_INDEX_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "SMS_PROVIDER_CONFIG",
    "BAOHAN_METRICS_TOKEN",
}


Manifests = list[dict[str, Any]]


def render(chart: Path, values: dict[str, Any] | None) -> Manifests:
    """Render like ``helm template``/``install`` and return every manifest (NOTES.txt excluded)."""
    with helm.Chart.load(str(chart)) as loaded:
        files = loaded.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    return [
        document
        for name, text in sorted(files.items())
        if name.endswith((".yaml", ".yml"))
        for document in yaml.safe_load_all(text)
        if document
    ]


def lint_problems(chart: Path, values: dict[str, Any] | None) -> list[str]:
    report = helm.lint(str(chart), values, strict=True, kube_version=f"v{KUBE_VERSION}")
    messages = [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= LINT_WARNING]
    return messages + list(report["errors"])


def validation_problems(manifests: Manifests) -> list[str]:
    """Every manifest against its schema (strict); a kind without a schema is a problem too."""
    problems = []
    for manifest in manifests:
        name = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
        try:
            validate(manifest, KUBE_VERSION, strict=True)
        except ValidationError as exc:
            problems.append(f"{name}: {'.'.join(str(p) for p in exc.path)}: {exc.message}")
        except SchemaNotFoundError as exc:
            problems.append(f"{name}: {exc.message}")
    return problems


def by_kind(manifests: Manifests, kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def container(manifest: dict[str, Any]) -> dict[str, Any]:
    pod = manifest["spec"]["template"]["spec"]
    assert len(pod["containers"]) == 1
    return dict(pod["containers"][0])


def env_of(manifest: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container(manifest).get("env", [])}


def full_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(FULL_VALUES.read_text())
    return values


VALUE_SETS: dict[str, dict[str, Any] | None] = {"default": None, "full": full_values()}


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, Manifests]:
    """Each values file rendered once for the whole module."""
    return request.param, render(CHART, VALUE_SETS[request.param])


@pytest.fixture(scope="module")
def default() -> Manifests:
    return render(CHART, None)


@pytest.fixture(scope="module")
def full() -> Manifests:
    return render(CHART, VALUE_SETS["full"])


# --- lint, render, validate --------------------------------------------------------------------


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_the_chart_lints_without_warnings(values: str) -> None:
    assert lint_problems(CHART, VALUE_SETS[values]) == []


def test_every_rendered_manifest_is_valid_kubernetes(rendered: tuple[str, Manifests]) -> None:
    values, manifests = rendered
    assert len(manifests) >= 11, values
    assert validation_problems(manifests) == []


def test_the_default_release_has_every_workload_and_no_secret(default: Manifests) -> None:
    kinds = sorted(f"{m['kind']}/{m['metadata']['name']}" for m in default)
    assert kinds == [
        "Deployment/baohan-beat",
        "Deployment/baohan-web",
        "Deployment/baohan-worker",
        "HorizontalPodAutoscaler/baohan-web",
        "HorizontalPodAutoscaler/baohan-worker",
        "Ingress/baohan",
        "Job/baohan-migrate",
        "PersistentVolumeClaim/baohan-beat",
        "PodDisruptionBudget/baohan-web",
        "PodDisruptionBudget/baohan-worker",
        "Service/baohan-web",
        "ServiceAccount/baohan",
    ]


# --- what the workloads must be -------------------------------------------------------------------


def test_beat_runs_exactly_one_pod_and_never_two(rendered: tuple[str, Manifests]) -> None:
    _, manifests = rendered
    beat = next(m for name, m in by_kind(manifests, "Deployment").items() if name.endswith("-beat"))
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert not [h for h in by_kind(manifests, "HorizontalPodAutoscaler").values() if "beat" in str(h)]
    assert not [p for p in by_kind(manifests, "PodDisruptionBudget") if p.endswith("-beat")]
    assert container(beat)["args"][:3] == ["celery", "--app=baohan", "beat"]


def test_migrations_run_before_install_and_upgrade_shared_then_tenants(rendered: tuple[str, Manifests]) -> None:
    values, manifests = rendered
    (job,) = by_kind(manifests, "Job").values()
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    script = container(job)["args"][-1].strip().splitlines()
    executor = "multiprocessing" if values == "default" else "standard"
    assert script == [
        "python manage.py migrate_schemas --shared --noinput",
        f"python manage.py migrate_schemas --tenant --executor={executor} --noinput",
    ]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # The release's service account does not exist yet when a first install's hook runs.
    account = job["spec"]["template"]["spec"]["serviceAccountName"]
    assert account == ("default" if values == "default" else "baohan-migrate")


def test_web_probes_liveness_without_and_readiness_with_the_database(rendered: tuple[str, Manifests]) -> None:
    _, manifests = rendered
    deployments = by_kind(manifests, "Deployment")
    web = container(next(m for n, m in deployments.items() if n.endswith("-web")))
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert web["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert web["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert web["args"][0] == "gunicorn"
    worker = container(next(m for n, m in deployments.items() if n.endswith("-worker")))
    assert "inspect ping" in " ".join(worker["livenessProbe"]["exec"]["command"])
    for item in deployments.values():
        assert container(item)["resources"]["requests"], item["metadata"]["name"]


def test_pods_run_as_non_root_on_a_read_only_root(rendered: tuple[str, Manifests]) -> None:
    _, manifests = rendered
    for manifest in [*by_kind(manifests, "Deployment").values(), *by_kind(manifests, "Job").values()]:
        pod = manifest["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        security = container(manifest)["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert {"name": "tmp", "mountPath": "/tmp"} in container(manifest)["volumeMounts"]  # noqa: S108


def test_ingress_serves_the_platform_and_every_centre_over_tls(default: Manifests, full: Manifests) -> None:
    (ingress,) = by_kind(default, "Ingress").values()
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert hosts == ["baohan.example.gov.cn", "*.example.gov.cn"]
    assert ingress["spec"]["tls"] == [
        {"secretName": "baohan-tls", "hosts": ["baohan.example.gov.cn", "*.example.gov.cn"]}
    ]
    backend = ingress["spec"]["rules"][1]["http"]["paths"][0]
    assert backend == {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "baohan-web", "port": {"name": "http"}}},
    }
    (ingress,) = by_kind(full, "Ingress").values()
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [
        "baohan.ggzy.example.gov.cn",
        "console.ggzy.example.gov.cn",
        "*.ggzy.example.gov.cn",
        "ggzy.hexi.example.cn",
        "dbh.benxi.example.cn",
    ]
    tls_secrets = [t["secretName"] for t in ingress["spec"]["tls"]]
    assert tls_secrets == ["baohan-prod-wildcard-tls", "hexi-tls", "benxi-own-tls"]
    assert ingress["spec"]["ingressClassName"] == "nginx-internal"


def test_django_allows_exactly_the_hosts_the_ingress_serves(full: Manifests) -> None:
    web = next(m for n, m in by_kind(full, "Deployment").items() if n.endswith("-web"))
    env = env_of(web)
    assert env["PLATFORM_HOSTS"] == "baohan.ggzy.example.gov.cn,console.ggzy.example.gov.cn"
    assert env["DJANGO_ALLOWED_HOSTS"] == ".ggzy.example.gov.cn,ggzy.hexi.example.cn,dbh.benxi.example.cn"
    assert env["DJANGO_SETTINGS_MODULE"] == "baohan.settings.production"
    assert env["DJANGO_SECURE_HSTS_SECONDS"] == "63072000"  # an integer, not 6.3072e+07


def test_metrics_have_their_own_port_that_the_service_does_not_route(rendered: tuple[str, Manifests]) -> None:
    values, manifests = rendered
    port = 9100 if values == "default" else 9102
    for name, deployment in by_kind(manifests, "Deployment").items():
        if name.endswith("-beat"):
            continue
        assert {"name": "metrics", "containerPort": port, "protocol": "TCP"} in container(deployment)["ports"]
        assert env_of(deployment)["BAOHAN_METRICS_PORT"] == str(port)
        assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    (service,) = by_kind(manifests, "Service").values()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]


def test_autoscaling_and_disruption_budgets(default: Manifests, full: Manifests) -> None:
    hpas = by_kind(default, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == {"baohan-web", "baohan-worker"}
    assert all(h["apiVersion"] == "autoscaling/v2" for h in hpas.values())
    deployments = by_kind(default, "Deployment")
    assert "replicas" not in deployments["baohan-web"]["spec"]  # the autoscaler owns the count
    assert {p["spec"].get("maxUnavailable") for p in by_kind(default, "PodDisruptionBudget").values()} == {1}
    # Full values: the worker at a fixed count, the web autoscaled on CPU and memory.
    assert list(by_kind(full, "HorizontalPodAutoscaler")) == ["baohan-prod-web"]
    assert by_kind(full, "Deployment")["baohan-prod-worker"]["spec"]["replicas"] == 3
    web_hpa = by_kind(full, "HorizontalPodAutoscaler")["baohan-prod-web"]
    assert [m["resource"]["name"] for m in web_hpa["spec"]["metrics"]] == ["cpu", "memory"]
    assert by_kind(full, "PodDisruptionBudget")["baohan-prod-web"]["spec"] == {
        "minAvailable": 2,
        "selector": {
            "matchLabels": {
                "app.kubernetes.io/name": "bh",
                "app.kubernetes.io/instance": RELEASE,
                "app.kubernetes.io/component": "web",
            }
        },
    }


# --- secrets ------------------------------------------------------------------------------------


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path, node


def test_no_secret_in_the_default_values() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["secret"] == {"existingSecret": "", "create": False, "data": {}}
    secretish = re.compile(r"(password|passwd|secret|token|key|dsn|credential)", re.IGNORECASE)
    # Names of things, not secrets: the TLS certificate's Secret, the Secret to use.
    allowed = {".ingress.tls.secretName", ".secret.existingSecret"}
    found = [(p, v) for p, v in _strings(values) if v and secretish.search(p.rsplit(".", 1)[-1]) and p not in allowed]
    assert found == []
    assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", (CHART / "values.yaml").read_text())  # no URL with a password


def test_secrets_reach_the_pods_only_through_the_secret(rendered: tuple[str, Manifests]) -> None:
    values, manifests = rendered
    secret_name = "baohan-env" if values == "default" else "baohan-prod-env"
    for manifest in [*by_kind(manifests, "Deployment").values(), *by_kind(manifests, "Job").values()]:
        assert container(manifest)["envFrom"] == [{"secretRef": {"name": secret_name}}]
        assert not SECRET_KEYS & env_of(manifest).keys(), manifest["metadata"]["name"]
    assert by_kind(manifests, "Secret") == {}


def test_the_pods_get_every_variable_production_requires() -> None:
    """Production's required variables: the non-secret ones from the chart, the rest from the Secret."""
    tree = ast.parse((ROOT / "platform" / "baohan" / "settings" / "production.py").read_text())
    required = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "REQUIRED_ENV"
    )
    web = next(m for n, m in by_kind(render(CHART, None), "Deployment").items() if n.endswith("-web"))
    from_chart = set(required) & env_of(web).keys()
    assert from_chart == {"DJANGO_ALLOWED_HOSTS", "PLATFORM_HOSTS", "AWS_STORAGE_BUCKET_NAME"}
    assert set(required) - from_chart <= SECRET_KEYS
    documented = (CHART / "values.yaml").read_text()
    assert all(name in documented for name in set(required) - from_chart)


def test_a_secret_is_made_from_values_only_when_given() -> None:
    data = {"DJANGO_SECRET_KEY": "given-at-install-time", "DATABASE_URL": "postgresql://u:p@db/baohan"}
    manifests = render(CHART, {"secret": {"create": True, "data": data}})
    assert validation_problems(manifests) == []
    (secret,) = by_kind(manifests, "Secret").values()
    assert secret["metadata"]["name"] == "baohan-env"
    assert secret["stringData"] == data
    # The migration hook runs before ordinary resources exist: the Secret is an earlier hook.
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0
    web = by_kind(manifests, "Deployment")["baohan-web"]
    assert "checksum/secret" in web["spec"]["template"]["metadata"]["annotations"]  # pods roll on a change
    with pytest.raises(helm.HelmError, match=r"secret\.data is empty"):
        render(CHART, {"secret": {"create": True}})


# --- the checks fail when they should -------------------------------------------------------------


@pytest.fixture
def chart_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "baohan"
    shutil.copytree(CHART, copy)
    return copy


def test_a_broken_template_fails_lint_and_render(chart_copy: Path) -> None:
    (chart_copy / "templates" / "broken.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name | nosuchfunction }}\n"
    )
    problems = lint_problems(chart_copy, None)
    assert any("nosuchfunction" in problem for problem in problems), problems
    with pytest.raises(helm.HelmError, match="nosuchfunction"):
        render(chart_copy, None)


def test_a_template_producing_invalid_yaml_fails_lint(chart_copy: Path) -> None:
    service = chart_copy / "templates" / "service.yaml"
    service.write_text(service.read_text().replace("  type: {{", "  type: [{{"))
    problems = lint_problems(chart_copy, None)
    assert any("service.yaml" in problem for problem in problems), problems


def test_an_invalid_manifest_fails_validation(chart_copy: Path) -> None:
    # A misspelt field (the strict schemas refuse unknown fields) in one manifest, a wrong type in another.
    web = chart_copy / "templates" / "web-deployment.yaml"
    web.write_text(web.read_text().replace("          readinessProbe:", "          readynessProbe:", 1))
    worker = chart_copy / "templates" / "worker-deployment.yaml"
    worker.write_text(worker.read_text().replace("  revisionHistoryLimit: 5", '  revisionHistoryLimit: "five"', 1))
    assert lint_problems(chart_copy, None) == []  # helm itself does not see either
    problems = validation_problems(render(chart_copy, None))
    assert len(problems) == 2, problems
    assert problems[0].startswith("Deployment/baohan-web: spec.template.spec.containers.0: ")
    assert "'readynessProbe' was unexpected" in problems[0]
    assert problems[1] == "Deployment/baohan-worker: spec.revisionHistoryLimit: 'five' is not of type 'integer', 'null'"


def test_a_misspelt_or_wrong_value_fails_lint_and_render() -> None:
    """values.schema.json: an unknown key or a value out of its range is refused before rendering."""
    values = {"web": {"replica": 3}, "config": {"logLevel": "LOUD"}}
    problems = "\n".join(lint_problems(CHART, values))
    assert "at '/web': additional properties 'replica' not allowed" in problems
    assert "at '/config/logLevel': value must be one of" in problems
    with pytest.raises(helm.HelmError, match="replica"):
        render(CHART, values)


def test_a_kind_without_a_schema_fails_validation() -> None:
    manifest = {"apiVersion": "apps/v1", "kind": "Deploymnet", "metadata": {"name": "typo"}, "spec": {}}
    assert validation_problems([manifest]) == [
        f"Deploymnet/typo: Couldn't find schema for kind Deploymnet with api version apps/v1 "
        f"for kubernetes version {KUBE_VERSION.rsplit('.', 1)[0]}"
    ]
