"""World models: the paper's ``tanh(A s + B a + b)`` family and learned MLPs.

A world model maps a state ``s`` (n,) and a latent action ``a`` (d,) to the next state
(n,).  Every family is a :class:`World` subclass holding plain arrays, and owns its
dynamics: the NumPy :meth:`World.step`, and the Numba kernels (batched rollout, the
finite-difference and adjoint gradients) in its own module, reached by the planners through
one bundle (:mod:`fastplan.engine.worlds.ops`).

Files: :func:`save_world` / :func:`load_world` use one ``.npz`` layout, ``family`` plus the
family's arrays (see :class:`~fastplan.engine.worlds.mlp.MLPWorld` for the MLP layout).
"""
from __future__ import annotations

import hashlib
import os

import numpy as np

from ..errors import FastplanError


class World:
    """Base class of the world-model families.

    Attributes
    ----------
    family : str
        Registered family name (``"tanh"`` for the paper's Eq. 4, ``"mlp"``).
    n : int
        State dimension.
    d : int
        Action (latent) dimension.
    """

    family = ""

    @property
    def n(self) -> int:
        raise NotImplementedError

    @property
    def d(self) -> int:
        raise NotImplementedError

    def arrays(self) -> dict:
        """The arrays (and small scalars, as 0-d arrays) that define this model, by name."""
        raise NotImplementedError

    def step(self, s, a) -> np.ndarray:
        """Next states for states ``s`` (..., n) and actions ``a`` (..., d), in NumPy."""
        raise NotImplementedError

    def content_hash(self) -> str:
        """SHA-256 (hex) of the family and every array's name, dtype, shape and bytes: equal
        models get equal hashes, whatever object holds them."""
        h = hashlib.sha256(self.family.encode())
        for name, arr in sorted(self.arrays().items()):
            arr = np.ascontiguousarray(arr)
            h.update(f"|{name}|{arr.dtype.str}|{arr.shape}|".encode())
            h.update(arr.tobytes())
        return h.hexdigest()

    def provenance(self) -> dict:
        """What a results file records beside the arrays (family, dimensions, origin)."""
        return {"family": self.family, "n": self.n, "d": self.d}

    def check(self, where: str = "") -> None:
        """Raise :class:`FastplanError` (one line, prefixed by ``where``) unless the model's
        arrays have consistent shapes and finite values: run before every kernel call, since
        arrays can be changed in place after construction."""
        raise FastplanError(f"{where}world family {self.family!r} has no kernels")


def check_world(world, where: str = "") -> "World":
    """``world`` if it is a usable world model (:meth:`World.check`), else one
    :class:`FastplanError` line prefixed by ``where``."""
    if not isinstance(world, World):
        raise FastplanError(f"{where or 'the '}world model must be a fastplan World (TanhWorld, MLPWorld), "
                            f"got {type(world).__name__}")
    world.check(where)
    return world


def _path(path, what: str) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise FastplanError(f"{what} must be a file path, got {type(path).__name__}")
    return os.fspath(path)


def save_world(world: World, path) -> None:
    """Write ``world`` to ``path`` (``.npz``): ``family`` and the family's arrays."""
    check_world(world)
    path = _path(path, "the world model file")
    if os.path.isdir(path):
        raise FastplanError(f"{path!r} is a directory; give the world model file's name (e.g. world.npz)")
    try:
        np.savez(path, family=np.array(world.family), **world.arrays())
    except OSError as exc:
        raise FastplanError(f"cannot write world model {path!r}: {exc.strerror or exc}") from None


def load_world(path) -> World:
    """Read a world model saved by :func:`save_world` (or exported by hand, see the README).

    Raises :class:`FastplanError` with one line for a missing file, a file that is not an
    ``.npz`` archive, an unknown family, or arrays of the wrong shape.
    """
    from ..registry import world as world_spec
    path = _path(path, "the world model file")
    if not os.path.isfile(path):
        raise FastplanError(f"world model file {path!r} does not exist")
    try:
        z = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one clear message
        raise FastplanError(f"cannot read world model {path!r} as .npz: {exc}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise FastplanError(f"world model {path!r} is a single array, not an .npz archive of named "
                            "arrays (see save_world)")
    try:
        with z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:  # noqa: BLE001 - a damaged archive or an object array
        raise FastplanError(f"cannot read world model {path!r} as .npz: {exc}") from None
    if "family" not in data:
        raise FastplanError(f"world model {path!r} has no 'family' entry (e.g. 'mlp')")
    family = str(data.pop("family"))
    spec = world_spec(family)
    if spec.from_arrays is None:
        raise FastplanError(f"world family {family!r} cannot be loaded from a file")
    return spec.from_arrays(data)
