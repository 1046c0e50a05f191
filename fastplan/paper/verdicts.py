"""The claims part of the report: verdicts at every seed and at the paper's seeds, their
intervals, the seeds undecided claims would need, and ``claims.json``."""
from __future__ import annotations

from .claims import (CONSTRUCTION, CONTRADICTED, EFFECTIVE_DIMENSION_TOLERANCE, EXACT, MISSING, SIX_X_RANGE,
                     STABLE_RATIO, SUPPORTED, UNDECIDED, Claim)
from .stats import BOOT_SEED, N_BOOT

MARK = {SUPPORTED: "✅ supported", CONTRADICTED: "❌ contradicted", UNDECIDED: "⚪ undecided"}


def counts(claims) -> dict:
    """Verdict counts; claims that hold by construction are counted apart."""
    out = {SUPPORTED: 0, CONTRADICTED: 0, UNDECIDED: 0, CONSTRUCTION: 0}
    for c in claims:
        out[CONSTRUCTION if c.basis == CONSTRUCTION else c.verdict] += 1
    return out


def fmt_counts(claims) -> str:
    k = counts(claims)
    text = f"{k[SUPPORTED]} supported, {k[CONTRADICTED]} contradicted, {k[UNDECIDED]} undecided"
    return text + (f", {k[CONSTRUCTION]} by construction" if k[CONSTRUCTION] else "")


def mark(c: Claim | None) -> str:
    if c is None:
        return "—"
    text = MARK[c.verdict]
    if c.basis == CONSTRUCTION:
        text += " (by construction)"
    elif c.basis == EXACT:
        text += " (exact)"
    return text


