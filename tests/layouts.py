"""Test helpers for the results file's layouts (h5py + NumPy only): a configuration's per-run
fields whatever its layout, and a format-3 file rewritten in the layout of format 2."""
from __future__ import annotations

import h5py
import numpy as np


def runs_view(g):
    """The per-run fields of configuration group ``g``: the structured array of its ``runs``
    table (format 3), or the group itself (formats 1 and 2).  Either way ``view[name][()]`` is
    a whole field and ``view[name][i]`` run i."""
    return g["runs"][()] if "runs" in g else g


def field_names(view) -> set:
    """Names of the per-run fields of a :func:`runs_view`."""
    return set(view.dtype.names) if isinstance(view, np.ndarray) else set(view)


def to_second_layout(path) -> None:
    """Rewrite the file in place in the layout of format 2: each field of every ``runs`` table
    one extensible dataset of its own (what fastplan wrote before format 3), format_version 2."""
    with h5py.File(path, "r+") as f:
        for g in f["configs"].values():
            if "runs" not in g:
                continue
            table = g["runs"][()]
            del g["runs"]
            for name in table.dtype.names:
                v = np.ascontiguousarray(table[name])
                g.create_dataset(name, data=v, maxshape=(None,) + v.shape[1:], chunks=True)
        f.attrs["format_version"] = 2
