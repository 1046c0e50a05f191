"""The journal of a results file: the folder ``<file>.journal/``, its unit files (a finished
work unit encoded as one .npz file each) and their encoding."""
from __future__ import annotations

import glob
import io
import json
import os

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


#: File-name pattern of journaled units inside the journal folder.
UNIT_PATTERN = "unit-*.npz"


def journal_dir(path) -> str:
    """The journal folder of results file ``path``: ``<path>.journal``."""
    return os.fspath(path) + ".journal"


def pending_units(path) -> list[str]:
    """Journaled units of ``path`` not yet folded into it (an interrupted or running sweep)."""
    return sorted(glob.glob(os.path.join(journal_dir(os.path.abspath(path)), UNIT_PATTERN)))


def pending_note(path) -> str | None:
    """One line about units waiting in the journal of ``path``, or None."""
    units = pending_units(path)
    if not units:
        return None
    return (f"note: {len(units)} finished work units of an interrupted (or running) sweep wait in "
            f"{os.path.basename(journal_dir(path))}/; re-running the sweep folds them in")
