"""Configuration keys: a configuration's canonical JSON key and its 16-hex-digit id."""
from __future__ import annotations

import hashlib
import json


def canonical_json(obj) -> str:
    """Canonical JSON (sorted keys, no spaces; floats written by ``repr`` so they round-trip)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_key(geometry: str, d: int, horizon: int, planner: str, geometry_usage: str,
               hyperparameters: dict, execution: str = "latent") -> dict:
    """The key of a configuration: everything that determines a run except its seed.

    ``execution`` enters the key only when it is not the default ``"latent"``, so the ids of
    default configurations are those of files written before the option existed.
    """
    key = {"geometry": str(geometry), "d": int(d), "horizon": int(horizon),
           "planner": str(planner), "geometry_usage": str(geometry_usage),
           "hyperparameters": dict(hyperparameters)}
    if str(execution) != "latent":
        key["execution"] = str(execution)
    return key


def config_id(key: dict) -> str:
    """16 hex digits of SHA-256 over :func:`canonical_json` of a :func:`config_key`."""
    return hashlib.sha256(canonical_json(key).encode()).hexdigest()[:16]
