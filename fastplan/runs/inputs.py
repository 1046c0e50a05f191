"""A user's own inputs to plans and sweeps: a world model, latent actions, starts and goals.

``fastplan plan`` and ``fastplan sweep`` take ``--world model.npz``
(:func:`fastplan.engine.worlds.load_world`), ``--latents latents.npy`` (a geometry fitted to
them per replicate seed by :func:`fastplan.engine.geometry_fit.geometry_from_samples`) and
``--starts-goals FILE.npz`` (arrays ``s0`` and ``goal`` of shape (K, n): replicate seed k
starts at ``s0[k]`` and aims at ``goal[k]``).  :class:`Inputs` holds them, checks that they
fit together, builds each replicate's :class:`~fastplan.engine.problem.Problem`, and names
them in a configuration key by content hash (a moved or renamed file is the same input; an
edited one is another configuration), with their paths recorded beside.

Without a file for it, a replicate's world model, geometry, start and goal are the paper's
(drawn from the seed); a user's world of state dimension n gets starts and goals drawn as the
paper's, of dimension n.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ..engine.errors import FastplanError, as_array, check_positive_int, check_seed


def array_hash(kind: str, arrays: dict) -> str:
    """SHA-256 (hex) of ``kind`` and every array's name, dtype, shape and bytes (the scheme of
    :meth:`fastplan.engine.worlds.World.content_hash`)."""
    h = hashlib.sha256(kind.encode())
    for name, arr in sorted(arrays.items()):
        arr = np.ascontiguousarray(arr)
        h.update(f"|{name}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- files

def load_latents(path) -> np.ndarray:
    """An (n, d) array from a ``.npy`` file, or a ``.npz`` file holding one array (or one
    named ``latents``); FastplanError (one line) for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FastplanError(f"{path}: no such file")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception:  # noqa: BLE001 - OSError, ValueError, EOFError (empty file), pickled objects
        raise FastplanError(f"{path} is not a NumPy .npy/.npz file of numbers") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            names = data.files
            if "latents" in names:
                data = data["latents"]
            elif len(names) == 1:
                data = data[names[0]]
            else:
                raise FastplanError(f"{path} holds {len(names)} arrays; name the latents one 'latents'")
    x = as_array(data, f"latents in {path.name}", ndim=2)
    if x.shape[0] < 2 or x.shape[1] < 1:
        raise FastplanError(f"latents in {path.name} must be an (n, d) array with n >= 2, got {x.shape}")
    return x


