"""Compare the stored numbers of two results files, value for value.

Usage (from the repository root)::

    python -m bench.compare_results before.h5 after.h5

Every dataset under ``/configs/<config_id>/``, ``/worlds/<hash>/`` and ``/geometry_metrics/``
of either file is compared by its bit patterns (floats exactly, NaN payloads and the sign of
zero included), with the rows of each group put in a canonical order first (by seed; the metric
table by geometry, d, seed, samples): the order in which work units finished is not a stored
number.  The attributes of each configuration group and each world model are compared too.
A configuration's per-run fields compare by name whatever the layout (one dataset per field in
formats 1 and 2, the fields of one compound dataset ``runs`` in format 3).

Not compared, because they measure the run rather than its results: ``wall_time``,
``batch_wall_time`` (seconds), ``session`` (which sweep wrote the row), and the file's and
sessions' provenance attributes (dates, versions, command line).  ``threads`` is compared
(both files must have been written with the same thread count; the results do not depend on
it, see "Same seed, same result").

Exit status 0 when every compared value is equal, 1 otherwise (each difference printed).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

#: Per-run datasets that measure the run, not its results.
NOT_COMPARED = frozenset({"wall_time", "batch_wall_time", "session"})


def _bits(a: np.ndarray) -> np.ndarray:
    """Floats as their bit patterns (so -0.0 != 0.0 and NaN payloads count); others as is."""
    if a.dtype.kind == "f":
        return a.view(np.int64 if a.dtype.itemsize == 8 else np.int32)
    return a


def _group_arrays(g) -> dict:
    """The group's datasets by name; the fields of a compound dataset (a format-3 configuration's
    ``runs`` table) by field name, so that files of either layout compare field for field."""
    out = {}
    for k in g:
        if not hasattr(g[k], "shape"):
            continue
        v = g[k][()]
        if getattr(v, "dtype", None) is not None and v.dtype.names:
            out.update({name: np.ascontiguousarray(v[name]) for name in v.dtype.names})
        else:
            out[k] = v
    return out


def _sorted_rows(arrays: dict, order_keys: tuple) -> dict:
    """The arrays with their rows in a canonical order (lexicographic on ``order_keys``),
    only complete rows kept."""
    n = len(arrays["complete"]) if "complete" in arrays else None
    keep = np.asarray(arrays["complete"], dtype=bool) if n is not None else None
    cols = [np.asarray(arrays[k]) for k in reversed(order_keys)]
    order = np.lexsort(cols)
    if keep is not None:
        order = order[keep[order]]
    return {k: np.asarray(v)[order] for k, v in arrays.items()}


def compare(path_a: str, path_b: str) -> list[str]:
    """Lines describing every difference of the stored numbers (empty: equal)."""
    import h5py
    diffs = []
    with h5py.File(path_a, "r") as fa, h5py.File(path_b, "r") as fb:
        ca, cb = set(fa.get("configs", {})), set(fb.get("configs", {}))
        for cid in sorted(ca ^ cb):
            diffs.append(f"configs/{cid}: only in {'the first' if cid in ca else 'the second'} file")
        n_values = 0
        for cid in sorted(ca & cb):
            ga, gb = fa["configs"][cid], fb["configs"][cid]
            for k in sorted(set(ga.attrs) | set(gb.attrs)):
                va, vb = ga.attrs.get(k), gb.attrs.get(k)
                if not np.array_equal(np.asarray(va), np.asarray(vb)):
                    diffs.append(f"configs/{cid} attribute {k}: {va!r} != {vb!r}")
            a = _sorted_rows(_group_arrays(ga), ("seed",))
            b = _sorted_rows(_group_arrays(gb), ("seed",))
            for name in sorted(set(a) | set(b)):
                if name in NOT_COMPARED:
                    continue
                if name not in a or name not in b:
                    diffs.append(f"configs/{cid}/{name}: only in one file")
                    continue
                x, y = a[name], b[name]
                n_values += x.size
                if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(_bits(x), _bits(y)):
                    diffs.append(f"configs/{cid}/{name}: differs ({_describe(x, y)})")
        wa, wb = set(fa.get("worlds", {})), set(fb.get("worlds", {}))
        for h in sorted(wa ^ wb):
            diffs.append(f"worlds/{h}: only in {'the first' if h in wa else 'the second'} file")
        for h in sorted(wa & wb):
            ga, gb = fa["worlds"][h], fb["worlds"][h]
            for k in sorted(set(ga.attrs) | set(gb.attrs)):
                if not np.array_equal(np.asarray(ga.attrs.get(k)), np.asarray(gb.attrs.get(k))):
                    diffs.append(f"worlds/{h} attribute {k} differs")
            for name in sorted(set(ga) | set(gb)):
                if name not in ga or name not in gb:
                    diffs.append(f"worlds/{h}/{name}: only in one file")
                    continue
                x, y = ga[name][()], gb[name][()]
                n_values += np.size(x)
                if np.shape(x) != np.shape(y) or not np.array_equal(_bits(np.asarray(x)), _bits(np.asarray(y))):
                    diffs.append(f"worlds/{h}/{name}: differs")
        if ("geometry_metrics" in fa) != ("geometry_metrics" in fb):
            diffs.append("geometry_metrics: only in one file")
        elif "geometry_metrics" in fa:
            keys = ("geometry", "d", "seed", "n_samples")
            a = _sorted_rows(_group_arrays(fa["geometry_metrics"]), keys)
            b = _sorted_rows(_group_arrays(fb["geometry_metrics"]), keys)
            for name in sorted(set(a) | set(b)):
                if name in NOT_COMPARED:
                    continue
                if name not in a or name not in b:
                    diffs.append(f"geometry_metrics/{name}: only in one file")
                    continue
                x, y = a[name], b[name]
                n_values += x.size
                if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(_bits(x), _bits(y)):
                    diffs.append(f"geometry_metrics/{name}: differs ({_describe(x, y)})")
    compare.n_values = n_values
    return diffs


def _describe(x, y) -> str:
    if x.shape != y.shape or x.dtype != y.dtype:
        return f"{x.dtype}{x.shape} against {y.dtype}{y.shape}"
    ne = _bits(x) != _bits(y)
    where = np.argwhere(ne)
    first = tuple(int(i) for i in where[0]) if len(where) else ()
    return f"{int(ne.sum())} of {x.size} values, first at {first}: {x[first]!r} against {y[first]!r}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first")
    parser.add_argument("second")
    args = parser.parse_args(argv)
    diffs = compare(args.first, args.second)
    for line in diffs:
        print(line)
    n = getattr(compare, "n_values", 0)
    print(f"{'equal' if not diffs else f'{len(diffs)} differences'}: {n} stored values compared "
          f"(wall_time, batch_wall_time, session left out)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
