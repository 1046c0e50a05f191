"""The synthetic world model of Eq. 4: ``s_{t+1} = tanh(A s_t + B a_t + b)``.

Construction (deterministic from ``(d, seed)``, all draws from :mod:`fastplan.rng`):

* ``A = 0.8 * G / rho(G)`` with ``G_ij ~ N(0, 1/d)``: the spectral radius of ``A`` is
  exactly :data:`SPECTRAL_RADIUS` = 0.8 (< 0.9 as Sec. 2.2 requires).
* ``B_ij ~ N(0, 1/d)``: a norm-preserving random map, ``E||B a||^2 = ||a||^2``
  (invertible with probability 1, so every goal in (-1, 1)^d is reachable).
* ``b_i ~ N(0, 0.1^2)``: a small bias.

Initial and goal states (Sec. 3) are drawn from ``N(0, 0.25 I)``, i.e. std 0.5.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .. import budget, rng
from ..errors import FastplanError, as_array, check_dim, check_seed
from . import World

SPECTRAL_RADIUS = 0.8
B_STD_TIMES_SQRT_D = 1.0
BIAS_STD = 0.1
STATE_STD = 0.5


@dataclass(frozen=True, eq=False)
class TanhWorld(World):
    """World model parameters of Eq. 4 (the family ``"tanh"``; the paper's have state
    dimension n = action dimension d).

    Attributes
    ----------
    A : ndarray, shape (n, n)
        State transition matrix (the paper's: spectral radius 0.8).
    B : ndarray, shape (n, d)
        Action matrix.
    b : ndarray, shape (n,)
        Bias.
    seed : int
        Seed the model was drawn from (-1: not drawn by :func:`make_world`).

    Built directly, the arrays are checked (shapes, real numbers, no NaN or inf; one
    :class:`FastplanError` line otherwise) and converted to float64 where needed.
    """

    A: np.ndarray
    B: np.ndarray
    b: np.ndarray
    seed: int = -1

    family = "tanh"

    def __post_init__(self):
        # lists and integer arrays become float64; a float64 C-contiguous array (make_world's)
        # is kept as it is: the paper's models are not copied
        A, B, b = self._checked("")
        for name, arr in (("A", A), ("B", B), ("b", b)):
            object.__setattr__(self, name, arr)
        seed = self.seed
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < -1:
            raise FastplanError(f"a tanh world model's seed must be an integer (-1: unknown), got {seed!r}")
        object.__setattr__(self, "seed", int(seed))

    def _checked(self, where: str) -> tuple:
        """(A, B, b) as float64 arrays, shapes (n, n), (n, d), (n,) with n, d >= 1, finite."""
        A = as_array(self.A, f"{where}A", ndim=2)
        n = A.shape[0]
        if A.shape != (n, n) or n < 1:
            raise FastplanError(f"{where}A must be a square (n, n) matrix with n >= 1, "
                                f"got shape {A.shape}")
        B = as_array(self.B, f"{where}B", ndim=2)
        if B.shape[0] != n or B.shape[1] < 1:
            raise FastplanError(f"{where}B must have shape (n, d) = ({n}, d) with d >= 1, "
                                f"got {B.shape}")
        b = as_array(self.b, f"{where}b", (n,))
        return A, B, b

    def check(self, where: str = "") -> None:
        """Shapes and finiteness of A, B and b (see :meth:`World.check`)."""
        self._checked(where)

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def d(self) -> int:
        return self.B.shape[1]

    def arrays(self) -> dict:
        return {"A": self.A, "B": self.B, "b": self.b}

    def provenance(self) -> dict:
        return {**super().provenance(), "seed": self.seed}

    @classmethod
    def from_arrays(cls, data: dict) -> "TanhWorld":
        """From ``A`` (n, n), ``B`` (n, d) and ``b`` (n,), checked (e.g. a loaded ``.npz``)."""
        for key in ("A", "B", "b"):
            if key not in data:
                raise FastplanError(f"a tanh world model needs arrays A, B and b; {key} is missing")
        seed = -1
        if "seed" in data:
            s = np.asarray(data["seed"])
            if s.shape != () or s.dtype.kind not in "iu":
                raise FastplanError(f"a tanh world model's seed must be one integer, got {data['seed']!r}")
            seed = int(s)
        return cls(A=data["A"], B=data["B"], b=data["b"], seed=seed)

    def __repr__(self) -> str:
        from ..display import world_repr
        return world_repr(self)

    def step(self, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        """One step of Eq. 4 for states ``s`` (..., n) and actions ``a`` (..., d)."""
        return np.tanh(s @ self.A.T + a @ self.B.T + self.b)


def make_world(d: int, seed: int) -> WorldModel:
    """World model of dimension ``d`` fixed by ``seed`` (see module docstring)."""
    d = check_dim(d)
    seed = check_seed(seed)
    budget.check_memory(budget.world_bytes(d), f"the world model at d={d} (A, B: d x d)", "use a smaller d")
    G = rng.normals(seed, rng.stream_id(rng.WORLD_A), (d, d)) / np.sqrt(d)
    radius = float(np.max(np.abs(np.linalg.eigvals(G))))
    A = np.ascontiguousarray(G * (SPECTRAL_RADIUS / radius))
    B = rng.normals(seed, rng.stream_id(rng.WORLD_B), (d, d)) * (B_STD_TIMES_SQRT_D / np.sqrt(d))
    b = rng.normals(seed, rng.stream_id(rng.WORLD_BIAS), d) * BIAS_STD
    for arr in (A, B, b):
        arr.setflags(write=False)
    return TanhWorld(A=A, B=B, b=b, seed=seed)


#: The name the first version used (kept for user code).
WorldModel = TanhWorld


def start_and_goal(d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial state ``s0`` and goal ``s*``, each ``N(0, 0.25 I)`` of shape (d,)."""
    d = check_dim(d)
    seed = check_seed(seed)
    s0 = rng.normals(seed, rng.stream_id(rng.START), d) * STATE_STD
    goal = rng.normals(seed, rng.stream_id(rng.GOAL), d) * STATE_STD
    return s0, goal
