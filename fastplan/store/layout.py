"""Names and shapes of a results file: the marker, the format version, the per-run fields
(the file layout is described in :mod:`fastplan.store`)."""
import numpy as np

MARKER_ATTR = "fastplan_format"
MARKER = "fastplan-results"
#: 2: world models stored once under ``/worlds`` and referred to by hash (:mod:`.worlds`);
#: files of format 1 hold ``A``, ``B``, ``b`` per run and stay readable (and extendable).
#: 3: a configuration's per-run fields are the fields of one compound dataset :data:`RUNS`
#: (:mod:`.columns`); groups of formats 1 and 2 (one dataset per field) stay readable and
#: extendable in their own layout.
FORMAT_VERSION = 3
#: The compound dataset of a format-3 configuration group: one row per run, one field per
#: per-run field (:func:`table_fields`); optional ``trace`` stays a dataset of its own.
RUNS = "runs"

#: Per-run datasets of a configuration group, in the order they are written (``complete`` last).
#: ``world`` is the content hash of the run's world model (``/worlds/<hash>/``); groups written
#: before it hold ``A``, ``B``, ``b`` in its place (:data:`.worlds.INLINE_FIELDS`).
RUN_FIELDS = ("seed", "world", "s0", "goal", "actions", "states", "goal_distance",
              "smoothness", "cost", "samples", "steps", "wall_time", "batch_wall_time", "batch_size",
              "threads", "session")
INT_FIELDS = {"seed", "samples", "steps", "batch_size", "threads", "session"}
#: Per-run fields that are not numbers (checked and stored apart).
TEXT_FIELDS = {"world"}
#: Per-run fields the writer sets itself (the others are copied from a work unit's result).
DERIVED_FIELDS = ("seed", "wall_time", "batch_wall_time", "batch_size", "threads", "session")
#: Shape of one row of a per-run field in the configuration's action dimension ``d``, the
#: world's state dimension ``n`` (= d for the paper's Eq. 4) and horizon ``T`` (``"T+1"``: the
#: states s_0..s_T); ``()``: one value per run.  Every journaled unit is checked against it; a
#: field not listed here is checked for one row per run only.
RUN_SHAPES = {"world": (), "A": ("n", "n"), "B": ("n", "d"), "b": ("n",), "s0": ("n",), "goal": ("n",),
              "actions": ("T", "d"), "states": ("T+1", "n"), "goal_distance": (), "smoothness": (),
              "cost": (), "samples": (), "steps": (), "seed": (), "wall_time": (), "batch_wall_time": (), "batch_size": (),
              "threads": (), "session": ()}
#: Per-run baselines (float64, one value per run), written since fastplan 0.2: the goal distance
#: of the zero action sequence ``a = 0`` and the initial distance ``||s0 - s*||``.  Files written
#: before lack them (readers give NaN; :mod:`fastplan.paper` recomputes them from A, B, b, s0, goal).
BASELINE_FIELDS = ("zero_action_distance", "initial_distance")
#: Per-run manifold fields (issue 13), written by this version for every run; a file written
#: before them reads NaN for them.
MANIFOLD_FIELDS = ("log_density", "ood_rate", "ood_threshold", "realised_goal_distance",
                   "exploitation_gap")
#: Per-run datasets only configurations with ``execution="decoded"`` hold.
DECODED_FIELDS = ("executed_actions",)
#: Per-run per-iteration traces (``fastplan sweep --traces``): (R, 3) rows of (best cost so far,
#: mean cost, cumulative rollouts); R is fixed by the configuration.  Only configurations a
#: sweep with traces wrote to hold them; rows written without a trace are NaN.
TRACE_FIELD = "trace"
#: The default execution (absent from configuration keys and from files written before it).
DEFAULT_EXECUTION = "latent"
#: The default arithmetic (``FASTPLAN_ARITHMETIC``; absent from configuration keys and attributes).
DEFAULT_ARITHMETIC = "exact"
METRIC_FIELDS = ("geometry", "d", "seed", "n_samples", "effective_dimension",
                 "mean_pairwise_distance", "concentration", "amenability", "session")
METRIC_FLOATS = ("effective_dimension", "mean_pairwise_distance", "concentration", "amenability")

#: Columns of :func:`load` (one row per run), in order.
RECORD_COLUMNS = ("config_id", "geometry", "d", "horizon", "planner", "geometry_usage",
                  "gradient", "lam", "seed", "goal_distance", "smoothness", "cost", "samples",
                  "steps", "wall_time", "batch_wall_time", "batch_size", "hyperparameters", "zero_action_distance", "initial_distance",
                  "execution", "log_density", "ood_rate",
                  "realised_goal_distance", "exploitation_gap", "arithmetic")
#: Columns of :func:`load_geometry_metrics`.
METRIC_COLUMNS = ("geometry", "d", "seed", "n_samples", "effective_dimension",
                  "mean_pairwise_distance", "concentration", "amenability")


def row_shape(name: str, d: int, horizon: int, n: int | None = None) -> tuple | None:
    """The shape of one row of per-run field ``name`` (None if :data:`RUN_SHAPES` lacks it);
    the state dimension ``n`` defaults to ``d`` (the paper's world)."""
    spec = RUN_SHAPES.get(name)
    if spec is None:
        return None
    sizes = {"d": int(d), "n": int(d if n is None else n), "T": int(horizon), "T+1": int(horizon) + 1}
    return tuple(sizes[a] for a in spec)


def run_bytes(d: int, horizon: int, n: int | None = None) -> int:
    """Bytes one run occupies in a results file (its rows of every per-run field, 8 bytes
    per number, 64 for the world's hash; a field not in :data:`RUN_SHAPES` counts as one
    number).  Its world model is stored once apart (:func:`world_bytes`)."""
    total = 1                                    # the ``complete`` flag
    for name in RUN_FIELDS:
        if name in TEXT_FIELDS:
            total += 64
            continue
        total += 8 * int(np.prod(row_shape(name, d, horizon, n) or (), dtype=np.int64))
    return total


def world_bytes(n: int, d: int) -> int:
    """Bytes of one paper world model (A (n, n), B (n, d), b (n,)) and its group (~2 KiB)."""
    return 8 * (n * n + n * d + n) + 2048


def field_dtype(name: str):
    """The stored dtype of per-run field ``name``."""
    from .worlds import HASH_DTYPE
    if name in TEXT_FIELDS:
        return np.dtype(HASH_DTYPE)
    if name == "complete":
        return np.dtype(bool)
    return np.dtype(np.int64 if name in INT_FIELDS else np.float64)


def table_fields(decoded: bool) -> tuple:
    """Field names of a format-3 :data:`RUNS` table, in order (``complete`` last): the fields
    formats 1 and 2 kept as datasets, the same per-run values."""
    return RUN_FIELDS + BASELINE_FIELDS + MANIFOLD_FIELDS + (DECODED_FIELDS if decoded else ()) + ("complete",)


def table_dtype(names, row_shapes: dict) -> np.dtype:
    """The compound dtype of a :data:`RUNS` table with fields ``names`` whose rows have shapes
    ``row_shapes`` (name -> shape, ``()`` for one value per run)."""
    return np.dtype([(k, field_dtype(k), tuple(row_shapes.get(k, ()))) for k in names])
