"""When a pour's water has come to rest for good, so that stepping it further changes little.

Once the containers stand still for the rest of the pour, and over the last ``window_s`` 99 %
of the particles have stayed within ``drift`` of where they were and none has moved more than
``MAX_DRIFT_FACTOR`` times that, the water is at rest: what the solver would still do is
numerical creep (water at rest in SPH never settles exactly: particles of its top layer and
of its layer on a container's floor creep, a fraction of a radius a second). The pour then
repeats its last frame instead of stepping, as rigid-body engines put resting bodies to
sleep. Only frames are compared: each frame against the frames of the last window.

The window slides: every frame of the last window is a candidate reference, and the water is
at rest at the first frame that ends a window in which no frame left its first frame's
bounds. A single reference, moved on whenever the water leaves it, finds rest up to a window
later: it restarts at the frame where the water left it, and the creep that made it leave
may stop right after.
"""

from __future__ import annotations

import numpy as np

QUANTILE = 0.99  # the share of particles held to ``drift``
MAX_DRIFT_FACTOR = 8.0  # every particle is held to this times ``drift`` (a falling or
# sliding drop moves far more than that in a window)
MAX_REFERENCES = 32  # references kept per window: at most one every window / this


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
        self._references: list[tuple[float, np.ndarray]] = []  # (time, positions), oldest first
        self.rest_from_s: float | None = None  # the time of the frame found at rest

    def _moved(self, positions: np.ndarray, reference: np.ndarray) -> bool:
        """Has the water left ``reference``: the 99th percentile of the displacements (as
        ``np.quantile`` interpolates it) beyond the drift, or any one beyond
        ``MAX_DRIFT_FACTOR`` drifts? Counted on squared distances; the two displacements either
        side of the drift are read only where the percentile falls between them."""
        d = positions - reference
        d2 = np.einsum("ij,ij->i", d, d)
        n = d2.size
        limit = self.drift ** 2
        if n == 0:
            return False
        if d2.max() > MAX_DRIFT_FACTOR ** 2 * limit:
            return True
        beyond = np.count_nonzero(d2 > limit)
        at = QUANTILE * (n - 1)  # the percentile lies between the k-th and (k+1)-th smallest
        k = int(at)
        if k + 1 >= n or beyond != n - k - 1:
            return beyond >= n - k
        below = np.sqrt(d2[d2 <= limit].max())
        above = np.sqrt(d2[d2 > limit].min())
        return bool(below + (at - k) * (above - below) > self.drift)

    def update(self, t: float, positions: np.ndarray) -> bool:
        """Take the frame at time ``t`` (s); True once the water is at rest (and from then on).

        While a container may still move, only the latest frame is a reference."""
        if self.rest_from_s is not None:
            return True
        if self.drift <= 0.0:
            return False
        if t < self.still_from_s - 1e-9:
            self._references = [(t, np.array(positions, copy=True))]
            return False
        self._references = [(t0, ref) for t0, ref in self._references
                            if not self._moved(positions, ref)]
        if self._references and t - self._references[0][0] >= self.window_s - 1e-9:
            self.rest_from_s = t
            self._references = []
            return True
        if not self._references or (
                t - self._references[-1][0] >= self.window_s / MAX_REFERENCES - 1e-9):
            self._references.append((t, np.array(positions, copy=True)))
        return False


__all__ = ["RestDetector"]
