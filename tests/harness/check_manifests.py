#!/usr/bin/env python3
"""Checks Kubernetes manifests rendered by `kubectl kustomize` (tests/deploy/kubernetes.rs).

    check_manifests.py NAME=RENDERED.yaml [NAME=RENDERED.yaml ...]

Each NAME is a kustomization (e.g. `base`, `overlays/sharded`), RENDERED its
`kubectl kustomize` output. Checks, printing one line per problem and exiting 1
if there is any:

* every built-in kind against the Kubernetes OpenAPI schemas of
  kubernetes-validate, strict (unknown fields are errors), for the oldest
  supported Kubernetes version and the newest the validator knows;
* the Prometheus Operator kinds (ServiceMonitor, PrometheusRule), which no
  Kubernetes schema covers, against the monitoring.coreos.com/v1 fields these
  manifests use (field names and the operator's duration pattern); the rules
  inside the PrometheusRule are checked by promtool in tests/alerting/rules.rs;
* that the pieces fit: the ServiceMonitor selects exactly one Service (two
  would scrape every exporter twice), whose name is the scrape job the alerts
  select, whose selector matches the pods and whose ports exist on them;
* for a StatefulSet (the sharded overlay): --shard.count equals the replicas,
  the shard index is the pod ordinal, its governing Service is headless;
* that every kustomization runs the same image.
"""

import re
import sys

import kubernetes_validate
import yaml

# Oldest Kubernetes the manifests support (the pod-index label of the
# sharded overlay is 1.28+), and the newest schemas the validator ships.
KUBERNETES_VERSIONS = ["1.28.0", kubernetes_validate.__version__]
# The job of the alerts' selector (mixin/config.libsonnet).
JOB = "iam-credentials-exporter"
DURATION = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")

# monitoring.coreos.com/v1 fields used here (a subset of the CRDs).
SERVICEMONITOR_SPEC = {"selector", "endpoints", "jobLabel", "namespaceSelector", "targetLabels", "podTargetLabels"}
SERVICEMONITOR_ENDPOINT = {"port", "targetPort", "path", "scheme", "interval", "scrapeTimeout", "honorLabels",
                           "relabelings", "metricRelabelings", "tlsConfig", "bearerTokenSecret", "basicAuth"}
PROMETHEUSRULE_SPEC = {"groups"}
PROMETHEUSRULE_GROUP = {"name", "interval", "rules", "limit", "partial_response_strategy"}
PROMETHEUSRULE_RULE = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
METADATA = {"name", "namespace", "labels", "annotations"}

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def unknown(where, mapping, allowed):
    for key in sorted(set(mapping) - allowed):
        problem(where, f"field {key!r} is not one of the monitoring.coreos.com/v1 fields checked here")


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def check_servicemonitor(where, doc):
    unknown(f"{where} metadata", doc.get("metadata", {}), METADATA)
    spec = doc.get("spec") or {}
    unknown(f"{where} spec", spec, SERVICEMONITOR_SPEC)
    if not (spec.get("selector") or {}).get("matchLabels"):
        problem(where, "spec.selector.matchLabels is empty: it would select every Service")
    if not spec.get("endpoints"):
        problem(where, "no endpoints")
    for i, endpoint in enumerate(spec.get("endpoints") or []):
        unknown(f"{where} endpoints[{i}]", endpoint, SERVICEMONITOR_ENDPOINT)
        for field in ("interval", "scrapeTimeout"):
            if field in endpoint and not DURATION.match(str(endpoint[field])):
                problem(where, f"endpoints[{i}].{field} {endpoint[field]!r} is not a Prometheus duration")


def check_prometheusrule(where, doc):
    unknown(f"{where} metadata", doc.get("metadata", {}), METADATA)
    spec = doc.get("spec") or {}
    unknown(f"{where} spec", spec, PROMETHEUSRULE_SPEC)
    for group in spec.get("groups") or []:
        unknown(f"{where} group {group.get('name')}", group, PROMETHEUSRULE_GROUP)
        for rule in group.get("rules") or []:
            name = rule.get("alert") or rule.get("record")
            unknown(f"{where} rule {name}", rule, PROMETHEUSRULE_RULE)
            if ("alert" in rule) == ("record" in rule) or not rule.get("expr"):
                problem(where, f"rule {name}: needs exactly one of alert/record, and an expr")
            for field in ("for", "keep_firing_for"):
                if field in rule and not DURATION.match(str(rule[field])):
                    problem(where, f"rule {name}: {field} {rule[field]!r} is not a Prometheus duration")


def env_of(container):
    return {e["name"]: e for e in container.get("env") or []}