def load_starts_goals(path) -> tuple[np.ndarray, np.ndarray]:
    """``(s0, goal)``, each (K, n), from an ``.npz`` file with arrays ``s0`` and ``goal``;
    FastplanError (one line) for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FastplanError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError
            data = {k: z[k] for k in z.files}
    except Exception:  # noqa: BLE001 - a .npy array (no context manager), an empty or damaged file
        raise FastplanError(f"{path} is not a NumPy .npz file (it needs arrays s0 and goal of shape (K, n))") from None
    missing = [k for k in ("s0", "goal") if k not in data]
    if missing:
        raise FastplanError(f"{path.name} has no array {' or '.join(missing)} (it holds "
                            f"{', '.join(sorted(data)) or 'nothing'}; it needs s0 and goal of shape (K, n))")
    s0 = as_array(data["s0"], f"s0 in {path.name}", ndim=2)
    goal = as_array(data["goal"], f"goal in {path.name}", ndim=2)
    if s0.shape != goal.shape or s0.shape[0] < 1 or s0.shape[1] < 1:
        raise FastplanError(f"s0 and goal in {path.name} must both be (K, n) with K, n >= 1, got "
                            f"{s0.shape} and {goal.shape}")
    return s0, goal


# --------------------------------------------------------------------------- the inputs

@dataclass(frozen=True, eq=False)
class Inputs:
    """A plan's or sweep's own inputs (any of them may be absent).

    Attributes
    ----------
    world : World or None
        The world model every replicate plans in (None: the paper's, drawn per (d, seed)).
    latents : ndarray (m, d) or None
        Latent actions; each replicate's geometry is ``geometry_from_samples(latents, fit, k,
        seed, covariance=...)`` (None: the registered geometries).
    s0, goal : ndarray (K, n) or None
        Replicate seed k starts at ``s0[k]`` and aims at ``goal[k]`` (None: drawn from the seed).
    world_path, latents_path, starts_path : str
        Where they came from (recorded; "" for arrays given in memory).
    """

    world: object = None
    latents: np.ndarray | None = None
    s0: np.ndarray | None = None
    goal: np.ndarray | None = None
    fit: str = "gmm"
    k: int = 8
    covariance: str = "diag"
    world_path: str = ""
    latents_path: str = ""
    starts_path: str = ""
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        from ..engine.geometry_fit import COVARIANCES, FIT_KINDS
        fit = str(self.fit).strip().lower()
        if self.covariance not in COVARIANCES:
            raise FastplanError(f"covariance must be one of {', '.join(COVARIANCES)}, got {self.covariance!r}")
        if fit not in FIT_KINDS:
            raise FastplanError(f"unknown fitted geometry kind {self.fit!r}; choose from {', '.join(FIT_KINDS)}")
        object.__setattr__(self, "fit", fit)
        object.__setattr__(self, "k", check_positive_int(self.k, "k (components)"))
        if self.world is not None and self.latents is not None and self.latents.shape[1] != self.world.d:
            raise FastplanError(f"the latents ({_name(self.latents_path, 'latents')}) have d={self.latents.shape[1]}, "
                                f"but the world model's action dimension is {self.world.d}")
        if self.world is not None and self.s0 is not None and self.s0.shape[1] != self.world.n:
            raise FastplanError(f"the starts and goals ({_name(self.starts_path, 'starts')}) have n={self.s0.shape[1]}, "
                                f"but the world model's state dimension is {self.world.n}")
        if self.world is None and self.latents is not None and self.s0 is not None \
                and self.s0.shape[1] != self.latents.shape[1]:
            raise FastplanError(f"the starts and goals ({_name(self.starts_path, 'starts')}) have n={self.s0.shape[1]}, "
                                f"but the latents have d={self.latents.shape[1]} (the paper's world has n = d)")

    def __getstate__(self):
        """Pickled (e.g. to Dask workers) without the problems and fits built so far."""
        return {**self.__dict__, "_cache": {}}

    # -- identity -----------------------------------------------------------------------
    @cached_property
    def world_hash(self) -> str:
        return self.world.content_hash()

    @cached_property
    def key(self) -> dict:
        """Entries of a configuration key (:func:`fastplan.store.config_key`): content hashes."""
        key = {}
        if self.world is not None:
            key["world"] = self.world_hash
        if self.latents is not None:
            key["latents"] = {"content_hash": self._latents_hash, "fit": self.fit, "k": self.k,
                              "covariance": self.covariance}
        if self.s0 is not None:
            key["starts_goals"] = self._starts_hash
        return key

    @cached_property
    def key_json(self) -> str:
        from ..store import canonical_json
        return canonical_json(self.key)

    @cached_property
    def _latents_hash(self) -> str:
        return array_hash("latents", {"latents": self.latents})

    @cached_property
    def _starts_hash(self) -> str:
        return array_hash("starts_goals", {"s0": self.s0, "goal": self.goal})

    def describe(self) -> dict:
        """Paths and content hashes of the inputs (stored with every configuration)."""
        out = {}
        if self.world is not None:
            out["world"] = {"path": self.world_path, "content_hash": self.world_hash,
                            "family": self.world.family, "n": self.world.n, "d": self.world.d}
        if self.latents is not None:
            out["latents"] = {"path": self.latents_path, "content_hash": self._latents_hash,
                              "rows": int(self.latents.shape[0]), "d": int(self.latents.shape[1]),
                              "fit": self.fit, "k": self.k, "covariance": self.covariance}
        if self.s0 is not None:
            out["starts_goals"] = {"path": self.starts_path, "content_hash": self._starts_hash,
                                   "rows": int(self.s0.shape[0]), "n": int(self.s0.shape[1])}
        return out

    def world_provenance(self) -> dict:
        """Provenance of the user's world model in a results file (family, dims, source file;
        a seed only when the model knows one)."""
        prov = {k: v for k, v in self.world.provenance().items() if not (k == "seed" and v == -1)}
        return {**prov, "source": self.world_path}

    # -- the grid -------------------------------------------------------------------------
    @property
    def d(self) -> int | None:
        """The action dimension the inputs fix (None: only starts and goals, any d with n = d)."""
        if self.world is not None:
            return self.world.d
        if self.latents is not None:
            return int(self.latents.shape[1])
        return None

    def state_dim(self, d: int) -> int:
        """The state dimension n of a replicate at action dimension d."""
        return self.world.n if self.world is not None else int(d)

    def dims(self, dims=None, what: str = "dims") -> tuple:
        """The dimensions d of a grid with these inputs: ``None`` gives the one they fix; given
        dimensions must match it (and, with starts and goals for the paper's world, n = d).
        ``what`` names them in the error (e.g. ``--dims``)."""
        fixed = self.d
        if fixed is None and self.s0 is not None:
            fixed = int(self.s0.shape[1])          # the paper's world: n = d
        if dims is None:
            return (fixed,)
        dims = tuple(dict.fromkeys(int(x) for x in (dims if np.ndim(dims) else [dims])))
        bad = [x for x in dims if x != fixed]
        if bad:
            desc = (f"the world model's action dimension d={fixed}" if self.world is not None else
                    f"the latents' dimension d={fixed}" if self.latents is not None else
                    f"the starts and goals' state dimension n={fixed} (the paper's world has n = d)")
            raise FastplanError(f"{what} {' '.join(map(str, bad))} does not match {desc}; "
                                f"give {what} {fixed} or leave it out")
        return dims

    def check_seeds(self, seeds) -> None:
        """Every replicate seed must have its row in the starts and goals."""
        if self.s0 is None:
            return
        K = self.s0.shape[0]
        over = [s for s in seeds if s >= K]
        if over:
            raise FastplanError(f"seed {over[0]} has no row in the starts and goals "
                                f"({_name(self.starts_path, 'starts')}: {K} rows, seeds 0-{K - 1})")

    @property
    def geometry_name(self) -> str | None:
        """The geometry name of the grid when it is fitted to the latents (the fit's kind)."""
        return self.fit if self.latents is not None else None

    # -- problems -------------------------------------------------------------------------
    def geometry(self, d: int, seed: int, kind: str = "vae"):
        """Replicate ``seed``'s geometry: fitted to the latents, or the registered ``kind``."""
        if self.latents is None:
            from ..engine.geometry import make_geometry
            return make_geometry(kind, d, seed)
        key = ("fit", seed)
        if key not in self._cache:
            from ..engine.geometry_fit import geometry_from_samples
            self._cache[key] = geometry_from_samples(self.latents, kind=self.fit, k=self.k, seed=seed,
                                                     covariance=self.covariance)
        return self._cache[key]

    def problem(self, geometry: str, d: int, horizon: int, seed: int):
        """Replicate ``seed``'s :class:`~fastplan.engine.problem.Problem` with these inputs."""
        from ..engine.problem import Problem, make_problem
        from ..engine.world import make_world, start_and_goal
        seed = check_seed(seed)
        key = (geometry, d, horizon, seed)
        if key in self._cache:
            return self._cache[key]
        d = self.dims(d)[0]
        self.check_seeds([seed])
        horizon = check_positive_int(horizon, "horizon")
        if self.world is None and self.latents is None and self.s0 is None:
            prob = make_problem(geometry, d, horizon, seed)
        else:
            from ..engine import budget
            if self.world is None:
                budget.check_world(d)
            world = self.world if self.world is not None else make_world(d, seed)
            if self.s0 is not None:
                s0, goal = self.s0[seed].copy(), self.goal[seed].copy()
            else:
                s0, goal = start_and_goal(world.n, seed)
            for a in (s0, goal):
                a.setflags(write=False)
            prob = Problem(geometry=self.geometry(d, seed, geometry), world=world, s0=s0, goal=goal,
                           T=horizon, seed=seed)
        self._cache[key] = prob
        return prob


def _name(path: str, default: str) -> str:
    return os.path.basename(path) if path else default


def load_inputs(world=None, latents=None, starts_goals=None, *, fit: str = "gmm", k: int = 8,
                covariance: str = "diag") -> Inputs | None:
    """:class:`Inputs` from files (or in-memory objects), checked; None when none is given.

    Parameters
    ----------
    world : path or World, optional
        A world model ``.npz`` (:func:`fastplan.engine.worlds.load_world`) or a World object.
    latents : path or array (m, d), optional
        Latent actions (``.npy``, or ``.npz`` with one array or one named ``latents``).
    starts_goals : path or (s0, goal), optional
        An ``.npz`` with ``s0`` and ``goal`` of shape (K, n), or the two arrays.
    fit, k, covariance
        The geometry fitted to the latents (:func:`~fastplan.engine.geometry_fit.geometry_from_samples`).
    """
    from ..engine.worlds import World, load_world
    if world is None and latents is None and starts_goals is None:
        return None
    kw = {}
    if world is not None:
        if isinstance(world, World):
            kw["world"] = world
        else:
            kw["world"], kw["world_path"] = load_world(world), os.path.abspath(os.fspath(world))
    if latents is not None:
        if isinstance(latents, (str, os.PathLike)):
            kw["latents"], kw["latents_path"] = load_latents(latents), os.path.abspath(os.fspath(latents))
        else:
            kw["latents"] = as_array(latents, "latents", ndim=2)
    if starts_goals is not None:
        if isinstance(starts_goals, (str, os.PathLike)):
            s0, goal = load_starts_goals(starts_goals)
            kw["starts_path"] = os.path.abspath(os.fspath(starts_goals))
        else:
            s0, goal = (as_array(a, name, ndim=2) for a, name in zip(starts_goals, ("s0", "goal")))
            if s0.shape != goal.shape:
                raise FastplanError(f"s0 and goal must have the same shape (K, n), got {s0.shape} and {goal.shape}")
        kw["s0"], kw["goal"] = s0, goal
    for name in ("s0", "goal", "latents"):
        if name in kw:
            kw[name].setflags(write=False)
    return Inputs(fit=fit, k=k, covariance=covariance, **kw)


def inputs_json(inputs: Inputs | None) -> str:
    """The key entries of ``inputs`` as canonical JSON ("" without inputs)."""
    return "" if inputs is None or not inputs.key else inputs.key_json

