"""Boundary of a solid as a function of the signed distance to its surface.

A wall is treated locally as a plane of boundary samples (Akinci et al. 2012) integrated over
its tangent plane, which turns the sums over boundary neighbours into one-dimensional profiles
of the signed distance d from the fluid particle to the wall surface:

- density ``f(d)``: the normalised density the wall adds (sum_b V_b W_ib; 1 on the layer),
- its derivative ``f'(d)`` (the gradient sum_b V_b grad W_ib is ``f'(d) n``),
- adhesion ``g(d)`` (sum_b V_b A(|x_ib|) x_ib / |x_ib| . n, Akinci et al. 2013, eq. 8).

The virtual layer sits ``depth`` inside the solid, so a fluid at rest touches the wall: the
first layer of a fluid lattice (spacing 2r, support 4r) rests where f(d) = 0.15, about 1.4 r
from the surface for ``depth`` = 0.8 r, i.e. its particles' spheres meet the wall; a lone
particle (self density 0.32) rests where f = 0.68, about 0.2 r from it. Closer than the
profile's steepest point its slope stays at the steepest value (see ``wall_profile``).

This is the boundary cost of one signed-distance lookup per particle and body, whatever the
wall's area: no boundary particles, no boundary neighbour lists (in the spirit of Koschier &
Bender 2017, "Density maps", and Bender et al. 2019, "Volume maps", with a planar profile
in place of the volume integral, which keeps thin walls as stiff as thick ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pourbench.sim.kernels import kernel_numpy

LAYER_DEPTH = 0.8  # virtual sample layer inside the solid, in particle radii
REACH_INSIDE = 2.0  # the tables start this many radii inside the solid
TABLE_SAMPLES = 512


def adhesion_spline(s: np.ndarray, h: float) -> np.ndarray:
    """Akinci et al. 2013 adhesion kernel A(s) (eq. 7), support h; zero below h / 2."""
    s = np.asarray(s, np.float64)
    inner = np.clip(-4.0 * s * s / h + 6.0 * s - 2.0 * h, 0.0, None)
    return np.where((s > 0.5 * h) & (s <= h), 0.007 / h**3.25 * inner**0.25, 0.0)


def cohesion_spline(s: np.ndarray, h: float) -> np.ndarray:
    """Akinci et al. 2013 cohesion kernel C(s) (eq. 2), support h (numpy twin of the solver's)."""
    s = np.asarray(s, np.float64)
    k = 32.0 / (math.pi * h**9)
    far = (h - s) ** 3 * s**3
    near = 2.0 * far - h**6 / 64.0
    c = np.where(2.0 * s > h, far, near)
    return np.where((s > 0) & (s <= h), k * c, 0.0)


@dataclass
class WallProfile:
    """Tabulated profiles over d in [d0, d0 + (n - 1) step], metres; constant beyond."""

    d0: float
    step: float
    density: np.ndarray  # (n,) f(d), dimensionless
    slope: np.ndarray  # (n,) f'(d), 1/m
    adhesion: np.ndarray  # (n,) g(d), 1/m^3.25 * m^0.5 (Akinci's units), times V_b summed

    def __call__(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(f, f', g) at signed distances ``d`` (m), linearly interpolated."""
        x = self.d0 + self.step * np.arange(len(self.density))
        return (np.interp(d, x, self.density), np.interp(d, x, self.slope),
                np.interp(d, x, self.adhesion))


def wall_profile(kernel: str, particle_radius: float, depth: float = LAYER_DEPTH,
                 samples: int = TABLE_SAMPLES) -> WallProfile:
    """Profiles of a wall for a kernel of support h = 4 r, the virtual layer ``depth`` r deep.

    With z = d + depth r the distance to the virtual layer, the plane integrals are
    P(z) = 2 pi int_z^h W(s) s ds, f = P(z) / P(0), f' = -2 pi W(z) z / P(0) and
    g = 2 pi z int_z^h A(s) ds / P(0) (the plane's sample density is 1 / P(0) per V_b).
    """
    r = float(particle_radius)
    h = 4.0 * r
    shift = depth * r
    s = np.linspace(0.0, h, 4097)
    w = kernel_numpy(kernel, s, h)
    a = adhesion_spline(s, h)

    def tail(values):  # int_s^h values ds, for every s of the fine grid
        seg = 0.5 * (values[1:] + values[:-1]) * np.diff(s)
        return np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])

    plane = 2.0 * math.pi * tail(w * s)
    adh = tail(a)
    d = np.linspace(-REACH_INSIDE * r, h - shift, samples)
    z = d + shift
    p0 = plane[0]
    density = np.interp(np.clip(z, 0.0, None), s, plane) / p0
    slope = -2.0 * math.pi * kernel_numpy(kernel, np.clip(z, 0.0, None), h) * z / p0
    # Closer than the steepest point the wall keeps its steepest slope: a flat top would give
    # a particle pressed into it a vanishing gradient, hence a huge DFSPH factor (1 / |grad|^2)
    # and a stiffness that flings it out once it moves back into the steep part.
    steep = int(np.argmin(slope))
    slope[:steep] = slope[steep]
    density[:steep] = density[steep] + slope[steep] * (d[:steep] - d[steep])
    adhesion = 2.0 * math.pi * np.clip(z, 0.0, None) * np.interp(np.clip(z, 0.0, None), s, adh) / p0
    return WallProfile(float(d[0]), float(d[1] - d[0]), density, slope, adhesion)
