"""Uniform-grid neighbour search: counting sort by cell with our own prefix scan, fluid
particles kept sorted by cell (memory locality), neighbour lists built once per step.

Cells are counted in a table of ``num_buckets`` slots: cell c goes to slot c mod num_buckets
(a power of two, or the number of cells when that is smaller). A pour's grid spans the table
and the spray's reach (millions of cells at r = 0.9 mm, nearly all empty); sorting over every
cell each step cost about a fifth of the step. The table is big enough that no two cells of
one 3 x 3 x 3 block share a slot, so a slot shared with a distant cell only adds candidates
that the distance test rejects. Consecutive cells along z stay in consecutive slots, so each
of the 9 columns of a block is still one run of sorted particles (two where it wraps).

Order is deterministic: within a slot, particles are ordered by their stable id, and slots are
visited in a fixed order, so neighbour sums run in the same order on every run. Cells are
anchored to the world (cell k spans [k h, (k + 1) h) on each axis), not to the box's corner, so
a particle's list is the same whatever box the grid covers: a pour's first seconds do not
depend on how long the pour runs (its box spans the cup's whole motion).
"""


import numpy as np
import taichi as ti

SCAN_BLOCKS = 64
BUCKETS_PER_PARTICLE = 8  # hash-table slots per particle (when the grid has more cells)


def bucket_count(dims, num_particles: int) -> int:
    """Slots of the cell table: the cell count, or a power of two of at least
    BUCKETS_PER_PARTICLE per particle and more than any 3 x 3 x 3 block spans (so no two of a
    block's cells share a slot), whichever is smaller."""
    dims = [int(d) for d in dims]
    cells = int(np.prod(dims))
    span = 2 * (dims[1] * dims[2] + dims[2] + 1) + 1  # linear-index spread of a 3x3x3 block
    want = max(4096, BUCKETS_PER_PARTICLE * int(num_particles), span)
    return min(cells, 1 << (want - 1).bit_length())