def check_fit(name, docs):
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    if len(workloads) != 1:
        problem(name, f"expected one Deployment or StatefulSet, found {len(workloads)}")
        return None
    workload = workloads[0]
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    if not selects(workload["spec"]["selector"]["matchLabels"], pod_labels):
        problem(name, "the workload's selector does not match its pod template")
    container = workload["spec"]["template"]["spec"]["containers"][0]
    port_names = {p.get("name") for p in container.get("ports") or []}
    namespace = workload["metadata"].get("namespace")
    for doc in docs:
        if doc["metadata"].get("namespace") != namespace:
            problem(name, f"{doc['kind']}/{doc['metadata']['name']} is in namespace "
                          f"{doc['metadata'].get('namespace')!r}, the workload in {namespace!r}")

    services = by_kind.get("Service", [])
    monitors = by_kind.get("ServiceMonitor", [])
    if len(monitors) != 1:
        problem(name, f"expected one ServiceMonitor, found {len(monitors)}")
    for monitor in monitors:
        chosen = [s for s in services if selects(monitor["spec"]["selector"]["matchLabels"],
                                                 s["metadata"].get("labels") or {})]
        if len(chosen) != 1:
            problem(name, f"the ServiceMonitor selects {len(chosen)} Services; exactly one, or "
                          "each exporter is scraped as many times (or not at all)")
            continue
        service = chosen[0]
        # The operator names the job after the Service unless jobLabel says otherwise.
        job = service["metadata"]["name"] if "jobLabel" not in monitor["spec"] else None
        if job != JOB:
            problem(name, f"scrape job would be {job!r}; the alerts select job={JOB!r}")
        if not selects(service["spec"].get("selector"), pod_labels):
            problem(name, "the Service's selector does not match the pods")
        service_ports = {p.get("name"): p for p in service["spec"].get("ports") or []}
        for endpoint in monitor["spec"].get("endpoints") or []:
            if endpoint.get("port") not in service_ports:
                problem(name, f"ServiceMonitor port {endpoint.get('port')!r} is not a port of the Service")
        for port in service_ports.values():
            if isinstance(port.get("targetPort"), str) and port["targetPort"] not in port_names:
                problem(name, f"Service targetPort {port['targetPort']!r} is not a container port")

    if workload["kind"] == "StatefulSet":
        check_shards(name, workload, container, services)
    return container.get("image")


def check_shards(name, statefulset, container, services):
    spec = statefulset["spec"]
    env = env_of(container)
    count = env.get("IAM_EXPORTER_SHARD_COUNT", {}).get("value")
    if str(spec.get("replicas")) != str(count):
        problem(name, f"replicas {spec.get('replicas')} but IAM_EXPORTER_SHARD_COUNT {count!r}: "
                      "shards would be missing or doubled")
    index = (env.get("IAM_EXPORTER_SHARD_INDEX", {}).get("valueFrom") or {}).get("fieldRef") or {}
    if index.get("fieldPath") != "metadata.labels['apps.kubernetes.io/pod-index']":
        problem(name, f"IAM_EXPORTER_SHARD_INDEX is not the pod ordinal: {index!r}")
    governing = [s for s in services if s["metadata"]["name"] == spec.get("serviceName")]
    if len(governing) != 1 or governing[0]["spec"].get("clusterIP") != "None":
        problem(name, f"serviceName {spec.get('serviceName')!r} is not a headless Service")
    for arg in container.get("args") or []:
        if arg.startswith("--shard."):
            problem(name, f"{arg} in args overrides the environment")


def main(pairs):
    images = {}
    for pair in pairs:
        name, _, path = pair.partition("=")
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        if not docs:
            problem(name, "renders no object")
            continue
        for doc in docs:
            where = f"{name} {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
            if doc.get("apiVersion") == "monitoring.coreos.com/v1":
                if doc["kind"] == "ServiceMonitor":
                    check_servicemonitor(where, doc)
                elif doc["kind"] == "PrometheusRule":
                    check_prometheusrule(where, doc)
                else:
                    problem(where, "a Prometheus Operator kind this check does not know")
                continue
            for version in KUBERNETES_VERSIONS:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except kubernetes_validate.ValidationError as e:
                    path = ".".join(str(p) for p in e.path)
                    problem(where, f"Kubernetes {version}: {path}: {e.message}")
                except kubernetes_validate.SchemaNotFoundError as e:
                    problem(where, f"Kubernetes {version}: no schema: {e}")
        images[name] = check_fit(name, docs)
    if len(set(images.values())) > 1:
        problem("images", f"kustomizations run different images: {images}")
    for line in problems:
        print(line)
    print(f"checked {len(pairs)} kustomizations against Kubernetes {', '.join(KUBERNETES_VERSIONS)}: "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
