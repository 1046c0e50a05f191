"""Runs: grids of experiments on the engine (sweep, work units, progress, warm-up, Dask)."""
