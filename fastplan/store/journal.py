"""Journal records: a finished work unit encoded as one .npz file, and decoded back."""
from __future__ import annotations

import io
import json

import numpy as np


def _encode_result(result: dict) -> bytes:
    """A work-unit result (dict of arrays and JSON-able scalars) as npz bytes (no pickle)."""
    arrays, meta = {}, {}
    for k, v in result.items():
        if isinstance(v, np.ndarray):
            arrays[k] = v
        else:
            meta[k] = v
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(json.dumps(meta)), **arrays)
    return buf.getvalue()


def _decode_result(data) -> dict:
    with np.load(data, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files if k != "__meta__"}
        out.update(json.loads(str(z["__meta__"])))
    return out
