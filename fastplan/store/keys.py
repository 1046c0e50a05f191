"""Configuration keys: a configuration's canonical JSON key and its 16-hex-digit id."""
from __future__ import annotations

import hashlib
import json


def canonical_json(obj) -> str:
    """Canonical JSON (sorted keys, no spaces; floats written by ``repr`` so they round-trip)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


#: Key entries a sweep's own inputs may add (``fastplan sweep --world/--latents/--starts-goals``).
INPUT_KEYS = ("world", "latents", "starts_goals")


def config_key(geometry: str, d: int, horizon: int, planner: str, geometry_usage: str,
               hyperparameters: dict, execution: str = "latent", inputs: dict | None = None,
               arithmetic: str = "exact") -> dict:
    """The key of a configuration: everything that determines a run except its seed.

    ``execution`` enters the key only when it is not the default ``"latent"``, and ``inputs``
    (the content hashes of a user's world model, latents and starts/goals file, see
    :mod:`fastplan.runs.inputs`) only when given, and ``arithmetic`` (the process's
    ``FASTPLAN_ARITHMETIC`` mode, :mod:`fastplan.engine.arithmetic`) only when it is not
    ``"exact"``, so the ids of default configurations are those of files written before the
    options existed, and runs of the fast mode never share a configuration with exact ones.
    """
    key = {"geometry": str(geometry), "d": int(d), "horizon": int(horizon),
           "planner": str(planner), "geometry_usage": str(geometry_usage),
           "hyperparameters": dict(hyperparameters)}
    if str(execution) != "latent":
        key["execution"] = str(execution)
    if str(arithmetic) != "exact":
        key["arithmetic"] = str(arithmetic)
    for name, value in (inputs or {}).items():
        if name not in INPUT_KEYS:
            raise ValueError(f"unknown input {name!r} in a configuration key")
        key[name] = value
    return key


def config_id(key: dict) -> str:
    """16 hex digits of SHA-256 over :func:`canonical_json` of a :func:`config_key`."""
    return hashlib.sha256(canonical_json(key).encode()).hexdigest()[:16]
