"""Geometry-aware planners (issue 13): score-guided diffusion, projected CEM and MPPI, codebook
CEM, and the prior-penalised cost.  Each kernel against a plain NumPy reference
(tests/reference.py) with fastplan's own random streams, bit-identity on 1 and 2 threads,
planning beats doing nothing, the prior penalty (every planner) and its gradients, and the
penalty off changes nothing."""
from __future__ import annotations

import numba
import numpy as np
import pytest

from reference import (ref_codebook_cem, ref_codes_refit, ref_cost, ref_draw_codes, ref_projected_cem,
                       ref_projected_mppi, ref_score_diffusion)

import fastplan
from fastplan.engine import registry
from fastplan.engine.api import stack
from fastplan.engine.errors import FastplanError
from fastplan.engine.registry import PlannerSpec

GEO_PLANNERS = ("score-diffusion", "projected-cem", "projected-mppi", "codebook-cem")
SMALL = {
    "score-diffusion": {"samples": 12, "steps": 5},
    "projected-cem": {"population": 40, "iterations": 4},
    "projected-mppi": {"samples": 40, "iterations": 4},
    "codebook-cem": {"population": 40, "iterations": 4},
}

PAPER = registry.planners().names(paper=True)
PAPER_SMALL = {"cem": {"population": 40, "iterations": 4}, "mppi": {"samples": 40, "iterations": 4},
               "gradient": {"iterations": 10}, "sgld": {"iterations": 10},
               "diffusion": {"samples": 10, "steps": 5}}


def kinds_for(planner):
    """The paper's geometries a planner plans on (codebook CEM: the mixtures)."""
    return ("vae", "vqvae") if planner == "codebook-cem" else ("vae", "ebm", "vqvae")


def problems(planner, d=4, T=3, seeds=(0, 1)):
    return [fastplan.make_problem(k, d, T, s) for k in kinds_for(planner) for s in seeds]


def test_registered_with_fixed_stream_ids_outside_the_paper():
    ids = {p: registry.planner(p).stream_id for p in GEO_PLANNERS}
    assert ids == {"score-diffusion": 5, "projected-cem": 6, "projected-mppi": 7, "codebook-cem": 8}
    assert not any(registry.planner(p).paper for p in GEO_PLANNERS)
    assert registry.planners().names(paper=True) == ("cem", "mppi", "gradient", "sgld", "diffusion")
    from fastplan.paper import PAPER_PLANNERS
    assert PAPER_PLANNERS == ("cem", "mppi", "gradient", "sgld", "diffusion")


# --------------------------------------------------------------------------- NumPy references

@pytest.mark.parametrize("beta", [0.0, 0.05])
@pytest.mark.parametrize("kind", ["vae", "ebm", "vqvae"])
def test_score_diffusion_matches_numpy(kind, beta):
    prob = fastplan.make_problem(kind, 4, 3, 2)
    hp = {"samples": 6, "steps": 5, "eta": 0.7}
    res = fastplan.plan(prob, "score-diffusion", prior_weight=beta, **hp)
    a0 = stack([prob]).initial_draws(6, "prior")[0]
    ref = ref_score_diffusion(prob, a0, 2, 5, 0.3, 2.0, 0.7, beta=beta)
    np.testing.assert_allclose(res.actions, ref, rtol=1e-9, atol=1e-9)
    assert res.samples == 6 * 6


def test_score_diffusion_without_score_is_diffusion_bit_for_bit():
    probs = problems("score-diffusion", d=5, T=4)
    plain = fastplan.plan_batch(probs, "diffusion")
    scored = fastplan.plan_batch(probs, "score-diffusion", eta=0.0)
    assert np.array_equal(plain.actions, scored.actions)
    assert np.array_equal(plain.samples, scored.samples)


