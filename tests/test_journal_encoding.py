"""The journal's unit files: every array of a unit packed into one member, decoded bit for bit;
unit files of the earlier encoding (one member per array) still decode; a damaged file fails
to decode (so the sweep recomputes its unit) instead of giving other numbers."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from fastplan.store.journal import PACKED, _decode_result, _encode_result


def _unit():
    rng = np.random.default_rng(0)
    return {
        "kind": "plan", "planner": "cem", "d": 3, "hyperparameters": {"lam": 0.1, "population": 7},
        "wall_time": 0.25, "note": None,
        "actions": rng.standard_normal((2, 4, 3)), "seeds": np.array([0, 5], dtype=np.int64),
        "geometries": np.array(["vae", "vqvae"]), "complete": np.array([True, False]),
        "cost": np.array([1.5, np.nan]), "empty": np.zeros((0, 3)), "empty_text": np.array([], dtype=str),
        "scalar": np.array(2.5), "small": np.arange(3, dtype=np.int32), "f4": np.ones(5, dtype=np.float32),
        "fortran": np.asfortranarray(rng.standard_normal((3, 2))), "strided": np.arange(10.0)[::3],
        "worlds": {"h1": {"family": "tanh", "provenance": {"seed": 1},
                          "arrays": {"A": rng.standard_normal((3, 3)), "b": np.zeros(3)}}},
    }


def _same(a, b, where="", packed=True):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}", packed)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        assert a.tobytes() == b.tobytes(), where           # C-order bytes of either layout
        assert b.flags.writeable and b.flags.aligned and (b.flags.c_contiguous or not packed), where
    else:
        assert a == b, where


def test_a_unit_round_trips_bit_for_bit_through_one_packed_member():
    unit = _unit()
    data = _encode_result(unit)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == sorted(["__meta__.npy", f"{PACKED}.npy"])
    back = _decode_result(io.BytesIO(data))
    _same(unit, back)
    assert np.isnan(back["cost"][1]) and back["scalar"].shape == ()


def test_a_unit_file_of_the_earlier_encoding_still_decodes():
    unit = _unit()
    arrays = {k: v for k, v in unit.items() if isinstance(v, np.ndarray)}
    meta = {k: v for k, v in unit.items() if not isinstance(v, np.ndarray) and k != "worlds"}
    meta["__worlds__"] = {"h1": {"family": "tanh", "provenance": {"seed": 1}, "names": ["A", "b"]}}
    arrays.update({f"worlds/h1/{n}": a for n, a in unit["worlds"]["h1"]["arrays"].items()})
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(json.dumps(meta)), **arrays)     # one member per array, as before
    back = _decode_result(io.BytesIO(buf.getvalue()))
    _same(unit, back, packed=False)


def test_a_damaged_unit_file_does_not_decode():
    data = bytearray(_encode_result(_unit()))
    at = data.find(b"\x93NUMPY", data.find(PACKED.encode())) + 200   # inside the packed bytes
    data[at] ^= 0xFF
    with pytest.raises(Exception):               # the zip CRC: the sweep recomputes the unit
        _decode_result(io.BytesIO(bytes(data)))
    with pytest.raises(Exception):
        _decode_result(io.BytesIO(bytes(data[: len(data) // 2])))
