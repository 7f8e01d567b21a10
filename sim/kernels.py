"""SPH smoothing kernels in 3D with compact support ``h`` (= 4 r), as Taichi functions.

Cubic spline (Monaghan 1992, written with support radius h) and Wendland C2
(Wendland 1995; Dehnen & Aly 2012). Each has a value and a gradient, and the gradient's
scalar s(r) (grad W = s(r) d: the solver stores one float a pair, not three); numpy twins are
used for boundary volumes and tests.
"""


import math

import numpy as np
import taichi as ti

KERNELS = ("cubic", "wendland")


@ti.func
def cubic_kernel(r: ti.f32, h: ti.f32) -> ti.f32:
    k = 8.0 / (math.pi * h * h * h)
    q = r / h
    w = 0.0
    if q <= 0.5:
        w = k * (6.0 * q * q * q - 6.0 * q * q + 1.0)
    elif q <= 1.0:
        w = k * 2.0 * (1.0 - q) ** 3
    return w


@ti.func
def cubic_gradient_scale(r: ti.f32, h: ti.f32) -> ti.f32:
    """s(r) with grad W = s(r) d for d = x_i - x_j, |d| = r (0 at r = 0 and beyond h): the
    gradient of a pair is this scalar times the pair's offset."""
    l6 = 48.0 / (math.pi * h * h * h)
    q = r / h
    s = 0.0
    if r > 1e-9 and q <= 1.0:
        dwdq = 0.0
        if q <= 0.5:
            dwdq = l6 * q * (3.0 * q - 2.0)
        else:
            dwdq = -l6 * (1.0 - q) * (1.0 - q)
        s = dwdq / (h * r)
    return s


@ti.func
def cubic_gradient(d: ti.template(), h: ti.f32):
    """Gradient with respect to x_i of W(|d|), d = x_i - x_j."""
    return cubic_gradient_scale(d.norm(), h) * d


@ti.func
def wendland_kernel(r: ti.f32, h: ti.f32) -> ti.f32:
    q = r / h
    w = 0.0
    if q <= 1.0:
        w = 21.0 / (2.0 * math.pi * h * h * h) * (1.0 - q) ** 4 * (1.0 + 4.0 * q)
    return w


@ti.func
def wendland_gradient_scale(r: ti.f32, h: ti.f32) -> ti.f32:
    """As ``cubic_gradient_scale``, for the Wendland C2 kernel."""
    q = r / h
    s = 0.0
    if r > 1e-9 and q <= 1.0:
        dwdq = -21.0 / (2.0 * math.pi * h * h * h) * 20.0 * q * (1.0 - q) ** 3
        s = dwdq / (h * r)
    return s


@ti.func
def wendland_gradient(d: ti.template(), h: ti.f32):
    return wendland_gradient_scale(d.norm(), h) * d


def kernel_numpy(name: str, r: np.ndarray, h: float) -> np.ndarray:
    """Kernel value W(r) for distances ``r`` (any shape), 1/m^3."""
    q = np.asarray(r, np.float64) / h
    if name == "cubic":
        k = 8.0 / (math.pi * h**3)
        w = np.where(q <= 0.5, k * (6 * q**3 - 6 * q**2 + 1), k * 2 * np.clip(1 - q, 0, None) ** 3)
    elif name == "wendland":
        qq = np.clip(q, 0, 1)
        w = 21.0 / (2 * math.pi * h**3) * (1 - qq) ** 4 * (1 + 4 * qq)
    else:
        raise ValueError(f"unknown kernel {name!r}; allowed: {', '.join(KERNELS)}")
    return np.where(q <= 1.0, w, 0.0)
