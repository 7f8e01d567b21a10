"""Kinematic rigid bodies: their boundary (Akinci particles, or walls given by their signed
distance, see ``wall_profile``), the table plane, and the leak safety net (signed distance to
each wall in the body's own frame).
"""


from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import taichi as ti

from pourbench.sim.containers import OFF_GRID, SdfGrid
from pourbench.sim.wall_profile import WallProfile, wall_profile

CONTACT_DISTANCE = 0.1  # in particle radii: no fluid centre closer to a wall surface
SDF_LIPSCHITZ = 2.0  # the interpolated distance changes by at most this times a move (sqrt 3)
WALL_SMOOTHING = 0.75  # in particle radii: gaussian blur of the distance that walls act by
FAR_BLOCK = 8  # SDF cells per edge of a block of a wall's far map (``far_blocks``)
PoseFn = Callable[[float], np.ndarray]  # time, s -> (4, 4) local-to-world


@dataclass
class RigidBody:
    """One kinematic body: boundary samples in its local frame and its pose over time.

    Attributes:
        name: label for logs.
        points: (N, 3) boundary particle positions, local frame, m.
        volumes: (N,) Akinci boundary volumes, m^3.
        pose: function of time (s) returning the (4, 4) local-to-world transform.
        sdf: signed distance to the wall material (local frame) for the leak safety net.
        static: the pose never changes.
        sdf_wall: the body acts on the fluid through its signed distance (``wall_profile``)
            instead of boundary particles (``points`` may then be empty).
    """

    name: str
    points: np.ndarray
    volumes: np.ndarray
    pose: PoseFn
    sdf: SdfGrid | None = None
    static: bool = False
    sdf_wall: bool = False


def constant_pose(matrix: np.ndarray) -> PoseFn:
    m = np.asarray(matrix, float).copy()
    return lambda t: m


