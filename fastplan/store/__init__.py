"""The results store: one HDF5 file indexed by configuration, safe against kills.

A *configuration* is (geometry, d, horizon, planner, geometry usage, every hyperparameter
including ``lam`` and the gradient mode, the execution when it is not "latent", and the
arithmetic when it is not "exact": ``FASTPLAN_ARITHMETIC=fast``).  Its id is the first 16 hex digits of the SHA-256
of the canonical JSON of that key (:func:`config_key`, :func:`config_id`); the seed is the
row inside the configuration.

File layout (everything readable with h5py + NumPy alone)::

    /                          attrs: fastplan_format="fastplan-results", format_version,
                               created, date, fastplan/numba/numpy/h5py/hdf5 versions,
                               threads, command_line (of the last session), n_sessions,
                               concentration_definition, manifold_metrics, execution_modes
    /worlds/<hash>/            one world model, stored once (:mod:`.worlds`); attrs: family,
                               n, d, content_hash, provenance (JSON list: seed or source file)
        A, B, b  (Eq. 4) | W0, c0, ..., activations, residual, n_state, n_action  (MLP)
    /configs/<config_id>/      attrs: config_id, key (canonical JSON), geometry, d, horizon,
                               planner, geometry_usage, gradient ("" if none), lam,
                               hyperparameters (JSON), execution, density, projection,
                               inputs (JSON: a user's world / latents / starts files, paths and
                               content hashes; absent for the paper's own)
        runs                   (n,) compound, one row per run (format 3; :mod:`.columns`), fields:
          seed                 int64
          world                S64       content hash of the run's world model
          s0, goal             (n_s,)    float64   n_s: the world's state dimension (= d, Eq. 4)
          actions              (T, d)    float64   planned a_1..a_T
          states               (T+1, n_s) float64  s_0..s_T under the world model
          goal_distance, smoothness, cost          float64   ||s_T - s*||, Eq. 11, Eq. 5
          samples, steps       int64     rollouts / single-step evaluations
          wall_time            float64   planning time of the batch / batch size (a share)
          batch_wall_time      float64   planning time of the whole batch the run was in
                                         (kernel only, never compilation)
          batch_size, threads, session             int64
          zero_action_distance, initial_distance   float64   baselines: ||s_T - s*|| of
                                         a = 0 and ||s_0 - s*||
          log_density, ood_rate, ood_threshold     float64   manifold metrics of the plan
          realised_goal_distance, exploitation_gap float64   what the environment did
          executed_actions     (T, d)    float64   only with execution="decoded"
          complete             bool      a row counts only when True
        trace                  (n, R, 3)   float64   only from sweeps with --traces: per iteration
                                                     (best cost so far, mean cost, rollouts so far)
      formats 1 and 2 (older groups, still read and extended in their layout): each field above
      a dataset of its own, ``/configs/<id>/<field>`` (n, ...); format 1 holds A, B (n, d, d),
      b (n, d) in place of ``world``; files written before a field lack it (readers give NaN for
      the baselines and manifold fields, wall_time * batch_size for batch_wall_time)
    /geometry_metrics/         attrs: concentration_definition
        geometry (n,) S16, d, seed, n_samples (n,) int64, effective_dimension,
        mean_pairwise_distance, concentration, amenability (n,) float64, session, complete
    /sessions/<k>/             attrs: provenance of the k-th sweep that wrote to the file

Crash safety (measured: writing in place with ``flush()`` after every unit left 1 of 100
SIGKILLed files with a dangling object, so the file is never written in place):

1. every finished work unit is first saved to ``<file>.journal/`` (write to a temporary
   name, then ``os.replace``: a unit file is complete or absent);
2. every few seconds the writer copies the results file to a temporary file next to it,
   appends the journaled units, closes and fsyncs it, and ``os.replace``-s it over the
   results file (atomic), then deletes the journaled units it folded in;
3. a new sweep folds any journal left by a killed one in first.  Rows already complete in
   the file are never written twice, so a kill between steps 2 and 3 is harmless.

So the results file is at every instant a complete, closed HDF5 file, and a SIGKILL loses
at most the unit being computed.  One sweep at a time may write a file (a lock in the
journal folder); readers may read while a sweep runs.

Faults (README, "Faults and limits"; :mod:`.guard`): a fold first checks that the file is
still the one the writer opened (device, inode, size, mtime) and that the disk has room, and
reserves its growth; a failed fold is one :class:`FastplanError` naming the folder, with the
file as it was and the journal kept.  A fold's bookkeeping is settled idempotently, so an
interrupt at any point never stores a run twice.  Journal units that decode but are invalid
(:func:`.journal.check_unit`) are moved to ``<file>.journal/rejected/`` and never stored.
"""
from __future__ import annotations

# the store's public names, one import per module (each module has one job)
from .layout import BASELINE_FIELDS, FORMAT_VERSION, INT_FIELDS, MARKER, MARKER_ATTR, METRIC_COLUMNS, METRIC_FIELDS, METRIC_FLOATS, RECORD_COLUMNS, RUN_FIELDS  # noqa: F401
from .layout import DECODED_FIELDS, DEFAULT_EXECUTION, MANIFOLD_FIELDS, RUNS, TRACE_FIELD  # noqa: F401
from .keys import canonical_json, config_id, config_key  # noqa: F401
from .files import check_output_path, check_results_file  # noqa: F401
from .read import file_attrs, index, list_configs, load, load_geometry_metrics, load_traces, read_config, sessions  # noqa: F401
from .read import list_worlds, read_worlds  # noqa: F401
from . import worlds  # noqa: F401
from .provenance import provenance  # noqa: F401
from .writer import Writer  # noqa: F401
