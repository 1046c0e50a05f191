"""The paper's world model of Eq. 4 (kept import path; see :mod:`fastplan.engine.worlds`)."""
from .worlds.tanh import (BIAS_STD, B_STD_TIMES_SQRT_D, SPECTRAL_RADIUS, STATE_STD,  # noqa: F401
                          TanhWorld, WorldModel, make_world, start_and_goal)