@pytest.mark.parametrize("beta", [0.0, 0.02])
@pytest.mark.parametrize("kind", ["vae", "ebm", "vqvae"])
def test_projected_cem_matches_numpy(kind, beta):
    prob = fastplan.make_problem(kind, 4, 3, 1)
    res = fastplan.plan(prob, "projected-cem", prior_weight=beta, population=30, iterations=3)
    mu0 = np.tile(prob.geometry.mean(), (3, 1))
    sig0 = np.tile(prob.geometry.std(), (3, 1))
    ref = ref_projected_cem(prob, mu0, sig0, 1, 30, 3, 0.1, beta=beta)
    np.testing.assert_allclose(res.actions, ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(prob.geometry.project(res.actions), res.actions)   # on the geometry


@pytest.mark.parametrize("beta", [0.0, 0.02])
@pytest.mark.parametrize("kind", ["vae", "ebm", "vqvae"])
def test_projected_mppi_matches_numpy(kind, beta):
    prob = fastplan.make_problem(kind, 4, 3, 3)
    res = fastplan.plan(prob, "projected-mppi", prior_weight=beta, samples=30, iterations=3)
    ref = ref_projected_mppi(prob, np.tile(prob.geometry.mean(), (3, 1)), 3, 30, 3, 0.8, 1.0, beta=beta)
    np.testing.assert_allclose(res.actions, ref, rtol=1e-8, atol=1e-9)


def test_codebook_draws_and_refit_match_numpy():
    from fastplan.engine.planners.codebook_cem import codes_refit, draw_code
    rng = np.random.default_rng(0)
    T, K, N, n_elite = 3, 6, 50, 7
    probs = rng.dirichlet(np.ones(K), size=T)
    probs[1, [0, 4]] = 0.0                       # codes without probability are never drawn
    probs[1] /= probs[1].sum()
    u = rng.random((N, T))
    u[0, 1] = np.nextafter(1.0, 0.0)             # at the top: the last code of positive probability
    drawn = np.array([[draw_code(probs[t], K, u[i, t]) for t in range(T)] for i in range(N)])
    np.testing.assert_array_equal(drawn, ref_draw_codes(probs, u))
    assert not np.isin(drawn[:, 1], [0, 4]).any()
    # refit: the elites' code shares, exactly; the cheapest sequence is kept
    codes = rng.integers(0, K, size=(1, T, N))
    pop = rng.normal(size=(1, T, 2, N))
    cost = rng.random((1, N))
    out_probs = np.zeros((1, T, K))
    best = np.full(1, np.inf)
    out = np.zeros((1, T, 2))
    codes_refit(pop, codes, cost, out_probs, best, np.empty(n_elite, dtype=np.int64), out, 0)
    elite = np.argsort(cost[0], kind="stable")[:n_elite]
    assert np.array_equal(out_probs[0], ref_codes_refit(codes[0].T, elite, K))
    assert np.array_equal(out[0], pop[0, :, :, elite[0]]) and best[0] == cost[0, elite[0]]


@pytest.mark.parametrize("beta", [0.0, 0.01])
@pytest.mark.parametrize("kind", ["vae", "vqvae"])
def test_codebook_cem_matches_numpy(kind, beta):
    prob = fastplan.make_problem(kind, 4, 3, 4)
    res = fastplan.plan(prob, "codebook-cem", prior_weight=beta, population=30, iterations=3)
    ref = ref_codebook_cem(prob, np.full((3, 8), 1 / 8), 4, 30, 3, 0.1, beta=beta)
    assert np.array_equal(res.actions, ref)          # codes: copied, not computed
    assert all(any(np.array_equal(a, c) for c in prob.geometry.centers) for a in res.actions)


def test_codebook_cem_on_fitted_codebooks_of_other_sizes():
    """A batch mixing the paper's codebook (8 codes) with k-means fits of 5 and 12 codes
    (padded stacks) plans each as alone; the sparse EBM is refused in one line."""
    x = fastplan.make_geometry("vqvae", 4, 9).sample(2000, seed=1)
    fits = [fastplan.geometry_from_samples(x, kind="kmeans", k=k, seed=0) for k in (5, 12)]
    probs = [fastplan.make_problem(g, 4, 3, 5) for g in (fits[0], "vqvae", fits[1])]
    together = fastplan.plan_batch(probs, "codebook-cem", **SMALL["codebook-cem"])
    for p, prob in enumerate(probs):
        alone = fastplan.plan(prob, "codebook-cem", **SMALL["codebook-cem"])
        assert np.array_equal(alone.actions, together.actions[p])
        centers = prob.geometry.density_params().centers
        assert all(np.min(np.abs(centers - a).sum(axis=1)) == 0 for a in alone.actions)
    with pytest.raises(FastplanError, match="codebook"):
        fastplan.plan(fastplan.make_problem("ebm", 4, 3, 0), "codebook-cem")


# --------------------------------------------------------------------------- threads, batches

@pytest.mark.parametrize("P", [1, 5])
@pytest.mark.parametrize("planner,beta", [(p, b) for p in GEO_PLANNERS for b in (0.0, 0.03)]
                         + [(p, 0.03) for p in PAPER])
def test_kernels_bit_identical_on_1_and_2_threads(planner, beta, P, thread_counts):
    """The kernel itself (no thread policy in between): P = 1 runs its samples (the FD
    gradient: its time steps) in chunks over 2 threads, P = 5 whole problems per thread; the
    paper's kernels with the prior penalty too."""
    probs = problems(planner, d=5, T=3, seeds=(0, 1, 2))[:P]
    spec = registry.planner(planner)
    hp = spec.resolve({**{**SMALL, **PAPER_SMALL}[planner], "prior_weight": beta})
    batch = stack(probs)
    module = spec.module()
    outs = []
    before = numba.get_num_threads()
    try:
        for n in thread_counts:
            numba.set_num_threads(n)
            outs.append(module.run(batch, hp, module.prepare(batch, hp, "prior")))
    finally:
        numba.set_num_threads(before)
    for a, b in zip(outs[0], outs[1]):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("planner", GEO_PLANNERS)
def test_batched_equals_one_by_one(planner):
    probs = problems(planner, d=3, T=4, seeds=(0, 5))
    together = fastplan.plan_batch(probs, planner, prior_weight=0.01, **SMALL[planner])
    for p, pr in enumerate(probs):
        alone = fastplan.plan(pr, planner, prior_weight=0.01, **SMALL[planner])
        assert np.array_equal(alone.actions, together.actions[p])
        assert alone.samples == together.samples[p]


# --------------------------------------------------------------------------- prior penalty

@pytest.mark.parametrize("planner", GEO_PLANNERS)
def test_prior_weight_zero_is_the_default_bit_for_bit(planner):
    probs = problems(planner, d=4, T=3)
    default = fastplan.plan_batch(probs, planner, **SMALL[planner])
    off = fastplan.plan_batch(probs, planner, prior_weight=0.0, **SMALL[planner])
    assert np.array_equal(default.actions, off.actions) and np.array_equal(default.cost, off.cost)
    assert "prior_weight" not in off.hyperparameters                # same configuration key
    on = fastplan.plan_batch(probs, planner, prior_weight=0.05, **SMALL[planner])
    assert on.hyperparameters["prior_weight"] == 0.05
    if planner != "codebook-cem":     # every code has (nearly) the same density: same plans
        assert not np.array_equal(default.actions, on.actions)


@pytest.mark.parametrize("planner,gradient", [(p, None) for p in PAPER if p not in ("gradient", "sgld")]
                         + [(p, g) for p in ("gradient", "sgld") for g in ("fd", "adjoint")])
def test_paper_planners_with_the_prior_penalty(planner, gradient):
    """Off: the default plan bit for bit, the same hyperparameters (configuration key); on: the
    plans' log-density rises and the reported cost is Eq. 5 plus the penalty (NumPy)."""
    over = {**PAPER_SMALL[planner], **({"gradient": gradient} if gradient else {})}
    probs = [fastplan.make_problem(k, 5, 4, s) for k in ("vae", "ebm", "vqvae") for s in range(2)]
    default = fastplan.plan_batch(probs, planner, **over)
    off = fastplan.plan_batch(probs, planner, prior_weight=0.0, **over)
    assert np.array_equal(default.actions, off.actions) and np.array_equal(default.cost, off.cost)
    assert off.hyperparameters == default.hyperparameters
    on = fastplan.plan_batch(probs, planner, prior_weight=0.05, **over)
    for p, prob in enumerate(probs):
        want = ref_cost(prob, on.actions[p][None], beta=0.05)[0]
        np.testing.assert_allclose(on.cost[p], want, rtol=1e-10)
    logp = [np.mean([p.geometry.log_density(a).mean() for p, a in zip(probs, r.actions)]) for r in (default, on)]
    assert logp[1] > logp[0], logp


def _problem_cost(geometry, lam, beta):
    """One problem's cost bundle with the prior penalty, as a kernel sees it after cost_at."""
    from fastplan.engine.geometry_stack import density_at, stack_densities
    return (lam, 0.0, 0.0, np.empty(0), np.empty(0), beta, density_at(stack_densities([geometry]), 0))


@pytest.mark.parametrize("kind", ["vae", "ebm"])
def test_prior_penalty_gradients_fd_numpy_and_adjoint(kind):
    """The finite-difference gradient of the penalised cost equals NumPy's forward differences
    of Eq. 5 + beta * mean -log p, and the adjoint (with -(beta/T) score) agrees with it."""
    from fastplan.engine.planners._common import sequence_cost
    from fastplan.engine.planners._descent import adjoint_grad, fd_row
    prob = fastplan.make_problem(kind, 5, 4, 3)
    w, T, d = prob.world, 4, 5
    a = prob.geometry.sample(T, seed=7) + np.random.default_rng(1).normal(0, 0.3, (T, d))
    cost = _problem_cost(prob.geometry, 0.1, 0.2)
    world = (w.A, w.B, w.b)
    states, pre = np.empty((T + 1, d)), np.empty((T, d))
    base = sequence_cost(world, prob.s0, prob.goal, a.copy(), cost, states, pre)
    np.testing.assert_allclose(base, ref_cost(prob, a[None], beta=0.2)[0], rtol=1e-12)

    def fd(eps):
        g = np.empty((T, d))
        for tt in range(T):
            fd_row(world, prob.goal, a, states, pre, base, tt, cost, eps, np.empty((d, d)),
                   np.empty((d, d)), np.empty(d), np.empty(d), g[tt])
        return g
    eps = 1e-3
    pert = np.repeat(a[None], T * d, axis=0)
    pert.reshape(T * d, T * d)[np.arange(T * d), np.arange(T * d)] += eps
    ref = ((ref_cost(prob, pert, beta=0.2) - ref_cost(prob, a[None], beta=0.2)[0]) / eps).reshape(T, d)
    np.testing.assert_allclose(fd(eps), ref, rtol=1e-7, atol=1e-8)
    g_adj = np.empty((T, d))
    adjoint_grad(world, a, prob.goal, states, pre, cost, g_adj, np.empty(d), np.empty(d))
    g_fd = fd(1e-6)
    assert np.linalg.norm(g_fd - g_adj) / np.linalg.norm(g_adj) < 1e-5


def test_prior_weight_is_refused_where_not_implemented_and_validated():
    spec = PlannerSpec(name="zero-plan", label="Zero", stream_id=901, defaults={"lam": 0.1},
                       kernels=object())
    registry.register_planner(spec)
    try:
        assert spec.resolve({"prior_weight": 0}) == {"lam": 0.1}        # off is always fine
        with pytest.raises(FastplanError, match="does not implement prior_weight"):
            spec.resolve({"prior_weight": 0.1})
    finally:
        registry.planners().unregister("zero-plan")
    with pytest.raises(FastplanError, match="prior_weight must be >= 0"):
        registry.planner("projected-cem").resolve({"prior_weight": -1})


# --------------------------------------------------------------------------- beats doing nothing

@pytest.fixture(scope="module")
def paper_problems():
    return {k: [fastplan.make_problem(k, 8, 8, s) for s in range(10)] for k in ("vae", "ebm", "vqvae")}


@pytest.mark.parametrize("planner", GEO_PLANNERS)
def test_beats_doing_nothing_on_the_papers_problems(planner, paper_problems):
    """d = 8, h = 8, seeds 0-9, paper defaults, decoded execution: the realised goal distance
    beats a = 0 executed the same way (a decoder cannot send a = 0 itself on the VAE or the
    VQ-VAE: 0 lies off their manifold; on the sparse EBM it does, and a = 0 is the plain one)."""
    for kind in kinds_for(planner):
        probs = paper_problems[kind]
        res = fastplan.plan_batch(probs, planner, execution="decoded")
        zero = np.mean([fastplan.execute_decoded(p, np.zeros((8, 8)))["goal_distance"] for p in probs])
        assert res.realised_goal_distance.mean() < zero, (kind, res.realised_goal_distance.mean(), zero)
        if kind == "ebm":
            plain = np.mean([fastplan.execute_decoded(p, np.zeros((8, 8)))["planned_goal_distance"]
                             for p in probs])
            assert res.realised_goal_distance.mean() < plain


@pytest.mark.parametrize("planner", GEO_PLANNERS + ("cem",))
def test_on_a_learned_world_with_its_own_latent_geometry(planner):
    """An MLP world (n = 5 states, d = 3 latents) and a k-means geometry fitted to latents:
    every geometry-aware planner (and CEM with the prior penalty) plans, its reported cost is
    the NumPy cost of its plan, and the projecting planners' plans lie on the geometry."""
    from fastplan.engine.worlds.mlp import random_mlp
    w = random_mlp(5, 3, (16,), "tanh", residual=True, seed=0)
    x = fastplan.make_geometry("vqvae", 3, 4).sample(3000, seed=2)
    geom = fastplan.geometry_from_samples(x, kind="kmeans", k=6, seed=0)
    rs = np.random.default_rng(0)
    probs = [fastplan.Problem.from_arrays(w, rs.normal(0, 0.3, 5), rs.normal(0, 0.3, 5), 4,
                                          geometry=geom, seed=i) for i in range(3)]
    beta = 0.01 if planner == "cem" else 0.0
    res = fastplan.plan_batch(probs, planner, prior_weight=beta, **{**SMALL, **PAPER_SMALL}[planner])
    assert res.actions.shape == (3, 4, 3) and res.states.shape == (3, 5, 5)
    for p, prob in enumerate(probs):
        s = [prob.s0]
        for a in res.actions[p]:
            s.append(w.step(s[-1], a))
        s = np.array(s)
        want = np.linalg.norm(s[-1] - prob.goal) + 0.1 * np.mean(np.linalg.norm(np.diff(s, axis=0), axis=1))
        want += beta * -np.mean(geom.log_density(res.actions[p]))
        assert res.cost[p] == pytest.approx(want, rel=1e-10)
        if planner in ("projected-cem", "projected-mppi", "codebook-cem"):
            np.testing.assert_array_equal(geom.project(res.actions[p]), res.actions[p])