def far_blocks(distance: np.ndarray, block: int, reach: float) -> np.ndarray:
    """(uint8) 1 for each block of ``block``^3 cells of a distance grid whose every corner
    value is at least ``reach`` (a little more, for rounding): there the interpolated distance
    is too, since trilinear interpolation mixes a cell's corners with weights >= 0, so no wall
    acts and the grid need not be read. Block k of an axis covers cells k*block to
    k*block + block - 1, whose corners are grid points k*block to (k + 1)*block."""
    far = np.asarray(distance) >= reach * (1.0 + 1e-5)
    for axis in range(3):
        n = far.shape[axis]
        blocks = max((n - 2) // block + 1, 1)  # cell n - 2 is the last one
        pad = [(0, 0)] * 3
        pad[axis] = (0, blocks * block + 1 - n)
        far = np.pad(far, pad, constant_values=True)
        inner = np.moveaxis(far, axis, 0)[:blocks * block]
        inner = inner.reshape(blocks, block, *inner.shape[1:]).all(axis=1)
        ends = np.moveaxis(far, axis, 0)[block::block][:blocks]  # grid point (k + 1)*block
        far = np.moveaxis(inner & ends, 0, axis)
    return far.astype(np.uint8)


def _as_box(values: np.ndarray, revolved: bool) -> np.ndarray:
    """A grid's values (per node, a scalar or a vector) as the box the look-up reads: a
    revolved (n_rho, ny, ...) table becomes (n_rho, ny, 2, ...), two equal z layers
    (trilinear interpolation needs two)."""
    return np.repeat(values[:, :, None], 2, axis=2) if revolved else values


@ti.data_oriented
class KinematicBodies:
    """All bodies: boundary particles with their world positions and velocities, walls given
    by signed distance (``sdf_wall``) and the table plane (the solid y < ``table_y``).

    Also holds the fluid's safety net: ``correct_leaks`` puts back any fluid particle that
    crossed a wall during a step (counted), keeps it above the floor plane ``floor_y`` and
    inside the box [clamp_lo, clamp_hi].
    """

    def __init__(self, bodies: list[RigidBody], clamp_lo, clamp_hi, floor_y: float | None,
                 particle_radius: float, table_y: float | None = None, kernel: str = "cubic"):
        self.bodies = bodies
        pts = [b.points for b in bodies if len(b.points)]
        vols = [b.volumes for b in bodies if len(b.points)]
        ids = [np.full(len(b.points), k) for k, b in enumerate(bodies) if len(b.points)]
        self.has_samples = bool(pts)  # boundary particles (False: walls by distance only)
        if not pts:  # keep one inert sample so fields are never empty
            pts, vols, ids = [np.full((1, 3), 1e3)], [np.zeros(1)], [np.zeros(1, int)]
            self.bodies = bodies or [RigidBody("none", pts[0], vols[0], constant_pose(np.eye(4)))]
        local = np.concatenate(pts).astype(np.float32)
        self.num = len(local)
        self.num_bodies = len(self.bodies)
        self.local = ti.Vector.field(3, ti.f32, self.num)
        self.body = ti.field(ti.i32, self.num)
        self.volume = ti.field(ti.f32, self.num)
        self.x = ti.Vector.field(3, ti.f32, self.num)
        self.v = ti.Vector.field(3, ti.f32, self.num)
        self.ids = ti.field(ti.i32, self.num)
        self.local.from_numpy(local)
        self.body.from_numpy(np.concatenate(ids).astype(np.int32))
        self.volume.from_numpy(np.concatenate(vols).astype(np.float32))
        self.ids.from_numpy(np.arange(self.num, dtype=np.int32))
        B = self.num_bodies
        self.pose = ti.Matrix.field(4, 4, ti.f32, B)
        self.inv_pose = ti.Matrix.field(4, 4, ti.f32, B)
        self.pose_rate = ti.Matrix.field(4, 4, ti.f32, B)
        self.pose_old = ti.Matrix.field(4, 4, ti.f32, B)
        self.inv_old = ti.Matrix.field(4, 4, ti.f32, B)
        self.pose_new = ti.Matrix.field(4, 4, ti.f32, B)
        self.inv_new = ti.Matrix.field(4, 4, ti.f32, B)
        # signed-distance grids, concatenated; a revolved (rho, y) table is stored as a box
        # of two equal z layers, which the look-up reads at z = 0 (``_grid_point``)
        grids = [b.sdf for b in self.bodies]
        offsets, dims, origins, pitches, values = [], [], [], [], []
        total = 0
        for g in grids:
            if g is None:
                offsets.append(-1)
                dims.append((2, 2, 2))
                origins.append((0.0, 0.0, 0.0))
                pitches.append(1.0)
            else:
                box = _as_box(g.values, g.revolved)
                offsets.append(total)
                dims.append(box.shape)
                origins.append(tuple(g.origin))
                pitches.append(g.pitch)
                values.append(box.ravel())
                total += box.size
        self.sdf_values = ti.field(ti.f32, max(total, 1))
        if values:
            self.sdf_values.from_numpy(np.concatenate(values).astype(np.float32))
        self.revolved = ti.field(ti.i32, B)
        self.revolved.from_numpy(np.array([int(g is not None and g.revolved) for g in grids],
                                          np.int32))
        # walls act through a smoothed distance and its gradient (one vec4 lookup): the blur
        # rounds concave corners, where the nearest-surface distance would switch direction
        self.wall_values = ti.Vector.field(4, ti.f32, max(total, 1))
        walls = [None if g is None
                 else self._wall_grid(g, particle_radius) if b.sdf_wall
                 else np.zeros((*dim, 4), np.float32)  # the stored box's shape
                 for b, g, dim in zip(self.bodies, grids, dims, strict=True)]
        if any(b.sdf_wall for b in self.bodies) and values:
            self.wall_values.from_numpy(np.concatenate([w.reshape(-1, 4) for w in walls
                                                        if w is not None]))
        self.sdf_offset = ti.field(ti.i32, B)
        self.is_wall = ti.field(ti.i32, B)
        self.is_wall.from_numpy(np.array([int(b.sdf_wall and b.sdf is not None)
                                          for b in self.bodies], np.int32))
        self.has_walls = bool(self.is_wall.to_numpy().any()) or table_y is not None
        self.has_table = table_y is not None
        self.table_y = float(table_y) if table_y is not None else 0.0
        prof: WallProfile = wall_profile(kernel, particle_radius)
        self.prof_d0, self.prof_step, self.prof_n = prof.d0, prof.step, len(prof.density)
        self.prof = ti.Vector.field(3, ti.f32, self.prof_n)
        self.prof.from_numpy(np.stack([prof.density, prof.slope, prof.adhesion], 1)
                             .astype(np.float32))
        self.reach = prof.d0 + prof.step * (len(prof.density) - 1)  # m: no wall acts beyond
        # where each wall cannot act (``far_blocks``): most of the water skips the look-up
        # of a box grid (a revolved table is small enough to stay in cache: no map)
        maps = [far_blocks(w[..., 0], FAR_BLOCK, self.reach)
                if b.sdf_wall and w is not None and not g.revolved else None
                for b, g, w in zip(self.bodies, grids, walls, strict=True)]
        sizes = [0 if m is None else m.size for m in maps]
        starts = np.cumsum([0, *sizes[:-1]])
        self.far_offset = ti.field(ti.i32, B)
        self.far_offset.from_numpy(np.array([-1 if m is None else o
                                             for m, o in zip(maps, starts, strict=True)],
                                            np.int32))
        self.far_dims = ti.Vector.field(3, ti.i32, B)
        self.far_dims.from_numpy(np.array([(1, 1, 1) if m is None else m.shape for m in maps],
                                          np.int32))
        self.far_map = ti.field(ti.u8, max(sum(sizes), 1))
        if sum(sizes):
            self.far_map.from_numpy(np.concatenate([m.ravel() for m in maps if m is not None]))
        self.sdf_dims = ti.Vector.field(3, ti.i32, B)
        self.sdf_origin = ti.Vector.field(3, ti.f32, B)
        self.sdf_pitch = ti.field(ti.f32, B)
        self.sdf_offset.from_numpy(np.array(offsets, np.int32))
        self.sdf_dims.from_numpy(np.array(dims, np.int32))
        self.sdf_origin.from_numpy(np.array(origins, np.float32))
        self.sdf_pitch.from_numpy(np.array(pitches, np.float32))
        self.clamp_lo = ti.Vector([float(v) for v in clamp_lo])
        self.clamp_hi = ti.Vector([float(v) for v in clamp_hi])
        self.has_floor = floor_y is not None
        self.floor_y = float(floor_y) if floor_y is not None else 0.0
        self.contact = CONTACT_DISTANCE * float(particle_radius)
        self.wall_corrections = ti.field(ti.i32, ())
        self.contact_corrections = ti.field(ti.i32, ())
        self.floor_corrections = ti.field(ti.i32, ())
        self.domain_clamps = ti.field(ti.i32, ())
        self._corners = [self._corners_of(b) for b in self.bodies]

    @staticmethod
    def _wall_grid(sdf: SdfGrid, particle_radius: float) -> np.ndarray:
        """(nx, ny, nz, 4) float32, laid out as the stored grid (``_as_box``): smoothed signed
        distance and its gradient (a revolved table's: d/d rho, d/dy, 0)."""
        from scipy import ndimage

        sigma = WALL_SMOOTHING * particle_radius / sdf.pitch
        exact = sdf.values.astype(np.float64)
        # the blur only ever brings a wall closer: concave corners round off, while thin walls
        # and convex rims keep their exact distance (a blurred thin wall would go soft). A
        # revolved table mirrors about its axis (rho = 0); the 3D blur of the solid would
        # differ by sigma^2 / (2 rho) times the slope, under 0.02 r for these containers
        mode = ("mirror", "nearest") if sdf.revolved else "nearest"
        d = np.minimum(ndimage.gaussian_filter(exact, sigma, mode=mode), exact)
        grads = list(np.gradient(d, sdf.pitch))
        if sdf.revolved:
            grads[0][0] = 0.0  # on the axis, by symmetry
            grads.append(np.zeros_like(d))
        return _as_box(np.stack([d, *grads], -1).astype(np.float32), sdf.revolved)

    @staticmethod
    def _corners_of(b: RigidBody) -> np.ndarray:
        if len(b.points):
            lo, hi = b.points.min(0), b.points.max(0)
        elif b.sdf is not None:
            lo, hi = b.sdf.lo, b.sdf.hi
        else:
            lo = hi = np.zeros(3)
        c = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                      for z in (lo[2], hi[2])])
        return np.concatenate([c, np.ones((8, 1))], 1)

    # ------------------------------------------------------------------ poses
    def poses(self, t: float) -> np.ndarray:
        """(B, 4, 4) local-to-world transforms at time ``t``."""
        return np.stack([b.pose(t) for b in self.bodies])

    def set_state(self, t: float, rate: np.ndarray | None = None) -> None:
        """Place the boundary at time ``t``; velocities from ``rate`` (B, 4, 4) = dP/dt
        (default: central difference of the poses)."""
        P = self.poses(t)
        if rate is None:
            eps = 1e-4
            rate = (self.poses(t + eps) - self.poses(t - eps)) / (2 * eps)
        self._upload(np.stack([P, np.linalg.inv(P), rate]), (self.pose, self.inv_pose,
                                                             self.pose_rate))

    def set_interval_velocity(self, t: float, dt: float) -> None:
        """Boundary velocities that carry the bodies from their pose at t to t + dt."""
        rate = (self.poses(t + dt) - self.poses(t)) / dt
        self._upload(rate[None], (self.pose_rate,))

    def max_speed(self, t: float, dt: float) -> float:
        """Upper bound of any boundary point's speed over [t, t + dt], m/s."""
        best = 0.0
        for b, c in zip(self.bodies, self._corners, strict=True):
            if b.static:
                continue
            for s in (t, t + 0.5 * dt):
                d = (b.pose(s + 0.5 * dt) - b.pose(s)) @ c.T / (0.5 * dt)
                best = max(best, float(np.linalg.norm(d[:3], axis=0).max()))
        return best

    def _upload(self, matrices: np.ndarray, fields: tuple) -> None:
        """matrices (len(fields), B, 4, 4) into the (B,) matrix fields, then the boundary
        samples' world positions and velocities (if the bodies have samples). One serial
        kernel call: ``from_numpy`` cost 0.2 ms a field, several times a step."""
        self._set_matrices(np.ascontiguousarray(matrices, np.float32), fields)
        if self.has_samples:
            self._update_world()

    @ti.kernel
    def _set_matrices(self, a: ti.types.ndarray(dtype=ti.f32, ndim=4), fields: ti.template()):
        ti.loop_config(serialize=True)
        for b in range(a.shape[1]):
            for k in ti.static(range(len(fields))):
                for r, c in ti.static(ti.ndrange(4, 4)):
                    fields[k][b][r, c] = a[k, b, r, c]

    @ti.kernel
    def _update_world(self):
        for k in self.local:
            b = self.body[k]
            p = ti.Vector([self.local[k][0], self.local[k][1], self.local[k][2], 1.0])
            self.x[k] = (self.pose[b] @ p).xyz
            self.v[k] = (self.pose_rate[b] @ p).xyz

    # ------------------------------------------------------------------ walls
    @ti.func
    def profile_at(self, d):
        """(f, f', g) of ``wall_profile`` at signed distance d (m); constant beyond the table."""
        t = (d - self.prof_d0) / self.prof_step
        out = ti.Vector([0.0, 0.0, 0.0])
        if t <= 0.0:
            out = self.prof[0]
        elif t < self.prof_n - 1:
            k = ti.cast(ti.floor(t), ti.i32)
            a = t - k
            out = (1.0 - a) * self.prof[k] + a * self.prof[k + 1]
        return out

    @ti.func
    def wall_at(self, b, x):
        """Smoothed signed distance (m) and its world gradient at world point x for wall b
        (distance OFF_GRID off the grid). In a block that the wall's far map marks as beyond
        its reach (``far_blocks``), the reach, without reading the grid."""
        ph = ti.Vector([x[0], x[1], x[2], 1.0])
        p = (self.inv_pose[b] @ ph).xyz
        q = self._grid_point(b, p)
        out = self._trilinear(self.wall_values, b, q, ti.Vector([OFF_GRID, 0.0, 1.0, 0.0]),
                              True)
        g = ti.Vector([out[1], out[2], out[3], 0.0])
        if self.revolved[b] != 0:  # (d/d rho, d/dy) turned to the point's azimuth
            rho = q[0]
            s = out[1] / rho if rho > 0.0 else 0.0
            g = ti.Vector([s * p[0], out[2], s * p[2], 0.0])
        grad = (self.pose[b] @ g).xyz
        return out[0], grad

    # ------------------------------------------------------------------ safety net
    @ti.func
    def sdf_at(self, b, p):
        """Signed distance (m) from local point p to body b's wall material; OFF_GRID off it."""
        return self._trilinear(self.sdf_values, b, self._grid_point(b, p), OFF_GRID, False)

    @ti.func
    def _grid_point(self, b, p):
        """Local point p in body b's grid coordinates: p itself, or (rho, y, 0) for a revolved
        (rho, y) table, read at z = 0."""
        q = p
        if self.revolved[b] != 0:
            q = ti.Vector([ti.sqrt(p[0] * p[0] + p[2] * p[2]), p[1], 0.0])
        return q

    @ti.func
    def _trilinear(self, values: ti.template(), b, q, outside, far_map: ti.template()):
        """Trilinear interpolation of ``values`` (laid out like body b's SDF grid) at q, a
        point in the grid's coordinates (``_grid_point``); ``outside`` off the grid or for a
        body without a grid. With ``far_map``, a point in a block that the body's far map
        marks (``far_blocks``) gets the walls' reach, without reading the grid."""
        out = outside
        off = self.sdf_offset[b]
        if off >= 0:
            n = self.sdf_dims[b]
            g = (q - self.sdf_origin[b]) / self.sdf_pitch[b]
            if (g >= 0.0).all() and (g <= ti.cast(n - 1, ti.f32)).all():
                gi = ti.min(ti.cast(ti.floor(g), ti.i32), n - 2)
                far = 0
                if ti.static(far_map):
                    if self.far_offset[b] >= 0:
                        k = gi // FAR_BLOCK
                        m = self.far_dims[b]
                        far = ti.cast(self.far_map[self.far_offset[b]
                                                   + (k[0] * m[1] + k[1]) * m[2] + k[2]],
                                      ti.i32)
                if far != 0:
                    if ti.static(far_map):  # out is (distance, gradient)
                        out[0] = self.reach
                else:
                    f = g - ti.cast(gi, ti.f32)
                    acc = outside * 0.0
                    for dx, dy, dz in ti.static(ti.ndrange(2, 2, 2)):
                        w = ((dx * f[0] + (1 - dx) * (1.0 - f[0]))
                             * (dy * f[1] + (1 - dy) * (1.0 - f[1]))
                             * (dz * f[2] + (1 - dz) * (1.0 - f[2])))
                        idx = off + ((gi[0] + dx) * n[1] + gi[1] + dy) * n[2] + gi[2] + dz
                        acc += w * values[idx]
                    out = acc
        return out

    @ti.func
    def sdf_normal(self, b, p):
        e = 0.5 * self.sdf_pitch[b]
        ex = ti.Vector([e, 0.0, 0.0])
        ey = ti.Vector([0.0, e, 0.0])
        ez = ti.Vector([0.0, 0.0, e])
        g = ti.Vector([
            self.sdf_at(b, p + ex) - self.sdf_at(b, p - ex),
            self.sdf_at(b, p + ey) - self.sdf_at(b, p - ey),
            self.sdf_at(b, p + ez) - self.sdf_at(b, p - ez),
        ])
        return g / ti.max(g.norm(), 1e-12)

    def prepare_leak_check(self, t_old: float, t_new: float) -> None:
        Po, Pn = self.poses(t_old), self.poses(t_new)
        self._set_matrices(np.stack([Po, Pn, np.linalg.inv(Po), np.linalg.inv(Pn)])
                           .astype(np.float32),
                           (self.pose_old, self.pose_new, self.inv_old, self.inv_new))

    @ti.kernel
    def correct_leaks(self, x: ti.template(), v: ti.template(), x_prev: ti.template(),
                      dt: ti.f32, clearance: ti.template()):
        """Put back fluid particles that entered or crossed a wall during the step.

        For each body with a distance grid, the step's segment is checked in the body's frame
        (start in the old pose, end in the new). A particle that touched the wall material is
        returned to where it started, on its own side (a leak correction). A particle closer
        than ``contact`` to a wall surface is pushed out to that distance (a contact
        correction): isolated droplets see too little density to feel an Akinci wall before
        they are almost on it. Either way the particle loses its velocity into the wall,
        relative to the body.

        ``clearance[i, b]``: a lower bound of body b's distance at the step's start (-1: none).
        A particle that started farther from the wall than it moved relative to the body (times
        SDF_LIPSCHITZ) plus ``contact`` cannot need a correction, and its distance is not
        looked up (most of the water, away from the walls).
        """
        for i in x:
            for b in range(self.num_bodies):
                if self.sdf_offset[b] >= 0:
                    pn = (self.inv_new[b] @ ti.Vector([x[i][0], x[i][1], x[i][2], 1.0])).xyz
                    po = (self.inv_old[b]
                          @ ti.Vector([x_prev[i][0], x_prev[i][1], x_prev[i][2], 1.0])).xyz
                    dn = OFF_GRID  # far from the wall, unless the particle may have come near it
                    if clearance[i, b] - SDF_LIPSCHITZ * (pn - po).norm() <= 2.0 * self.contact:
                        dn = self.sdf_at(b, pn)
                    if dn < self.contact:
                        crossed = dn < 0.0
                        for s in ti.static(range(1, 4)):
                            if self.sdf_at(b, po + (s / 4.0) * (pn - po)) < 0.0:
                                crossed = True
                        q = pn
                        nrm = ti.Vector([0.0, 1.0, 0.0])
                        if crossed:
                            do = self.sdf_at(b, po)
                            nrm = self.sdf_normal(b, po)
                            q = po
                            if do < self.contact:
                                q = po + (self.contact - do) * nrm
                            ti.atomic_add(self.wall_corrections[None], 1)
                        else:
                            nrm = self.sdf_normal(b, pn)
                            q = pn + (self.contact - dn) * nrm
                            ti.atomic_add(self.contact_corrections[None], 1)
                        qh = ti.Vector([q[0], q[1], q[2], 1.0])
                        xw = (self.pose_new[b] @ qh).xyz
                        vb = (xw - (self.pose_old[b] @ qh).xyz) / dt
                        nw = (self.pose_new[b] @ ti.Vector([nrm[0], nrm[1], nrm[2], 0.0])).xyz
                        vrel = v[i] - vb
                        vn = vrel.dot(nw)
                        if vn < 0.0:
                            vrel -= vn * nw
                        x[i] = xw
                        v[i] = vb + vrel
            if ti.static(self.has_floor):
                if x[i][1] < self.floor_y:
                    x[i][1] = self.floor_y
                    v[i][1] = ti.max(v[i][1], 0.0)
                    ti.atomic_add(self.floor_corrections[None], 1)
            for d in ti.static(range(3)):
                if x[i][d] < self.clamp_lo[d]:
                    x[i][d] = self.clamp_lo[d]
                    v[i][d] = ti.max(v[i][d], 0.0)
                    ti.atomic_add(self.domain_clamps[None], 1)
                if x[i][d] > self.clamp_hi[d]:
                    x[i][d] = self.clamp_hi[d]
                    v[i][d] = ti.min(v[i][d], 0.0)
                    ti.atomic_add(self.domain_clamps[None], 1)
