#!/usr/bin/env python3
"""Validates prometheus-operator objects (PrometheusRule, Probe, ScrapeConfig,
ServiceMonitor) against the operator's CRD schemas.

The schemas come from PyPI's `cloudcoil-models-prometheus-operator` (pydantic
models generated from the operator's CRDs; 0.80.1.0 is prometheus-operator
v0.80.1). Its models ignore unknown fields, so every model is rebuilt with
`extra = "forbid"` first (as tests/oracles/flux_kustomization.py does): a
misspelt or invented field fails, as the API server's structural schema would
prune it silently.

Usage: prometheus_operator.py FILE...  (YAML, several documents each)
Prints `passed for <kind>/<name>` per valid document.
Exit: 0 all valid, 1 a document is invalid, 3 the oracle is not installed.
"""
import sys

try:
    import pydantic
    import yaml
    import cloudcoil.models.prometheus_operator.v1 as v1
    import cloudcoil.models.prometheus_operator.v1alpha1 as v1alpha1
except ImportError as e:  # the test decides whether a missing oracle fails
    print(f"oracle not installed: {e}", file=sys.stderr)
    sys.exit(3)

KINDS = {
    ("monitoring.coreos.com/v1", "PrometheusRule"): v1.PrometheusRule,
    ("monitoring.coreos.com/v1", "Probe"): v1.Probe,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): v1.ServiceMonitor,
    ("monitoring.coreos.com/v1alpha1", "ScrapeConfig"): v1alpha1.ScrapeConfig,
}



def dropped(doc, kept, path=""):
    """The paths of `doc` that the validated model did not keep: the fields the
    schema does not have (pydantic ignores them, as the API server prunes them)."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if not isinstance(kept, dict) or k not in kept:
                out.append(f"{path}.{k}")
            else:
                out += dropped(v, kept[k], f"{path}.{k}")
    elif isinstance(doc, list) and isinstance(kept, list):
        for i, (a, b) in enumerate(zip(doc, kept)):
            out += dropped(a, b, f"{path}[{i}]")
    return out


failed = False
seen = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        api, kind = str(doc.get("apiVersion", "")), doc.get("kind")
        if not api.startswith("monitoring.coreos.com/"):
            continue
        seen += 1
        name = doc.get("metadata", {}).get("name", "?")
        model = KINDS.get((api, kind))
        if model is None:
            print(f"{path}: {kind}/{name}: {api} {kind} is not a kind this oracle knows")
            failed = True
            continue
        try:
            kept = model.model_validate(doc).model_dump(by_alias=True, exclude_unset=True, mode="json")
        except pydantic.ValidationError as e:
            print(f"{path}: {kind.lower()}/{name}: {e}")
            failed = True
            continue
        unknown = dropped(doc, kept)
        if unknown:
            print(f"{path}: {kind.lower()}/{name}: fields not in the CRD's schema: {', '.join(unknown)}")
            failed = True
            continue
        print(f"passed for {kind.lower()}/{name}")
if seen == 0:
    print("no prometheus-operator object in the files")
    failed = True
sys.exit(1 if failed else 0)
