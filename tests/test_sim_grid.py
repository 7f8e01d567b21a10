"""Neighbour search: the lists equal a brute-force search, with the cell table sized to the
grid or hashed (a grid with far more cells than particles, as in a pour's domain)."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from pourbench.sim.grid import bucket_count


def test_bucket_count_is_the_grid_or_a_power_of_two_wider_than_a_block():
    assert bucket_count((10, 10, 10), 100_000) == 1000  # small grid: one slot per cell
    b = bucket_count((200, 100, 200), 1000)
    assert b & (b - 1) == 0 and b < 200 * 100 * 200
    assert b > 2 * (100 * 200 + 200 + 1)  # no two cells of a 3x3x3 block share a slot


@pytest.mark.parametrize("hashed", [False, True])
def test_neighbour_lists_match_brute_force(hashed):
    import taichi as ti

    from pourbench.sim.backend import init_taichi
    from pourbench.sim.grid import NeighbourSearch

    init_taichi("cpu")
    rng = np.random.default_rng(1)
    h = 0.02
    size = 1.0 if hashed else 0.12  # 50^3 cells (hashed into fewer slots) or 6^3
    # clumps of particles, spread over the whole box so some columns wrap the table
    centres = rng.uniform(0.0, size, (12, 3))
    fluid = (centres[rng.integers(0, 12, 3000)] + rng.normal(0, 0.02, (3000, 3))).clip(0, size)
    bnd = (centres[rng.integers(0, 12, 800)] + rng.normal(0, 0.02, (800, 3))).clip(0, size)
    grid = NeighbourSearch((0, 0, 0), (size, size, size), h, len(fluid), len(bnd),
                           max_fluid=512, max_boundary=512)
    assert (grid.num_buckets < grid.num_cells) == hashed
    x = ti.Vector.field(3, ti.f32, len(fluid))
    ids = ti.field(ti.i32, len(fluid))
    xb = ti.Vector.field(3, ti.f32, len(bnd))
    bids = ti.field(ti.i32, len(bnd))
    x.from_numpy(fluid.astype(np.float32))
    ids.from_numpy(np.arange(len(fluid), dtype=np.int32))
    xb.from_numpy(bnd.astype(np.float32))
    bids.from_numpy(np.arange(len(bnd), dtype=np.int32))
    grid.sort_fluid(x, ids, [])
    grid.bin_boundary(xb, bids)
    grid.build_lists(x, xb)
    assert grid.overflow[None] == 0
    xs = x.to_numpy().astype(np.float64)
    np.testing.assert_array_equal(np.sort(ids.to_numpy()), np.arange(len(fluid)))
    nf, cf = grid.fluid_nb.to_numpy(), grid.fluid_nb_count.to_numpy()
    nb, cb = grid.boundary_nb.to_numpy(), grid.boundary_nb_count.to_numpy()
    tf, tb = cKDTree(xs), cKDTree(bnd.astype(np.float32).astype(np.float64))
    r = h * (1 - 1e-5)  # keep pairs at the float32 edge of the support out of the comparison
    for i in range(len(xs)):
        found = set(nf[i, :cf[i]].tolist())
        assert len(found) == cf[i], "a neighbour listed twice"
        inner = set(tf.query_ball_point(xs[i], r)) - {i}
        outer = set(tf.query_ball_point(xs[i], h * (1 + 1e-5))) - {i}
        assert inner <= found <= outer
        found_b = set(nb[i, :cb[i]].tolist())
        assert len(found_b) == cb[i]
        assert set(tb.query_ball_point(xs[i], r)) <= found_b <= set(
            tb.query_ball_point(xs[i], h * (1 + 1e-5)))
