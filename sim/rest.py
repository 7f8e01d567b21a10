"""When a pour's water has come to rest for good, so that stepping it further changes little.

Once the containers stand still for the rest of the pour, and over the last ``window_s`` 99 %
of the particles have stayed within ``drift`` of where they were and none has moved more than
``MAX_DRIFT_FACTOR`` times that, the water is at rest: what the solver would still do is
numerical creep (water at rest in SPH never settles exactly: particles of its top layer and
of its layer on a container's floor creep, a fraction of a radius a second). The pour then
repeats its last frame instead of stepping, as rigid-body engines put resting bodies to
sleep. Only frames are compared, so the test costs one distance per particle and frame.
"""

from __future__ import annotations

import numpy as np

QUANTILE = 0.99  # the share of particles held to ``drift``
MAX_DRIFT_FACTOR = 8.0  # every particle is held to this times ``drift`` (a falling or
# sliding drop moves far more than that in a window)


class RestDetector:
    """Feed it each frame's positions (``update``); it says when the water is at rest.

    Args:
        drift: displacement, m, that 99 % of the particles may not exceed (0: never at rest).
        window_s: how long the water must stay so, s.
        still_from_s: time from which no container moves again, s.
    """

    def __init__(self, drift: float, window_s: float, still_from_s: float):
        self.drift = float(drift)
        self.window_s = float(window_s)
        self.still_from_s = float(still_from_s)
        self._anchor: np.ndarray | None = None
        self._anchor_t = 0.0
        self.rest_from_s: float | None = None  # the time of the frame found at rest

    def _moved(self, positions: np.ndarray) -> bool:
        """Has the water left the reference frame (the anchor)?"""
        d = np.linalg.norm(positions - self._anchor, axis=1)
        if d.size == 0:
            return False
        return bool(d.max() > MAX_DRIFT_FACTOR * self.drift
                    or np.quantile(d, QUANTILE) > self.drift)

    def update(self, t: float, positions: np.ndarray) -> bool:
        """Take the frame at time ``t`` (s); True once the water is at rest (and from then on).

        The reference frame moves to the current one whenever the water has left it, and
        while a container may still move."""
        if self.rest_from_s is not None:
            return True
        if self.drift <= 0.0:
            return False
        if self._anchor is None or t < self.still_from_s - 1e-9 or self._moved(positions):
            self._anchor = np.array(positions, copy=True)
            self._anchor_t = t
            return False
        if t - self._anchor_t >= self.window_s - 1e-9:
            self.rest_from_s = t
            return True
        return False


__all__ = ["RestDetector"]
