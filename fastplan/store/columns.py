"""The per-run columns of a configuration group, whatever its layout.

Format 3 keeps a configuration's per-run fields as the named fields of one compound (structured)
dataset ``runs`` (one row per run); formats 1 and 2 kept one dataset per field.  Readers ask
:func:`columns` for a configuration's fields by name and get the same NumPy arrays (same values,
dtypes and row shapes) from either layout.
"""
from __future__ import annotations

import numpy as np

from .layout import RUNS


def is_table(g) -> bool:
    """Whether configuration group ``g`` holds its runs in one compound dataset (format 3)."""
    return RUNS in g


class Columns:
    """Read-only mapping ``name -> ndarray`` of the per-run fields of configuration group ``g``
    (all rows, complete or not), with ``attrs`` the group's attributes.

    Parameters
    ----------
    g : h5py.Group
        A ``/configs/<config_id>`` group of either layout.
    fields : sequence of str, optional
        For a format-3 group: the fields read together at the first access (default: all);
        any other field is read on its own when asked for.
    """

    def __init__(self, g, fields=None):
        self.group = g
        self.attrs = g.attrs
        self._ds = g[RUNS] if RUNS in g else None
        self._table = None
        if self._ds is not None:
            self._names = tuple(self._ds.dtype.names)
            self._extra = tuple(k for k in g if k != RUNS)       # optional datasets (``trace``)
            self._read = self._names if fields is None else tuple(k for k in fields if k in self._names)
        else:
            self._names = tuple(g)
            self._extra = ()

    def __contains__(self, name) -> bool:
        return name in self._names or name in self._extra

    def __iter__(self):
        return iter(self._names + self._extra)

    def keys(self):
        return list(self)

    def __getitem__(self, name: str) -> np.ndarray:
        if self._ds is None or name in self._extra:
            return self.group[name][()]
        if name not in self._names:
            raise KeyError(name)
        if name in self._read:
            if self._table is None:            # the fields wanted, in one read
                self._table = self._ds[()] if self._read == self._names else self._ds.fields(list(self._read))[()]
            return np.ascontiguousarray(self._table[name])
        return np.ascontiguousarray(self._ds.fields(name)[()])

    def __len__(self) -> int:
        return len(self._names) + len(self._extra)

    @property
    def n_rows(self) -> int:
        """Rows (runs, complete or not) of the group."""
        return int((self._ds if self._ds is not None else self.group["seed"]).shape[0])


def columns(g, fields=None) -> Columns:
    """:class:`Columns` of configuration group ``g`` (``fields``: those to read together)."""
    return Columns(g, fields)
