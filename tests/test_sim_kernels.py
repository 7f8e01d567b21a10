"""SPH kernels: normalisation and gradients (numpy twins and the Taichi functions)."""

import numpy as np
import pytest

from pourbench.sim.kernels import kernel_numpy


@pytest.mark.parametrize("name", ["cubic", "wendland"])
def test_kernel_integrates_to_one(name):
    h = 1.0
    rr = np.linspace(0, h, 20001)
    integral = np.trapezoid(kernel_numpy(name, rr, h) * 4 * np.pi * rr**2, rr)
    assert integral == pytest.approx(1.0, abs=1e-6)
    assert kernel_numpy(name, np.array([h, 1.5 * h]), h) == pytest.approx([0.0, 0.0])


@pytest.mark.parametrize("name", ["cubic", "wendland"])
def test_taichi_kernels_match_numpy_and_gradients_vanish_on_a_full_lattice(name):
    import taichi as ti

    from pourbench.sim.backend import init_taichi
    from pourbench.sim.kernels import (
        cubic_gradient,
        cubic_kernel,
        wendland_gradient,
        wendland_kernel,
    )

    init_taichi("cpu")
    h = 0.02
    spacing = h / 4
    g = np.arange(-5, 6) * spacing
    X, Y, Z = np.meshgrid(g, g, g, indexing="ij")
    pts = np.stack([X.ravel(), Y.ravel(), Z.ravel()], 1) + np.array([0.3, 0.1, 0.2]) * spacing
    d = ti.Vector.field(3, ti.f32, len(pts))
    w = ti.field(ti.f32, len(pts))
    gr = ti.Vector.field(3, ti.f32, len(pts))
    d.from_numpy(pts.astype(np.float32))
    cubic = name == "cubic"

    @ti.kernel
    def evaluate():
        for i in d:
            if ti.static(cubic):
                w[i] = cubic_kernel(d[i].norm(), h)
                gr[i] = cubic_gradient(d[i], h)
            else:
                w[i] = wendland_kernel(d[i].norm(), h)
                gr[i] = wendland_gradient(d[i], h)

    evaluate()
    ref = kernel_numpy(name, np.linalg.norm(pts, axis=1), h)
    np.testing.assert_allclose(w.to_numpy(), ref, rtol=1e-4, atol=1e-3 * ref.max())
    # sum_j V grad W(x - x_j) over a full lattice around an arbitrary point vanishes
    vol = spacing**3
    grad_sum = vol * gr.to_numpy().sum(0)
    typical = vol * np.abs(gr.to_numpy()).sum(0)
    assert np.all(np.abs(grad_sum) < 0.02 * typical)
    # and the lattice sum of V W is ~1 (partition of unity)
    assert vol * w.to_numpy().sum() == pytest.approx(1.0, abs=0.02)
    # the gradient points from the particle towards the centre (W decreases outwards)
    radial = np.einsum("ij,ij->i", gr.to_numpy(), pts)
    assert (radial <= 1e-6).all()
    # its size is dW/dr (the solver stores the scalar s(r) of grad W = s(r) d per pair)
    r = np.linalg.norm(pts, axis=1)
    eps = 1e-6 * h
    dwdr = (kernel_numpy(name, r + eps, h) - kernel_numpy(name, r - eps, h)) / (2 * eps)
    np.testing.assert_allclose(np.linalg.norm(gr.to_numpy(), axis=1), np.abs(dwdr),
                               rtol=1e-3, atol=1e-4 * np.abs(dwdr).max())