def need_text(c: Claim) -> str:
    """What an undecided claim needs: seeds (estimate), or the missing cells."""
    if c.verdict != UNDECIDED:
        return ""
    if c.basis == MISSING:
        return "missing cells"
    if c.seeds_needed is None:
        return "no estimate (effect 0)"
    n = c.seeds_needed
    return f"≈ {n:,.0f}" if n < 1e6 else "> 10⁶"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(claims, claims_paper_seeds, paper_claims, n_all: int, n_paper: int) -> list[str]:
    """Markdown lines of the claims sections of ``report.md``."""
    L = []
    add = L.append
    two = claims_paper_seeds is not None
    pc = {c.key: c for c in paper_claims}
    ps = {c.key: c for c in claims_paper_seeds} if two else {}
    add("## Claims of the paper")
    add("")
    add(f"Each claim is decided by a paired seed-bootstrap 95% interval of its deciding contrast θ (> 0 exactly "
        f"when the claim holds; definitions below): **supported** when the interval lies above 0, "
        f"**contradicted** when it lies below 0, **undecided** otherwise. θ is shown on the data with its "
        f"interval [lo, hi] at all {n_all} seeds" + (f"; the next column gives the verdict at the paper's "
                                                     f"{n_paper} seeds" if two else "") +
        ". *Seeds needed*: for an undecided claim, the seeds at which the observed effect would be decided "
        "(80% power; see *How the verdicts are made*). The last column applies the same test to the paper's "
        "own Tables 1, 3 and 4 (one number per cell: an exact comparison; claims that need seeds, other "
        "dimensions or geometry metrics show —).")
    add("")
    head = ["#", "Claim (paper)", f"Verdict ({n_all} seeds)", "θ [95% CI]"]
    if two:
        head.append(f"Verdict ({n_paper} seeds)")
    head += ["Seeds needed", "Paper's own tables"]
    add("| " + " | ".join(head) + " |")
    add("|" + "---|" * len(head))
    groups = [("paper", None), ("normalised", "Scaling claims on the goal distance normalised by the a = 0 "
                                              "distance of the same problem (removes the growth of the problem "
                                              "itself with d):")]
    i = 0
    numbered = {}
    for group, title in groups:
        members = [c for c in claims if c.group == group]
        if not members:
            continue
        if title:
            add("")
            add(title)
            add("")
            add("| " + " | ".join(head) + " |")
            add("|" + "---|" * len(head))
        for c in members:
            i += 1
            numbered[c.key] = i
            p = pc.get(c.key)
            row = [str(i), _cell(c.statement), mark(c), c.fmt_interval()]
            if two:
                row.append(mark(ps.get(c.key)))
            row += [need_text(c), mark(p) if p is not None and p.basis != MISSING else "—"]
            add("| " + " | ".join(row) + " |")
    add("")
    built = [c for c in claims if c.basis == CONSTRUCTION]
    if built:
        add("**By construction.** " + " ".join(f"Claim {numbered[c.key]} ({c.key}) {c.note}." for c in built))
        add("")
    add("### How each claim is tested")
    add("")
    for c in claims:
        add(f"{numbered[c.key]}. **{c.key}** — {c.definition} *Numbers:* {_cell(c.detail)}")
    add("")
    add("### How the verdicts are made")
    add("")
    add(f"- **Paired seed bootstrap.** Seeds are paired: for a given (d, seed) every planner, geometry and horizon "
        f"faces the same world, start and goal. One matrix of {N_BOOT} resamples of the seeds (with "
        f"replacement; NumPy PCG64, fixed seed {BOOT_SEED}, so reports are reproducible byte for byte) is "
        "applied to every cell at once; θ is recomputed on each resample and its 95% interval is the 2.5 and "
        "97.5 percentiles.")
    add("- **Compound claims** (\"best of five\", \"on every geometry\") take θ = the smallest of their "
        "component gaps, so *supported* means every component holds together on ≥ 97.5% of the resamples.")
    add("- **Exact** verdicts: contrasts without seed variation (sample counts fixed by the hyperparameters, "
        "the paper's one-number tables) are decided by the point comparison; a tie is not a win.")
    add("- **Seeds needed** for an undecided claim: n · ((z₀.₉₇₅ + z₀.₈₀) · se / θ)² with se the bootstrap "
        "standard error of θ at n seeds (it shrinks like 1/√n): the seeds at which an interval of the "
        "observed effect would exclude 0 with 80% power, if the observed effect is the true one.")
    add("- **Table cells** carry Student-t 95% intervals of the mean over seeds (mean ± t₀.₉₇₅,ₙ₋₁ · std/√n).")
    add("- *G(planner, d)*: per seed, the mean goal distance over the three geometries at h = 8; then the mean "
        "over seeds (the quantity of the paper's Figure 4). *Normalised*: the same of goal distance / a = 0 "
        "distance of the same problem.")
    add("- **Superlinear** growth with d means that the least-squares slope of log G against log d, over all "
        "dimensions in the file (d = 4, 8, 16 required), is **greater than 1**; linear growth has slope 1, "
        "growth like √d slope 0.5 (the a = 0 and start distances themselves grow like √d).")
    add(f"- **~k-fold** (the ~6× of CEM, the three-fold amenability) means within a factor 2 of k, e.g. "
        f"[{SIX_X_RANGE[0]:g}, {SIX_X_RANGE[1]:g}] for 6×; effective-dimension ranges agree when both endpoints "
        f"are within {EFFECTIVE_DIMENSION_TOLERANCE:.0%} of the paper's; *stable across horizons* means max/min "
        f"over h = 4, 8, 16 below {STABLE_RATIO:g}.")
    add("- *Best/lowest/highest* compare with each of the paper's other planners (or geometries); a missing one "
        "makes the claim *undecided* unless a present one already contradicts it.")
    add("")
    return L


def to_json(claims, claims_paper_seeds, paper_claims, n_paper: int) -> list[dict]:
    """``claims.json``: one entry per claim with its verdicts, intervals and numbers."""
    ps = {c.key: c for c in claims_paper_seeds} if claims_paper_seeds is not None else {}
    pc = {c.key: c for c in paper_claims}

    def iv(c):
        if c is None or c.interval is None:
            return None
        x = c.interval
        return {"estimate": x.estimate, "low": x.lo, "high": x.hi, "se": x.se, "seeds": x.n}

    out = []
    for c in claims:
        p = ps.get(c.key)
        entry = {"key": c.key, "statement": c.statement, "source": c.source, "group": c.group,
                 "definition": c.definition, "verdict": c.verdict, "basis": c.basis, "interval": iv(c),
                 "seeds_needed": c.seeds_needed, "note": c.note, "detail": c.detail, "numbers": c.numbers,
                 "verdict_on_paper_tables": pc[c.key].verdict if c.key in pc else None}
        if p is not None:
            entry[f"verdict_at_{n_paper}_seeds"] = p.verdict
            entry[f"interval_at_{n_paper}_seeds"] = iv(p)
        out.append(entry)
    return out

