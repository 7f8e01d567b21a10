"""Neighbour search: the lists equal a brute-force search, with the cell table sized to the
grid or hashed (a grid with far more cells than particles, as in a pour's domain), with
particles outside the grid (kept in its border cells), and without boundary particles."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from pourbench.sim.grid import bucket_count


def test_bucket_count_is_the_grid_or_a_power_of_two_wider_than_a_block():
    assert bucket_count((10, 10, 10), 100_000) == 1000  # small grid: one slot per cell
    b = bucket_count((200, 100, 200), 1000)
    assert b & (b - 1) == 0 and b < 200 * 100 * 200
    assert b > 2 * (100 * 200 + 200 + 1)  # no two cells of a 3x3x3 block share a slot


@pytest.mark.parametrize("hashed,outside", [(False, False), (True, False), (False, True)])
def test_neighbour_lists_match_brute_force(hashed, outside):
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
    if outside:  # a tenth of the fluid up to 3 h beyond the grid's faces, in its border cells
        far = rng.random(3000) < 0.1
        fluid[far] = rng.uniform(-3 * h, size + 3 * h, (far.sum(), 3))
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


def test_without_boundary_particles_none_are_binned_or_listed():
    """Pours' walls act through their signed distance: a search made for no boundary
    particles lists none, even where the bodies' inert placeholder sample lies."""
    import taichi as ti

    from pourbench.sim.backend import init_taichi
    from pourbench.sim.grid import NeighbourSearch

    init_taichi("cpu")
    h = 0.02
    fluid = np.random.default_rng(2).uniform(0.0, 0.1, (500, 3))
    grid = NeighbourSearch((0, 0, 0), (0.1, 0.1, 0.1), h, len(fluid), 0)
    x = ti.Vector.field(3, ti.f32, len(fluid))
    ids = ti.field(ti.i32, len(fluid))
    xb = ti.Vector.field(3, ti.f32, 1)
    bids = ti.field(ti.i32, 1)
    x.from_numpy(fluid.astype(np.float32))
    ids.from_numpy(np.arange(len(fluid), dtype=np.int32))
    xb.from_numpy(fluid[:1].astype(np.float32))  # a placeholder right among the fluid
    grid.sort_fluid(x, ids, [])
    grid.bin_boundary(xb, bids)
    grid.build_lists(x, xb)
    assert grid.boundary_nb_count.to_numpy().max() == 0
    assert grid.fluid_nb_count.to_numpy().mean() > 5
