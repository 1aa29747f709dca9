#!/usr/bin/env python3
"""Validates Flux `Kustomization` documents against the Flux CRD's schema.

The schema comes from PyPI's `cloudcoil-models-fluxcd` (pydantic models
generated from Flux's CRDs; 2.5.1.0 is Flux v2.5.1). Its models ignore
unknown fields, so every model of the module is rebuilt with `extra =
"forbid"` first: a misspelt or invented field fails, as the API server's
structural schema would prune it silently.

Usage: flux_kustomization.py FILE...  (YAML, several documents each)
Prints `passed for kustomization/<name>` per valid document.
Exit: 0 all valid, 1 a document is invalid, 3 the oracle is not installed.
"""
import inspect
import sys

try:
    import pydantic
    import yaml
    import cloudcoil.models.fluxcd.kustomize.v1 as v1
except ImportError as e:  # the test decides whether a missing oracle fails
    print(f"oracle not installed: {e}", file=sys.stderr)
    sys.exit(3)

MODELS = [
    cls
    for _, cls in inspect.getmembers(v1, inspect.isclass)
    if issubclass(cls, pydantic.BaseModel) and cls.__module__ == v1.__name__
]
for cls in MODELS:
    cls.model_config["extra"] = "forbid"
# A model embeds its fields' schemas when built: rebuild until every nested
# model has the strict config (the nesting is shallower than the model count).
for _ in range(len(MODELS)):
    for cls in MODELS:
        cls.model_rebuild(force=True)

failed = False
seen = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        if doc.get("kind") != "Kustomization" or not str(doc.get("apiVersion", "")).startswith(
            "kustomize.toolkit.fluxcd.io/"
        ):
            continue
        seen += 1
        name = doc.get("metadata", {}).get("name", "?")
        if doc["apiVersion"] != "kustomize.toolkit.fluxcd.io/v1":
            print(f"{path}: kustomization/{name}: apiVersion {doc['apiVersion']} is not v1")
            failed = True
            continue
        try:
            v1.Kustomization.model_validate(doc)
        except pydantic.ValidationError as e:
            print(f"{path}: kustomization/{name}: {e}")
            failed = True
            continue
        print(f"passed for kustomization/{name}")
if seen == 0:
    print("no Flux Kustomization in the files")
    failed = True
sys.exit(1 if failed else 0)