@ti.data_oriented
class NeighbourSearch:
    """Cells of edge ``support`` over the box [lo, hi]; lists of fluid and boundary neighbours.

    Args:
        lo, hi: (3,) corners of the gridded box, m (particles outside are clamped to the
            border cells).
        support: kernel support radius h, m (cell edge).
        num_fluid, num_boundary: particle counts (no boundary particles: none are binned or
            listed, as in pours, whose walls act through their signed distance).
        max_fluid, max_boundary: list capacity per particle (extra neighbours are dropped and
            counted in ``overflow``).
    """

    def __init__(self, lo, hi, support: float, num_fluid: int, num_boundary: int,
                 max_fluid: int = 64, max_boundary: int = 96):
        first = np.floor(np.asarray(lo, float) / support)  # world cell of the box's corner
        dims = np.maximum(np.ceil(np.asarray(hi, float) / support) - first, 1)
        self.first_cell = ti.Vector([int(v) for v in first])
        self.dims = ti.Vector([int(v) for v in dims])
        self.num_cells = int(np.prod(dims))
        self.support = float(support)
        self.num_fluid = int(num_fluid)
        self.has_boundary = int(num_boundary) > 0
        self.num_boundary = max(int(num_boundary), 1)
        self.max_fluid = int(max_fluid)
        self.max_boundary = min(int(max_boundary), self.num_boundary)  # pours: 1 placeholder
        self.num_buckets = bucket_count(dims, max(self.num_fluid, self.num_boundary))
        nc, nf, nb = self.num_buckets, self.num_fluid, self.num_boundary
        self.f_count = ti.field(ti.i32, nc)
        self.f_start = ti.field(ti.i32, nc + 1)  # and the total: slot c's run ends at start[c + 1]
        self.b_count = ti.field(ti.i32, nc)
        self.b_start = ti.field(ti.i32, nc + 1)
        self.f_cell = ti.field(ti.i32, nf)
        self.f_rank = ti.field(ti.i32, nf)
        self.f_order = ti.field(ti.i32, nf)  # sorted slot -> previous index
        self.b_cell = ti.field(ti.i32, nb)
        self.b_rank = ti.field(ti.i32, nb)
        self.b_sorted = ti.field(ti.i32, nb)  # sorted slot -> boundary index
        self.block_sum = ti.field(ti.i32, SCAN_BLOCKS)
        self.fluid_nb = ti.field(ti.i32, (nf, self.max_fluid))
        self.fluid_nb_count = ti.field(ti.i32, nf)
        self.boundary_nb = ti.field(ti.i32, (nf, self.max_boundary))
        self.boundary_nb_count = ti.field(ti.i32, nf)
        self.overflow = ti.field(ti.i32, ())
        self._scratch: dict = {}  # ``_scratch_for``

    # ------------------------------------------------------------------ cells
    @ti.func
    def cell_of(self, x):
        c = ti.cast(ti.floor(x / self.support), ti.i32) - self.first_cell
        return ti.max(ti.min(c, self.dims - 1), 0)

    @ti.func
    def cell_index(self, c):
        """Slot of cell c in the cell table (its linear index mod ``num_buckets``)."""
        return ((c[0] * self.dims[1] + c[1]) * self.dims[2] + c[2]) % self.num_buckets

    @ti.kernel
    def _count(self, x: ti.template(), cell: ti.template(), rank: ti.template(),
               count: ti.template()):
        for c in count:
            count[c] = 0
        for i in x:
            c = self.cell_index(self.cell_of(x[i]))
            cell[i] = c
            rank[i] = ti.atomic_add(count[c], 1)

    @ti.kernel
    def _exclusive_scan(self, count: ti.template(), start: ti.template()):
        """Blocked prefix sum: per-block totals (parallel), scan of the totals (serial),
        then each block writes its offsets (parallel); ``start[n]`` is the total, so that a run
        of slots a..b is ``start[a]`` to ``start[b + 1]`` (one table read, not two)."""
        n = self.num_buckets
        chunk = (n + SCAN_BLOCKS - 1) // SCAN_BLOCKS
        for b in range(SCAN_BLOCKS):
            s = 0
            for k in range(b * chunk, ti.min(n, (b + 1) * chunk)):
                s += count[k]
            self.block_sum[b] = s
        for _ in range(1):
            acc = 0
            for b in range(SCAN_BLOCKS):
                t = self.block_sum[b]
                self.block_sum[b] = acc
                acc += t
            start[n] = acc
        for b in range(SCAN_BLOCKS):
            s = self.block_sum[b]
            for k in range(b * chunk, ti.min(n, (b + 1) * chunk)):
                start[k] = s
                s += count[k]

    @ti.kernel
    def _place(self, cell: ti.template(), rank: ti.template(), start: ti.template(),
               count: ti.template(), order: ti.template(), key: ti.template()):
        """order[slot] = particle, cells contiguous, sorted by key within a cell."""
        for i in cell:
            order[start[cell[i]] + rank[i]] = i
        for c in count:
            s = start[c]
            for a in range(s + 1, s + count[c]):  # insertion sort, a few particles per cell
                v = order[a]
                kv = key[v]
                b = a - 1
                while b >= s and key[order[b]] > kv:
                    order[b + 1] = order[b]
                    b -= 1
                order[b + 1] = v

    @ti.kernel
    def _permute(self, fields: ti.template(), scratch: ti.template()):
        """fields[k][slot] = fields[k][order[slot]] for every field: one gather and one
        copy-back pass for all of them (a pass per field cost a tenth of the sort)."""
        for s in self.f_order:
            src = self.f_order[s]
            for k in ti.static(range(len(fields))):
                scratch[k][s] = fields[k][src]
        for s in self.f_order:
            for k in ti.static(range(len(fields))):
                fields[k][s] = scratch[k][s]

    def _scratch_for(self, fields: tuple) -> tuple:
        """A scratch field shaped like each of ``fields`` (made once per list of fields)."""
        key = tuple(id(f) for f in fields)
        if key not in self._scratch:  # the fields are kept too, so that no id is reused
            self._scratch[key] = (fields, tuple(
                ti.Vector.field(f.n, f.dtype, f.shape) if isinstance(f, ti.MatrixField)
                else ti.field(f.dtype, f.shape) for f in fields))
        return self._scratch[key][1]

    def sort_fluid(self, x, ids, carried: list) -> None:
        """Reorder the fluid so cells are contiguous (by cell, then by stable id ``ids``);
        ``x``, ``ids`` and every field in ``carried`` are permuted alike."""
        self._count(x, self.f_cell, self.f_rank, self.f_count)
        self._exclusive_scan(self.f_count, self.f_start)
        self._place(self.f_cell, self.f_rank, self.f_start, self.f_count, self.f_order, ids)
        fields = (x, ids, *carried)
        self._permute(fields, self._scratch_for(fields))

    def bin_boundary(self, xb, ids) -> None:
        """Bin boundary particles (they are not moved in memory; ``b_sorted`` indexes them)."""
        if not self.has_boundary:
            return
        self._count(xb, self.b_cell, self.b_rank, self.b_count)
        self._exclusive_scan(self.b_count, self.b_start)
        self._place(self.b_cell, self.b_rank, self.b_start, self.b_count, self.b_sorted, ids)

    # ------------------------------------------------------------------ lists
    @ti.kernel
    def build_lists(self, x: ti.template(), xb: ti.template()):
        """Neighbours within the support of each (sorted) fluid particle, in a fixed order."""
        h2 = self.support * self.support
        self.overflow[None] = 0
        for i in x:
            xi = x[i]
            c = self.cell_of(xi)
            nf = 0
            nb = 0
            # cells along z are consecutive in the cell order, so each of the 9 (x, y)
            # columns of the 3x3x3 block is one contiguous run of slots (two if it wraps)
            z0 = ti.max(c[2] - 1, 0)
            z1 = ti.min(c[2] + 1, self.dims[2] - 1)
            for dx, dy in ti.ndrange((-1, 2), (-1, 2)):
                cx = c[0] + dx
                cy = c[1] + dy
                if 0 <= cx < self.dims[0] and 0 <= cy < self.dims[1]:
                    first = self.cell_index(ti.Vector([cx, cy, z0]))
                    last = self.cell_index(ti.Vector([cx, cy, z1]))
                    for part in range(2):
                        a = first
                        b = last
                        if first > last:  # the column wraps around the end of the table
                            if part == 0:
                                b = self.num_buckets - 1
                            else:
                                a = 0
                        elif part == 1:
                            break
                        # no branch on the distance test (one candidate in six passes it,
                        # so such a branch mispredicts often): each candidate is written to
                        # the next free slot and the count moves on only for a neighbour;
                        # once full, the last slot keeps the neighbour that filled it
                        for j in range(self.f_start[a], self.f_start[b + 1]):
                            hit = (xi - x[j]).norm_sqr() < h2 and j != i
                            if nf < self.max_fluid:
                                self.fluid_nb[i, nf] = j
                            nf += ti.cast(hit, ti.i32)
                        if ti.static(self.has_boundary):
                            for k in range(self.b_start[a], self.b_start[b + 1]):
                                j = self.b_sorted[k]
                                hit = (xi - xb[j]).norm_sqr() < h2
                                if nb < self.max_boundary:
                                    self.boundary_nb[i, nb] = j
                                nb += ti.cast(hit, ti.i32)
            dropped = ti.max(nf - self.max_fluid, 0) + ti.max(nb - self.max_boundary, 0)
            if dropped > 0:
                ti.atomic_add(self.overflow[None], dropped)
            self.fluid_nb_count[i] = ti.min(nf, self.max_fluid)
            self.boundary_nb_count[i] = ti.min(nb, self.max_boundary)
