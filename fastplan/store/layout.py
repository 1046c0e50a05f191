"""Names and shapes of a results file: the marker, the format version, the per-run fields
(the file layout is described in :mod:`fastplan.store`)."""

MARKER_ATTR = "fastplan_format"
MARKER = "fastplan-results"
FORMAT_VERSION = 1

#: Per-run datasets of a configuration group, in the order they are written (``complete`` last).
RUN_FIELDS = ("seed", "A", "B", "b", "s0", "goal", "actions", "states", "goal_distance",
              "smoothness", "cost", "samples", "steps", "wall_time", "batch_wall_time", "batch_size",
              "threads", "session")
INT_FIELDS = {"seed", "samples", "steps", "batch_size", "threads", "session"}
#: Per-run fields the writer sets itself (the others are copied from a work unit's result).
DERIVED_FIELDS = ("seed", "wall_time", "batch_wall_time", "batch_size", "threads", "session")
#: Shape of one row of a per-run field in the configuration's ``d`` and horizon ``T``
#: (``"T+1"``: the states s_0..s_T); ``()``: one number per run.  Every journaled unit is
#: checked against it; a field not listed here is checked for one row per run only.
RUN_SHAPES = {"A": ("d", "d"), "B": ("d", "d"), "b": ("d",), "s0": ("d",), "goal": ("d",),
              "actions": ("T", "d"), "states": ("T+1", "d"), "goal_distance": (), "smoothness": (),
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
#: The default execution (absent from configuration keys and from files written before it).
DEFAULT_EXECUTION = "latent"
METRIC_FIELDS = ("geometry", "d", "seed", "n_samples", "effective_dimension",
                 "mean_pairwise_distance", "concentration", "amenability", "session")
METRIC_FLOATS = ("effective_dimension", "mean_pairwise_distance", "concentration", "amenability")

#: Columns of :func:`load` (one row per run), in order.
RECORD_COLUMNS = ("config_id", "geometry", "d", "horizon", "planner", "geometry_usage",
                  "gradient", "lam", "seed", "goal_distance", "smoothness", "cost", "samples",
                  "steps", "wall_time", "batch_wall_time", "batch_size", "hyperparameters", "zero_action_distance", "initial_distance",
                  "execution", "log_density", "ood_rate",
                  "realised_goal_distance", "exploitation_gap")
#: Columns of :func:`load_geometry_metrics`.
METRIC_COLUMNS = ("geometry", "d", "seed", "n_samples", "effective_dimension",
                  "mean_pairwise_distance", "concentration", "amenability")


def row_shape(name: str, d: int, horizon: int) -> tuple | None:
    """The shape of one row of per-run field ``name`` (None if :data:`RUN_SHAPES` lacks it)."""
    spec = RUN_SHAPES.get(name)
    if spec is None:
        return None
    sizes = {"d": int(d), "T": int(horizon), "T+1": int(horizon) + 1}
    return tuple(sizes[a] for a in spec)


def run_bytes(d: int, horizon: int) -> int:
    """Bytes one run occupies in a results file (its rows of every per-run field, 8 bytes
    per number; a field not in :data:`RUN_SHAPES` counts as one number)."""
    total = 1                                    # the ``complete`` flag
    for name in RUN_FIELDS:
        shape = row_shape(name, d, horizon) or ()
        n = 1
        for k in shape:
            n *= k
        total += 8 * n
    return total
