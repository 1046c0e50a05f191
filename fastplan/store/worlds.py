"""World models in a results file: each stored once under ``/worlds/<content hash>/``.

A run refers to its world model by :meth:`~fastplan.engine.worlds.World.content_hash`
(64 hex digits of SHA-256 over the family and the arrays), in the per-run dataset ``world``.
The paper's grid plans every (d, seed) world with 5 planners x 3 geometries x 3 horizons,
so files written before this layout held each one 45 times (A and B were 66 % of the bytes).

A group ``/worlds/<hash>/`` holds the family's arrays (``A``, ``B``, ``b`` for the paper's
Eq. 4; ``W0``, ``c0``, ... for an MLP), each with an attribute ``dtype`` (the array's NumPy
dtype, so text arrays come back as they went in and the hash re-computes), and attributes
``family``, ``n`` (state dimension), ``d`` (action dimension), ``content_hash`` and
``provenance``: a JSON list of where the model came from (``{"family", "n", "d", "seed"}``
for a world drawn from a seed; ``{..., "source": path}`` for a file), one entry per origin.

Work-unit results carry the same: ``world`` (P,) hashes and ``worlds``, a dict
``hash -> {"family", "provenance", "arrays"}`` (:func:`entry`).  Files and journal units
written before it hold ``A``, ``B``, ``b`` per run ("inline"); they stay readable
(:func:`inline_hashes`, :func:`refs_from_inline`).
"""
from __future__ import annotations

import json

import numpy as np

from ..engine.errors import FastplanError

#: The group holding the world models.
GROUP = "worlds"
#: Per-run datasets of files written before world models were stored once (Eq. 4 only).
INLINE_FIELDS = ("A", "B", "b")
#: HDF5 type of the per-run ``world`` dataset (a SHA-256 in hex).
HASH_DTYPE = "S64"


def entry(world, provenance: dict | None = None) -> dict:
    """What a unit result carries for one world model: family, provenance, arrays."""
    return {"family": world.family, "provenance": dict(provenance or world.provenance()),
            "arrays": {k: np.asarray(v) for k, v in world.arrays().items()}}


def rebuild(family: str, arrays: dict):
    """The :class:`~fastplan.engine.worlds.World` of ``family`` from its arrays (checked by
    the family's loader; one-line :class:`FastplanError` for an unknown family)."""
    from ..engine import registry
    spec = registry.world(str(family))
    if spec.from_arrays is None:
        raise FastplanError(f"world family {family!r} cannot be rebuilt from stored arrays")
    return spec.from_arrays(dict(arrays))


# --------------------------------------------------------------------------- unit results

def worlds_nbytes(result: dict) -> int:
    """Bytes of the world-model arrays a unit result carries."""
    return sum(int(np.asarray(a).nbytes) for e in (result.get("worlds") or {}).values()
               for a in e["arrays"].values())


def flatten(result: dict) -> tuple[dict, dict]:
    """(arrays, meta) of a result's ``worlds`` for a journal file: arrays under
    ``worlds/<hash>/<name>``, family and provenance in the JSON meta."""
    arrays, meta = {}, {}
    for h, e in (result.get("worlds") or {}).items():
        meta[h] = {"family": e["family"], "provenance": e["provenance"], "names": sorted(e["arrays"])}
        for name, a in e["arrays"].items():
            arrays[f"{GROUP}/{h}/{name}"] = np.asarray(a)
    return arrays, meta


def unflatten(arrays: dict, meta: dict) -> dict:
    """The inverse of :func:`flatten`."""
    return {h: {"family": m["family"], "provenance": m["provenance"],
                "arrays": {name: arrays[f"{GROUP}/{h}/{name}"] for name in m["names"]}}
            for h, m in meta.items()}


def refs_from_inline(result: dict) -> dict:
    """A plan unit result journaled before world models were stored once (``A``, ``B``, ``b``
    per run) in today's form (``world`` hashes and ``worlds``); other results unchanged."""
    if result.get("kind") != "plan" or "world" in result or "A" not in result:
        return result
    from ..engine.worlds.tanh import TanhWorld
    out = {k: v for k, v in result.items() if k not in INLINE_FIELDS}
    hashes, worlds = [], {}
    for i, seed in enumerate(np.asarray(result["seeds"]).tolist()):
        w = TanhWorld(A=np.asarray(result["A"][i], dtype=np.float64), B=np.asarray(result["B"][i], dtype=np.float64),
                      b=np.asarray(result["b"][i], dtype=np.float64), seed=int(seed))
        h = w.content_hash()
        hashes.append(h)
        worlds.setdefault(h, entry(w))
    out["world"] = np.array(hashes, dtype=str)
    out["worlds"] = worlds
    return out


