"""Plotting API: the report's figures as functions of your own results.

    import fastplan.plot as fplot
    ax = fplot.goal_distance_by_planner("runs.h5")                 # a frame, records dict or file
    fplot.hyperparameter_sweep("runs.h5", "cem", "population")      # one line per value
    fplot.goal_distance_vs_budget("runs.h5")                         # equal-budget runs
    fplot.anytime_curves("runs.h5")                                   # best cost vs rollouts (--traces)

Each function takes ``data`` and an optional matplotlib ``ax`` and returns the axes; see
:mod:`fastplan.paper.plot` for the conventions (intervals, box plots, paper values, sizes).
It only reads results: importing it plans nothing and compiles nothing.
"""
from __future__ import annotations

from .paper.plot import (BASELINE_LABELS, ONE_COLUMN, STYLE, TWO_COLUMN, anytime_curves,  # noqa: F401
                         budget_cell, budget_planners, figure, geometry_metric_vs_dim, goal_distance_by_planner,
                         goal_distance_over_seeds, goal_distance_vs_budget, goal_distance_vs_dim,
                         goal_distance_vs_horizon, hyperparameter_sweep, mean_interval, rollouts_by_planner,
                         smoothness_vs_goal, style, sweeps)
from .paper.plot import __all__  # noqa: F401
