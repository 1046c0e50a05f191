"""Closed-loop experiment: MPC against open-loop planning under model mismatch.

    python -m bench.closed_loop                  # the README's table (about 30 s warm)
    python -m bench.closed_loop --mismatch 0.3 --seeds 20

Each seed's problem (VAE geometry, d = h = 8, geometry usage none) is planned on its world
model and executed on a perturbed world: A and B off by ``mismatch * N(0, 1/d)`` per
entry.  Rows: plan once and execute (open loop); replan every step with a fixed horizon
(terminal cost: the goal stays h steps ahead); MPC with a shrinking horizon, cold and warm
started, and warm started with 30 % of the iterations.
"""
from __future__ import annotations

import argparse

import numpy as np

import fastplan
from fastplan.engine.world import WorldModel

REACHED = 0.5           # "reached": ended within this distance of the goal


def perturbed(world, scale: float, seed: int) -> WorldModel:
    """``world`` with A and B off by ``scale * N(0, 1/d)`` per entry (model mismatch)."""
    r = np.random.default_rng(seed)
    d = world.d
    return WorldModel(A=world.A + scale * r.normal(size=(d, d)) / np.sqrt(d),
                      B=world.B + scale * r.normal(size=(d, d)) / np.sqrt(d), b=world.b, seed=world.seed)


def rows(planner: str, hp: dict, few: dict, T: int) -> dict:
    return {"open loop (plan once)": dict(replan_every=T),
            "replan every step, fixed horizon": dict(horizon="fixed"),
            "MPC, shrinking horizon, cold start": dict(warm_start=False),
            "MPC, shrinking horizon, warm start": dict(),
            f"MPC, warm start, {few}": dict(few)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mismatch", type=float, nargs="+", default=[0.0, 0.1])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--horizon", type=int, default=8)
    args = ap.parse_args(argv)
    d, T = args.dim, args.horizon
    setups = [("gradient", {"gradient": "adjoint"}, {"iterations": 30}),
              ("cem", {}, {"iterations": 3})]
    print(f"d = {d}, h = {T}, VAE geometry (usage none), seeds 0-{args.seeds - 1}; "
          f"final ||s_T - s*|| on the executed world, mean ± std; reached = within {REACHED}")
    print()
    print("| planner | controller | " + " | ".join(f"mismatch {m}: final distance | reached" for m in args.mismatch)
          + " | rollouts per episode |")
    print("|---|---|" + "---|---|" * len(args.mismatch) + "---|")
    for planner, hp, few in setups:
        few_txt = ", ".join(f"{k}={v}" for k, v in few.items())
        for name, kw in rows(planner, hp, few, T).items():
            name = name.replace(str(few), few_txt)
            cells, rollouts = [], []
            for m in args.mismatch:
                final = []
                for s in range(args.seeds):
                    prob = fastplan.make_problem("vae", d, T, s)
                    ctrl = fastplan.MPC(prob, planner, geometry_usage="none", **hp, **kw)
                    out = fastplan.closed_loop(ctrl, perturbed(prob.world, m, 1000 + s))
                    final.append(out["final_distance"])
                    rollouts.append(int(out["rollouts"].sum()))
                final = np.array(final)
                cells.append(f"{final.mean():.3f} ± {final.std(ddof=1):.3f} | {int(np.sum(final < REACHED))}/{final.size}")
            print(f"| {planner} | {name} | " + " | ".join(cells) + f" | {np.mean(rollouts):.0f} |")


if __name__ == "__main__":
    main()
