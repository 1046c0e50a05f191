"""Short text and HTML summaries of fastplan objects (their ``__repr__`` / ``_repr_html_``).

A repr names the object and its few defining numbers, never its arrays: a 30-problem
batch prints in five lines.  The arrays stay one attribute away (``res.actions``).
"""
from __future__ import annotations

import html

import numpy as np


def seconds(s) -> str:
    """``0.39 ms``, ``12.3 ms``, ``1.25 s``; ``?`` when unknown."""
    if s is None or not np.isfinite(s):
        return "?"
    return f"{s * 1e3:.3g} ms" if s < 1.0 else f"{s:.3g} s"


def non_default(planner: str, hp: dict, none: str = "paper hyperparameters") -> str:
    """``name=value`` for each hyperparameter that differs from the planner's default
    (``none`` when none does)."""
    from . import registry
    base = dict(registry.planner(planner).defaults) if planner in registry.planners() else {}
    diff = [f"{k}={v}" for k, v in sorted(hp.items()) if base.get(k) != v]
    return " ".join(diff) if diff else none


def seed_list(seeds) -> str:
    """``seed 3``, ``seeds 0-9`` (a contiguous range), else the first few and the count."""
    u = np.unique(np.asarray(seeds, dtype=np.int64))
    if u.size == 1:
        return f"seed {u[0]}"
    if u[-1] - u[0] + 1 == u.size:
        return f"seeds {u[0]}-{u[-1]}"
    head = ", ".join(str(x) for x in u[:4])
    return f"seeds {head}{', ...' if u.size > 4 else ''} ({u.size})"


def _timing(wall: float, compile_time: float) -> str:
    extra = f" (+{seconds(compile_time)} loading/compiling kernels)" if compile_time > 0 else ""
    return seconds(wall) + extra


def _rollouts(samples) -> str:
    s = np.asarray(samples)
    if s.size and s.min() == s.max():
        return f"{int(s.flat[0])}"
    return f"{int(s.min())}-{int(s.max())}"


def _head(kind: str, res, d: int, T: int, who: str) -> str:
    usage = "" if res.geometry_usage == "prior" else f" · geometry usage {res.geometry_usage}"
    arithmetic = getattr(res, "arithmetic", "exact")
    arithmetic = "" if arithmetic == "exact" else f" · {arithmetic} arithmetic"
    return (f"{kind} {res.planner} · d={d} T={T} · {who} · "
            f"{non_default(res.planner, res.hyperparameters)}{usage}{arithmetic}")


def plan_repr(res) -> str:
    T, d = res.actions.shape
    if res.batch_size > 1:
        time_txt = f"batch of {res.batch_size} in {_timing(res.batch_wall_time, res.compile_time)}"
    else:
        time_txt = _timing(res.wall_time, res.compile_time)
    return (_head("PlanResult", res, d, T, f"seed {res.seed}") + "\n"
            f"  goal distance {res.goal_distance:.4g} · smoothness {res.smoothness:.4g} · "
            f"cost {res.cost:.4g} · {res.samples} rollouts · {time_txt}")


_BATCH_METRICS = (("goal distance", "goal_distance"), ("smoothness", "smoothness"), ("cost", "cost"))


def batch_repr(res) -> str:
    P, T, d = res.actions.shape
    lines = [_head("BatchResult", res, d, T, f"{P} problems, {seed_list(res.seeds)}")]
    for label, name in _BATCH_METRICS:
        x = np.asarray(getattr(res, name), dtype=float)
        lines.append(f"  {label:<14} mean {np.mean(x):.4g}  min {np.min(x):.4g}  max {np.max(x):.4g}")
    lines.append(f"  {_rollouts(res.samples)} rollouts per plan · batch time "
                 f"{_timing(res.wall_time, res.compile_time)} for {P} plans")
    return "\n".join(lines)


def _table(header, rows, caption: str) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return (f"<table><caption style='text-align:left'>{esc(caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def plan_html(res) -> str:
    lines = plan_repr(res).split("\n")
    rows = [(label, f"{getattr(res, name):.4g}") for label, name in _BATCH_METRICS]
    rows.append(("rollouts", res.samples))
    rows.append(("time", lines[1].rsplit(" · ", 1)[1]))
    return _table(("", "value"), rows, lines[0])


def batch_html(res) -> str:
    lines = batch_repr(res).split("\n")
    rows = []
    for label, name in _BATCH_METRICS:
        x = np.asarray(getattr(res, name), dtype=float)
        rows.append((label, f"{np.mean(x):.4g}", f"{np.min(x):.4g}", f"{np.max(x):.4g}"))
    return _table(("", "mean", "min", "max"), rows, lines[0]) + f"<p>{html.escape(lines[-1].strip())}</p>"


def problem_repr(prob) -> str:
    gap = float(np.linalg.norm(np.asarray(prob.s0) - np.asarray(prob.goal)))
    return (f"Problem({prob.geometry.kind}, d={prob.d}, T={prob.T}, seed={prob.seed}; "
            f"|s0 - s*| = {gap:.3g})")


def geometry_repr(geom) -> str:
    if geom.kind == "ebm":
        what = f"{geom.n_active} active coordinates"
    else:
        what = f"{np.asarray(geom.centers).shape[0]} centres"
    return f"Geometry({geom.kind}, d={geom.d}, seed={geom.seed}, {what})"


def world_repr(world) -> str:
    seed = f", seed={world.seed}" if world.seed >= 0 else ""
    return f"TanhWorld(d={world.d}{seed}: s' = tanh(A s + B a + b))"