def check_refs(result: dict, P: int, d: int) -> int:
    """Refuse (:class:`FastplanError`) a plan unit whose world references are broken: a run's
    hash without its world in the unit, a world whose arrays give another hash, another action
    dimension than the key's d, or worlds of different state dimensions.  Returns n."""
    hashes = np.asarray(result.get("world", ()))
    if "world" not in result:
        raise FastplanError("has no 'world'")
    if hashes.ndim != 1 or hashes.shape[0] != P or hashes.dtype.kind not in "US":
        raise FastplanError(f"world has shape {hashes.shape} and dtype {hashes.dtype}, expected ({P},) hashes")
    worlds = result.get("worlds")
    if not isinstance(worlds, dict):
        raise FastplanError("has no 'worlds' (the world models its runs refer to)")
    ns = set()
    for h in dict.fromkeys(str(x) for x in hashes.tolist()):
        e = worlds.get(h)
        if e is None:
            raise FastplanError(f"refers to world {h[:16]}... but does not carry it")
        try:
            w = rebuild(e["family"], e["arrays"])
        except (KeyError, TypeError) as exc:
            raise FastplanError(f"carries an unreadable world {h[:16]}... ({exc})") from None
        if w.content_hash() != h:
            raise FastplanError(f"carries world {h[:16]}... whose arrays hash to {w.content_hash()[:16]}...")
        if w.d != d:
            raise FastplanError(f"world {h[:16]}... has action dimension {w.d}, the key d={d}")
        ns.add(w.n)
    if len(ns) != 1:
        raise FastplanError(f"its worlds have different state dimensions {sorted(ns)}")
    return ns.pop()


# --------------------------------------------------------------------------- reading a file

def _decoded(ds) -> np.ndarray:
    value = ds[()]
    dtype = ds.attrs.get("dtype")
    if dtype is None:
        return np.asarray(value)
    dtype = dtype.decode() if isinstance(dtype, bytes) else str(dtype)
    return np.asarray(value).astype(np.dtype(dtype))


def world_arrays(group) -> dict:
    """The arrays of a ``/worlds/<hash>/`` group, with their dtypes as written."""
    return {name: _decoded(ds) for name, ds in group.items()}


def world_from_group(group):
    """The :class:`~fastplan.engine.worlds.World` a ``/worlds/<hash>/`` group holds."""
    family = group.attrs["family"]
    family = family.decode() if isinstance(family, bytes) else str(family)
    return rebuild(family, world_arrays(group))


def group_info(h: str, group) -> dict:
    """``{content_hash, family, n, d, provenance (list of dicts), arrays (names)}``."""
    from .files import _str
    return {"content_hash": h, "family": _str(group.attrs["family"]), "n": int(group.attrs["n"]),
            "d": int(group.attrs["d"]), "provenance": json.loads(_str(group.attrs["provenance"])),
            "arrays": sorted(group)}


def inline_hashes(g, done=None) -> np.ndarray:
    """Content hashes of the world models a configuration group of the inline layout holds
    (``A``, ``B``, ``b`` per run): equal to those of the same worlds stored once."""
    from ..engine.worlds.tanh import TanhWorld
    A, B, b = g["A"][()], g["B"][()], g["b"][()]
    rows = range(A.shape[0]) if done is None else np.flatnonzero(done)
    return np.array([TanhWorld(A=A[i], B=B[i], b=b[i]).content_hash() for i in rows], dtype=str)


def hashes_of(g, done=None) -> np.ndarray:
    """The per-run world hashes of a configuration group (either layout)."""
    if "world" in g:
        h = g["world"][()]
        h = h if done is None else h[done]
        return np.array([x.decode() if isinstance(x, bytes) else str(x) for x in h.tolist()], dtype=str)
    return inline_hashes(g, done)


def resolve(f, g, done) -> tuple[np.ndarray, dict]:
    """(world hashes (n,), {hash: World}) of a configuration group's complete rows; inline
    rows are rebuilt from their own A, B, b."""
    hashes = hashes_of(g, done)
    worlds = {}
    if "world" in g:
        for h in dict.fromkeys(hashes.tolist()):
            if GROUP not in f or h not in f[GROUP]:
                raise FastplanError(f"configuration {g.attrs.get('config_id', '?')} refers to world "
                                    f"{h[:16]}..., which the file lacks")
            worlds[h] = world_from_group(f[GROUP][h])
    else:
        from ..engine.worlds.tanh import TanhWorld
        A, B, b = (g[k][()][done] for k in INLINE_FIELDS)
        for i, h in enumerate(hashes.tolist()):
            worlds.setdefault(h, TanhWorld(A=A[i], B=B[i], b=b[i]))
    return hashes, worlds


def stacked_tanh(hashes, worlds) -> dict:
    """``A``, ``B``, ``b`` stacked per run when every world is of the paper's family (the
    arrays readers of the first layout used), else an empty dict."""
    if not hashes.size or any(worlds[h].family != "tanh" for h in worlds):
        return {}
    return {k: np.stack([np.asarray(worlds[h].arrays()[k]) for h in hashes.tolist()])
            for k in INLINE_FIELDS}
