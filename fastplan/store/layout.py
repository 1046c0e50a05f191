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
METRIC_FIELDS = ("geometry", "d", "seed", "n_samples", "effective_dimension",
                 "mean_pairwise_distance", "concentration", "amenability", "session")
METRIC_FLOATS = ("effective_dimension", "mean_pairwise_distance", "concentration", "amenability")

#: Columns of :func:`load` (one row per run), in order.
RECORD_COLUMNS = ("config_id", "geometry", "d", "horizon", "planner", "geometry_usage",
                  "gradient", "lam", "seed", "goal_distance", "smoothness", "cost", "samples",
                  "steps", "wall_time", "batch_wall_time", "batch_size", "hyperparameters")
#: Columns of :func:`load_geometry_metrics`.
METRIC_COLUMNS = ("geometry", "d", "seed", "n_samples", "effective_dimension",
                  "mean_pairwise_distance", "concentration", "amenability")
