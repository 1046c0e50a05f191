"""Run records as a tidy pandas DataFrame: one column per hyperparameter (pandas optional)."""
from __future__ import annotations

import json

import numpy as np

from ..engine.errors import FastplanError

#: Hyperparameters that already have their own record column.
OWN_COLUMNS = ("lam", "gradient")


def pandas():
    """The pandas module, or a one-line :class:`FastplanError` saying how to get it."""
    try:
        import pandas as pd
    except ImportError:
        raise FastplanError('as_frame=True needs pandas: pip install "fastplan[pandas]"') from None
    return pd


def tidy_frame(records: dict):
    """A DataFrame of ``records`` (columns of :func:`fastplan.store.load`) with the JSON
    ``hyperparameters`` column spread into ``hp_<name>`` columns and a ``variant`` label.

    A numeric hyperparameter column holds floats (NaN where missing), or nullable integers
    (NA where missing) when every value is an integer; missing means the run's planner
    lacks that hyperparameter.
    """
    from ..engine import registry
    from ..engine.display import non_default
    pd = pandas()
    texts = np.asarray(records["hyperparameters"], dtype=object)
    parsed = {t: json.loads(t) for t in dict.fromkeys(texts.tolist())}
    names: dict = {}
    for spec in registry.planners():                 # registry order first, then the rest
        names.update(dict.fromkeys(k for k in spec.defaults if any(k in hp for hp in parsed.values())))
    for hp in parsed.values():
        names.update(dict.fromkeys(sorted(hp)))
    cols = {k: v for k, v in records.items() if k != "hyperparameters"}
    planners = np.asarray(records["planner"], dtype=object)
    labels = {}
    cols["variant"] = np.array([labels.setdefault((p, t), non_default(p, parsed[t], none="paper"))
                                for p, t in zip(planners.tolist(), texts.tolist())], dtype=object)
    frame = pd.DataFrame(cols)
    for name in names:
        if name in OWN_COLUMNS:
            continue
        values = [parsed[t].get(name) for t in texts.tolist()]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            if all(float(v).is_integer() for v in present):
                frame[f"hp_{name}"] = pd.array(values, dtype="Int64")
            else:
                frame[f"hp_{name}"] = np.array([np.nan if v is None else v for v in values], dtype=float)
        else:
            frame[f"hp_{name}"] = pd.array(values, dtype=object)
    return frame
