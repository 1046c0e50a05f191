"""Learned world models: a multilayer perceptron ``s' = f(s, a)`` or ``s' = s + f(s, a)``.

``f`` is L dense layers ``h_l = act_l(W_l h_{l-1} + c_l)`` with ``h_0 = [s; a]`` (state
first) and ``h_L`` of size n; activations ``tanh``, ``relu``, ``elu`` (alpha = 1) or
``identity``.  The state dimension n and the action dimension d are independent.

File layout (``.npz``, written by :func:`fastplan.engine.worlds.save_world`)::

    family       "mlp"
    n_state      int, n
    n_action     int, d
    residual     bool, s' = s + f(s, a) when true
    activations  str array (L,), one per layer, e.g. ["tanh", "identity"]
    W0, c0       (H_1, n + d), (H_1,)     first layer, acting on [s; a]
    W1, c1       (H_2, H_1), (H_2,)
    ...
    W{L-1}, c{L-1}  (n, H_{L-1}), (n,)   last layer

Exporting a PyTorch ``nn.Sequential`` of ``Linear`` and activation modules is a few lines
(README, "Your own world model").
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..errors import FastplanError, as_array
from . import World

#: Activation names and their kernel codes (fixed numbers: stored with every run).
ACTIVATIONS = {"identity": 0, "tanh": 1, "relu": 2, "elu": 3}


def _scalar(value, name: str, kinds: str):
    """One integer (or bool, kind ``b``) of an ``.npz`` file, as a Python value."""
    v = np.asarray(value)
    if v.shape != () or v.dtype.kind not in kinds:
        raise FastplanError(f"the MLP file's {name} must be one {'flag' if 'b' in kinds else 'integer'}, "
                            f"got {value!r}")
    return v.item()


def _act(x, name):
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))
    return x


@dataclass(frozen=True, eq=False)
class MLPWorld(World):
    """A dense network world model (family ``"mlp"``).

    Attributes
    ----------
    weights : tuple of ndarray
        ``W_l`` of shape (H_{l+1}, H_l), with H_0 = n + d and H_L = n.
    biases : tuple of ndarray
        ``c_l`` of shape (H_{l+1},).
    activations : tuple of str
        One per layer (see :data:`ACTIVATIONS`).
    residual : bool
        ``s' = s + f(s, a)`` instead of ``f(s, a)``.
    n_action : int
        d; the state dimension n is the last layer's width.
    """

    weights: tuple
    biases: tuple
    activations: tuple
    residual: bool
    n_action: int

    family = "mlp"

    def __post_init__(self):
        for name in ("weights", "biases", "activations"):
            v = getattr(self, name)
            if not isinstance(v, (list, tuple)):
                raise FastplanError(f"the MLP's {name} must be a list or tuple with one entry per layer, "
                                    f"got {type(v).__name__}")
        if not (isinstance(self.residual, (bool, np.bool_))
                or isinstance(self.residual, numbers.Integral) and self.residual in (0, 1)):
            raise FastplanError(f"the MLP's residual flag must be True or False, got {self.residual!r}")
        L = len(self.weights)
        if L < 1 or len(self.biases) != L or len(self.activations) != L:
            raise FastplanError("an MLP world model needs as many weights, biases and "
                                f"activations as layers (>= 1), got {len(self.weights)}, "
                                f"{len(self.biases)}, {len(self.activations)}")
        d = self.n_action
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise FastplanError(f"the action dimension of an MLP must be an integer >= 1, got {d!r}")
        Ws = [as_array(W, f"W{l}", ndim=2) for l, W in enumerate(self.weights)]
        n = Ws[-1].shape[0]
        width = n + int(d)
        cs = []
        for l, (W, c, act) in enumerate(zip(Ws, self.biases, self.activations)):
            W = as_array(W, f"W{l}", (None, width))
            c = as_array(c, f"c{l}", (W.shape[0],))
            if W.shape[0] < 1:
                raise FastplanError(f"layer {l} of the MLP has no units")
            if not isinstance(act, str) or act not in ACTIVATIONS:
                raise FastplanError(f"unknown activation {act!r} of layer {l}; choose from "
                                    f"{', '.join(ACTIVATIONS)}")
            W.setflags(write=False)
            c.setflags(write=False)
            cs.append(c)
            width = W.shape[0]
        if width != n or n < 1:
            raise FastplanError(f"the last layer of the MLP must output the state (n={n}), got {width}")
        object.__setattr__(self, "weights", tuple(Ws))
        object.__setattr__(self, "biases", tuple(cs))
        object.__setattr__(self, "activations", tuple(str(a) for a in self.activations))
        object.__setattr__(self, "residual", bool(self.residual))
        object.__setattr__(self, "n_action", int(d))

    def check(self, where: str = "") -> None:
        """Layer shapes and finite weights (see :meth:`World.check`)."""
        width = self.n + self.d
        for l, (W, c) in enumerate(zip(self.weights, self.biases)):
            W = as_array(W, f"{where}W{l}", (None, width))
            as_array(c, f"{where}c{l}", (W.shape[0],))
            width = W.shape[0]
        if width != self.n:
            raise FastplanError(f"{where}the last layer of the MLP must output the state (n={self.n}), "
                                f"got {width}")

    @property
    def n(self) -> int:
        return self.weights[-1].shape[0]

    @property
    def d(self) -> int:
        return self.n_action

    @property
    def hidden(self) -> tuple:
        """Widths of the hidden layers."""
        return tuple(W.shape[0] for W in self.weights[:-1])

    def arrays(self) -> dict:
        out = {"n_state": np.array(self.n), "n_action": np.array(self.d),
               "residual": np.array(self.residual),
               "activations": np.array(self.activations)}
        for l, (W, c) in enumerate(zip(self.weights, self.biases)):
            out[f"W{l}"] = W
            out[f"c{l}"] = c
        return out

    def provenance(self) -> dict:
        return {**super().provenance(), "hidden": list(self.hidden),
                "activations": list(self.activations), "residual": self.residual}

    @classmethod
    def from_arrays(cls, data: dict) -> "MLPWorld":
        """From the ``.npz`` layout of the module docstring (checked, one-line errors)."""
        for key in ("n_action", "residual", "activations", "W0", "c0"):
            if key not in data:
                raise FastplanError(f"an MLP world model file needs {key!r} (see the README's layout)")
        acts = [str(a) for a in np.atleast_1d(data["activations"])]
        L = len(acts)
        Ws, cs = [], []
        for l in range(L):
            if f"W{l}" not in data or f"c{l}" not in data:
                raise FastplanError(f"the MLP file lists {L} activations but has no W{l} / c{l}")
            Ws.append(data[f"W{l}"])
            cs.append(data[f"c{l}"])
        if f"W{L}" in data:
            raise FastplanError(f"the MLP file has more layers than its {L} activations")
        d = _scalar(data["n_action"], "n_action", "iu")
        residual = _scalar(data["residual"], "residual", "biu")
        world = cls(weights=tuple(Ws), biases=tuple(cs), activations=tuple(acts),
                    residual=residual, n_action=d)
        if "n_state" in data and _scalar(data["n_state"], "n_state", "iu") != world.n:
            raise FastplanError(f"n_state {_scalar(data['n_state'], 'n_state', 'iu')} does not match the "
                                f"last layer's width {world.n}")
        return world

    @classmethod
    def from_torch(cls, model, n_action: int, residual: bool = False) -> "MLPWorld":
        """From a PyTorch ``nn.Sequential`` of ``Linear`` layers, each optionally followed by
        ``Tanh``, ``ReLU``, ``ELU`` (alpha 1) or ``Identity``, whose input is ``[s; a]``
        (state first).  Duck-typed: PyTorch is not a dependency of fastplan."""
        names = {"Tanh": "tanh", "ReLU": "relu", "ELU": "elu", "Identity": "identity"}
        Ws, cs, acts = [], [], []
        for module in model:
            kind = type(module).__name__
            if kind == "Linear":
                W = np.asarray(module.weight.detach().cpu().numpy(), dtype=np.float64)
                bias = getattr(module, "bias", None)
                c = (np.zeros(W.shape[0]) if bias is None
                     else np.asarray(bias.detach().cpu().numpy(), dtype=np.float64))
                Ws.append(W)
                cs.append(c)
                acts.append("identity")
            elif kind in names:
                if not Ws or acts[-1] != "identity":
                    raise FastplanError(f"activation {kind} must follow a Linear layer")
                if kind == "ELU" and float(getattr(module, "alpha", 1.0)) != 1.0:
                    raise FastplanError("only ELU with alpha = 1 is supported")
                acts[-1] = names[kind]
            else:
                raise FastplanError(f"unsupported module {kind} in the model; use Linear, Tanh, "
                                    "ReLU, ELU, Identity")
        return cls(weights=tuple(Ws), biases=tuple(cs), activations=tuple(acts),
                   residual=residual, n_action=n_action)

    def step(self, s, a) -> np.ndarray:
        """``f`` (or ``s + f``) for states (..., n) and actions (..., d), in NumPy."""
        s = np.asarray(s, dtype=np.float64)
        h = np.concatenate([s, np.asarray(a, dtype=np.float64)], axis=-1)
        for W, c, act in zip(self.weights, self.biases, self.activations):
            h = _act(h @ W.T + c, act)
        return s + h if self.residual else h

    def __repr__(self) -> str:
        layers = " -> ".join([str(self.n + self.d)] + [f"{W.shape[0]} {a}" for W, a in
                                                        zip(self.weights, self.activations)])
        kind = "s + f(s, a)" if self.residual else "f(s, a)"
        return f"MLPWorld(n={self.n}, d={self.d}: s' = {kind}, {layers})"


def random_mlp(n: int, d: int, hidden=(64,), activation: str = "tanh", residual: bool = True,
               seed: int = 0, scale: float = 1.0) -> MLPWorld:
    """A random MLP world model (tests, benchmarks): Gaussian weights of std
    ``scale / sqrt(fan_in)``, zero biases, ``identity`` on the last layer."""
    rs = np.random.default_rng(seed)
    widths = [n + d, *hidden, n]
    Ws = tuple(rs.normal(0.0, scale / np.sqrt(widths[l]), (widths[l + 1], widths[l]))
               for l in range(len(widths) - 1))
    cs = tuple(np.zeros(w) for w in widths[1:])
    acts = tuple([activation] * len(hidden) + ["identity"])
    return MLPWorld(weights=Ws, biases=cs, activations=acts, residual=residual, n_action=d)
