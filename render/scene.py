"""The pyrender scene of one (track, variant): table, background wall, containers, lights, camera.

Built once per variant; per frame only container poses change and the liquid node is replaced.
This module imports pyrender: import it only through ``pourbench.render`` (which selects EGL).
"""

from __future__ import annotations

import itertools

import numpy as np
import pyrender
import trimesh

from pourbench.core.track import TrackHeader
from pourbench.render.surface import SurfaceMesh
from pourbench.render.textures import make_texture
from pourbench.render.thermal import LABEL_BACKGROUND, LABEL_CONTAINER0, LABEL_TABLE
from pourbench.render.variant import ContainerLook, RenderVariant, TextureSpec

Z_NEAR, Z_FAR = 0.05, 30.0
TABLE_SIZE_M = 4.0
TABLE_TILE_M = 0.6
WALL_DISTANCE_M = 0.7
WALL_WIDTH_M, WALL_HEIGHT_M = 5.0, 3.0
# the liquid node's origin is put this far behind the camera so pyrender's back-to-front sort
# of transparent nodes draws it before glass containers (glass then blends over it)
LIQUID_SORT_OFFSET_M = 50.0
SHADOW_STRENGTH = 0.6  # opacity of the contact shadow under a container standing on the table
SHADOW_FADE_M = 0.05  # a blob fades and widens with its container's height above the table
# The table top sits this far below the track's table height, and the shadow blobs stack in
# between: containers standing on the table then touch nothing coplanar (meeting or crossing
# surfaces rendered differently from run to run on llvmpipe along the line where they meet).
TABLE_DROP_M = 0.002


def look_at(eye: np.ndarray, target: np.ndarray, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """(4, 4) camera-to-world pose, OpenGL convention (camera looks along its -z, y up)."""
    z = eye - target
    z = z / np.linalg.norm(z)
    x = np.cross(np.asarray(up, float), z)
    if np.linalg.norm(x) < 1e-9:
        x = np.cross([0.0, 0.0, 1.0], z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, eye
    return pose


def intrinsics(width: int, height: int, yfov_rad: float) -> np.ndarray:
    """(3, 3) pinhole K for pixel centres at integer coordinates, image y down.

    Applies to camera-frame points in the OpenCV convention, i.e. the OpenGL camera frame with
    y and z negated: u = fx * x / -z + cx, v = -fy * y / -z + cy for OpenGL (x, y, z).
    """
    f = 0.5 * height / np.tan(0.5 * yfov_rad)
    return np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])


def _translation(t) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = t
    return m


def _centre(points: np.ndarray) -> np.ndarray:
    """Centre of the (N, 3) points' bounding box."""
    return np.array([(points[:, i].min() + points[:, i].max()) / 2 for i in range(3)])


def _transform(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    return points @ pose[:3, :3].T + pose[:3, 3]


def scene_frame(header: TrackHeader) -> tuple[np.ndarray, np.ndarray]:
    """Anchor point (3,) (centre of the containers' box over the track) and the pour
    direction u (3,), horizontal unit vector from source to target at frame 0."""
    F = header.num_frames
    pts = []
    for c in header.containers:
        for f in sorted({0, F // 2, max(F - 1, 0)}):
            pts.append(_transform(c.vertices, c.poses[f]))
    pts = np.concatenate(pts) if pts else np.zeros((1, 3))
    anchor = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    anchor[1] = max(anchor[1], header.table_height)
    centres = {c.role: _transform(c.vertices, c.poses[0]).mean(axis=0) for c in header.containers}
    u = np.array([1.0, 0.0, 0.0])
    if "source" in centres and "target" in centres:
        d = centres["target"] - centres["source"]
        d[1] = 0.0
        if np.linalg.norm(d) > 1e-6:
            u = d / np.linalg.norm(d)
    return anchor, u


def camera_pose(header: TrackHeader, variant: RenderVariant) -> np.ndarray:
    """(4, 4) camera-to-world pose from the variant's azimuth/elevation/distance (see
    ``CameraSettings``: azimuth 0 is the side view with the source on the left)."""
    anchor, u = scene_frame(header)
    cam = variant.camera
    y = np.array([0.0, 1.0, 0.0])
    side = np.cross(u, y)
    az, el = np.deg2rad(cam.azimuth_deg), np.deg2rad(cam.elevation_deg)
    h = np.cos(az) * side + np.sin(az) * u
    target = anchor + np.asarray(cam.look_at_offset_m)
    eye = target + cam.distance_m * (np.cos(el) * h + np.sin(el) * y)
    return look_at(eye, target)


def _texture(image: np.ndarray) -> pyrender.Texture:
    sampler = pyrender.Sampler(
        magFilter=pyrender.constants.GLTF.LINEAR,
        minFilter=pyrender.constants.GLTF.LINEAR_MIPMAP_LINEAR,
        wrapS=pyrender.constants.GLTF.REPEAT,
        wrapT=pyrender.constants.GLTF.REPEAT,
    )
    return pyrender.Texture(source=image, source_channels="RGB", sampler=sampler)


def _quad(corners: np.ndarray, uv: np.ndarray, material, cells: int = 1) -> pyrender.Mesh:
    """Flat quad, corners (4, 3) counter-clockwise seen from its front, split into
    cells x cells squares (on llvmpipe, lighting across a table-sized triangle that reaches
    behind the camera shows a seam along its diagonal; small cells avoid it)."""
    normal = np.cross(corners[1] - corners[0], corners[2] - corners[0])
    normal /= np.linalg.norm(normal)
    t = np.linspace(0.0, 1.0, cells + 1)
    a, b = np.meshgrid(t, t, indexing="ij")  # a along corner 0->1, b along corner 0->3
    a, b = a.reshape(-1, 1), b.reshape(-1, 1)

    def bilinear(q):
        return (1 - a) * (1 - b) * q[0] + a * (1 - b) * q[1] + a * b * q[2] + (1 - a) * b * q[3]

    i, j = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
    v00 = (i * (cells + 1) + j).reshape(-1)
    v10, v01 = v00 + cells + 1, v00 + 1
    v11 = v10 + 1
    faces = np.concatenate([np.stack([v00, v10, v11], 1), np.stack([v00, v11, v01], 1)])
    prim = pyrender.Primitive(
        positions=bilinear(corners).astype(np.float32),
        normals=np.repeat(normal[None], len(a), axis=0).astype(np.float32),
        texcoord_0=bilinear(uv).astype(np.float32),
        indices=faces.astype(np.uint32),
        material=material,
    )
    return pyrender.Mesh([prim])


def _textured_material(spec: TextureSpec, roughness: float) -> pyrender.MetallicRoughnessMaterial:
    return pyrender.MetallicRoughnessMaterial(
        baseColorTexture=_texture(make_texture(spec)),
        metallicFactor=0.0,
        roughnessFactor=roughness,
    )


def _cylindrical_uv(vertices: np.ndarray, faces: np.ndarray, height: float):
    """Unshared vertices with cylindrical UVs (u around the local y axis, seam fixed per face)."""
    v = vertices[faces.reshape(-1)]
    u = (np.arctan2(v[:, 2], v[:, 0]) / (2 * np.pi)) % 1.0
    u = u.reshape(-1, 3)
    wrap = (u.max(axis=1) - u.min(axis=1)) > 0.5
    u[wrap] = np.where(u[wrap] < 0.5, u[wrap] + 1.0, u[wrap])
    uv = np.stack([u.reshape(-1), v[:, 1] / max(height, 1e-6)], axis=1)
    return v, uv


def container_mesh(vertices, faces, material: str, look: ContainerLook) -> pyrender.Mesh:
    """pyrender mesh of a container in its local frame with a material from its kind and look.

    Open (non-watertight) meshes get back faces added, so the culled geometry passes still
    see their inside.
    """
    tm = trimesh.Trimesh(np.asarray(vertices, np.float64), np.asarray(faces), process=False)
    faces = np.asarray(faces)
    if not tm.is_watertight:
        faces = np.concatenate([faces, faces[:, ::-1]])
        tm = trimesh.Trimesh(tm.vertices, faces, process=False)
    normals = tm.vertex_normals
    color = np.asarray(look.color)
    if material == "glass":
        mat = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=[*look.glass_tint, look.glass_alpha],
            metallicFactor=0.0, roughnessFactor=0.05, alphaMode="BLEND", doubleSided=True,
        )
    elif material == "metal":
        grey = 0.75 * np.full(3, 0.8) + 0.25 * color
        mat = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=[*grey, 1.0], metallicFactor=1.0, roughnessFactor=0.3,
            doubleSided=True,
        )
    else:
        rough = look.roughness * (0.5 if material == "plastic" else 1.0)
        if look.pattern.kind == "plain":
            mat = pyrender.MetallicRoughnessMaterial(
                baseColorFactor=[*color, 1.0], metallicFactor=0.0, roughnessFactor=rough,
                doubleSided=True,
            )
        else:
            mat = _textured_material(look.pattern, rough)
            mat.doubleSided = True
            height = float(np.ptp(tm.vertices[:, 1]))
            pos, uv = _cylindrical_uv(tm.vertices, faces, height)
            prim = pyrender.Primitive(
                positions=pos.astype(np.float32),
                normals=normals[faces.reshape(-1)].astype(np.float32),
                texcoord_0=uv.astype(np.float32),
                indices=np.arange(len(pos), dtype=np.uint32).reshape(-1, 3),
                material=mat,
            )
            return pyrender.Mesh([prim])
    prim = pyrender.Primitive(
        positions=tm.vertices.astype(np.float32), normals=normals.astype(np.float32),
        indices=faces.astype(np.uint32), material=mat,
    )
    return pyrender.Mesh([prim])


RIM_EXPONENT = 3.0
RIM_OPACITY = 0.85  # share of the remaining transparency a grazing view removes
RIM_BRIGHTENING = 0.5


def liquid_vertex_colors(surface: SurfaceMesh, eye: np.ndarray, alpha: float) -> np.ndarray:
    """(V, 4) float32 colour multipliers giving the liquid a Fresnel-like rim.

    Seen at grazing angles a water surface reflects more and transmits less: its outline and
    the sides of a stream read as brighter and more opaque than the face-on surface. rim =
    (1 - |n.v|)^3 raises alpha towards 1 and brightens the lit colour (pyrender multiplies the
    lit colour and the material alpha by these per-vertex values).
    """
    view = eye[None, :] - surface.vertices
    view /= np.maximum(np.linalg.norm(view, axis=1, keepdims=True), 1e-9)
    cos = np.abs(np.einsum("ij,ij->i", view, surface.normals))
    rim = (1.0 - np.clip(cos, 0.0, 1.0)) ** RIM_EXPONENT
    out = np.empty((len(rim), 4), np.float32)
    out[:, :3] = (1.0 + RIM_BRIGHTENING * rim)[:, None]
    out[:, 3] = alpha + (1.0 - alpha) * RIM_OPACITY * rim
    return out


class _KeyedNode(pyrender.Node):
    """A node whose hash is a key given by its scene, not its memory address.

    pyrender keeps nodes in sets and iterates them to order draws (ties of equal distance)
    and to bind lights (the order of the shader's light sum changes its rounding). With
    address-based hashes both change from process to process; keyed nodes make the same
    scene render to the same bytes in every process.
    """

    def __init__(self, key: int, **kwargs):
        super().__init__(**kwargs)
        self._key = key

    def __hash__(self) -> int:
        return self._key


class PourScene:
    """pyrender scene for one track and variant; ``update(frame, surface)`` moves it in time.

    Every mesh node has its origin at its own centre (pyrender orders transparent draws by the
    distance of node origins to the camera), and nodes are hashed by creation order
    (``_KeyedNode``), so the images are the same in every process.
    """

    def __init__(self, header: TrackHeader, variant: RenderVariant):
        self.header = header
        self.variant = variant
        self.camera_pose = camera_pose(header, variant)
        self.K = intrinsics(variant.width, variant.height, np.deg2rad(variant.camera.yfov_deg))
        self._keys = itertools.count()
        self.scene = pyrender.Scene(
            bg_color=[0.5, 0.5, 0.5, 1.0], ambient_light=[variant.ambient_light] * 3
        )
        self.seg_solid: dict = {}
        self._add_table_and_wall()
        self.container_nodes = []
        self.container_centres = []
        for i, c in enumerate(header.containers):
            look = variant.containers.get(c.role, variant.containers["static"])
            centre = _centre(c.vertices)
            self.container_centres.append(centre)
            mesh = container_mesh(c.vertices - centre, c.faces, c.material, look)
            node = self._add(mesh, pose=c.poses[0] @ _translation(centre),
                                  name=f"container_{c.name}")
            self.container_nodes.append(node)
            self.seg_solid[node] = LABEL_CONTAINER0 + i
        self._add_lights()
        self._add_contact_shadows()
        cam = pyrender.PerspectiveCamera(
            yfov=np.deg2rad(variant.camera.yfov_deg), znear=Z_NEAR, zfar=Z_FAR,
            aspectRatio=variant.width / variant.height,
        )
        self._add(cam, pose=self.camera_pose)
        lv = variant.liquid
        # the alpha lives in the per-vertex colours (see ``liquid_vertex_colors``)
        self.liquid_material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=[*lv.color, 1.0], metallicFactor=0.0, roughnessFactor=lv.roughness,
            alphaMode="BLEND" if lv.alpha < 1.0 else "OPAQUE",
        )
        forward = self.camera_pose[:3, 2]  # camera +z points backwards
        self._liquid_origin = self.camera_pose[:3, 3] + LIQUID_SORT_OFFSET_M * forward
        self.liquid_node = None

    def _add(self, obj, pose: np.ndarray | None = None, name: str | None = None) -> _KeyedNode:
        """Add a mesh, light or camera to the scene under a keyed node."""
        if isinstance(obj, pyrender.Mesh):
            kind = "mesh"
        elif isinstance(obj, pyrender.light.Light):
            kind = "light"
        else:
            kind = "camera"
        node = _KeyedNode(next(self._keys), name=name, matrix=pose, **{kind: obj})
        self.scene.add_node(node)
        return node

    def _add_table_and_wall(self) -> None:
        """A table top ending 1 cm short of a wall that faces the camera.

        The wall reaches below the table plane instead of meeting it: surfaces that cross at
        a line render differently from run to run on llvmpipe along that line (depth ties)."""
        anchor, _ = scene_frame(self.header)
        y0 = self.header.table_height - TABLE_DROP_M
        half = TABLE_SIZE_M / 2
        h = self.camera_pose[:3, 3] - anchor
        h[1] = 0.0
        h /= max(np.linalg.norm(h), 1e-9)
        right = np.cross([0.0, 1.0, 0.0], h)
        base = np.array([anchor[0], y0, anchor[2]])
        back = WALL_DISTANCE_M - 0.01
        ends = [(-half, half), (half, half), (half, -back), (-half, -back)]  # (right, h)
        table = np.array([base + r * right + d * h for r, d in ends])
        uv = np.array(ends) / TABLE_TILE_M
        mat = _textured_material(self.variant.table, 0.6)
        origin = table.mean(axis=0)
        node = self._add(_quad(table - origin, uv, mat, cells=16), pose=_translation(origin),
                         name="table")
        self.seg_solid[node] = LABEL_TABLE
        below = 0.5  # metres of wall under the table plane
        foot = base - WALL_DISTANCE_M * h - [0.0, below, 0.0]
        hw, top = WALL_WIDTH_M / 2, WALL_HEIGHT_M + below
        wall = np.array([foot - hw * right, foot + hw * right,
                         foot + hw * right + [0, top, 0], foot - hw * right + [0, top, 0]])
        img = make_texture(self.variant.background)
        span = 2.4  # metres of wall covered by one copy of the texture
        aspect = img.shape[1] / img.shape[0]
        uv = np.array([[-hw / span + 0.5, 0.0], [hw / span + 0.5, 0.0],
                       [hw / span + 0.5, top * aspect / span],
                       [-hw / span + 0.5, top * aspect / span]])
        uv[:, 1] = 1.0 - uv[:, 1]  # image rows run downwards
        mat = pyrender.MetallicRoughnessMaterial(
            baseColorTexture=_texture(img), metallicFactor=0.0, roughnessFactor=0.9
        )
        centre = wall.mean(axis=0)
        node = self._add(_quad(wall - centre, uv, mat, cells=8), pose=_translation(centre),
                         name="background")
        self.seg_solid[node] = LABEL_BACKGROUND

    def _add_contact_shadows(self) -> None:
        """A soft dark blob on the table under each container (pyrender's shadow maps do not
        run with numpy 2, and cost a pass per light): it grounds the objects."""
        n = 128
        yy, xx = np.mgrid[-1:1:n * 1j, -1:1:n * 1j]
        # the blob fills 70 % of the quad, whose edges stay fully transparent
        alpha = np.clip(1.0 - np.hypot(xx, yy) / 0.7, 0, 1) ** 1.5
        rgba = np.zeros((n, n, 4), np.uint8)
        rgba[..., 3] = (255 * alpha).astype(np.uint8)
        gltf = pyrender.constants.GLTF
        # no mipmaps: their coarse levels average the blob into a faint square with hard edges
        sampler = pyrender.Sampler(magFilter=gltf.LINEAR, minFilter=gltf.LINEAR,
                                   wrapS=gltf.CLAMP_TO_EDGE, wrapT=gltf.CLAMP_TO_EDGE)
        tex = pyrender.Texture(source=rgba, source_channels="RGBA", sampler=sampler)
        corners = np.array([[-1, 0, 1], [1, 0, 1], [1, 0, -1], [-1, 0, -1]], float)
        uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
        self.shadow_nodes = []
        for c in self.header.containers:
            mat = pyrender.MetallicRoughnessMaterial(
                baseColorFactor=[0.0, 0.0, 0.0, 1.0], baseColorTexture=tex, metallicFactor=0.0,
                roughnessFactor=1.0, alphaMode="BLEND",
            )
            node = self._add(_quad(corners, uv, mat), name=f"shadow_{c.name}")
            self.shadow_nodes.append(node)
        self._place_shadows(0)

    def _place_shadows(self, frame: int) -> None:
        """Put each blob under its container at ``frame``: wider and fainter when higher.

        Blended quads write depth over their whole square: a blob drawn later must lie above
        those drawn before it, or they clip it (coplanar ones fight and draw as stripes).
        pyrender draws transparent nodes far to near, so nearer blobs are placed higher."""
        eye = self.camera_pose[:3, 3]
        poses = [self._shadow_pose(c, frame) for c in self.header.containers]
        far_to_near = np.argsort([-np.linalg.norm(p[:3, 3] - eye) for p, _ in poses], kind="stable")
        for rank, i in enumerate(far_to_near):
            pose, strength = poses[i]
            step = TABLE_DROP_M / (len(poses) + 1)
            pose[1, 3] = self.header.table_height - TABLE_DROP_M + step * (1 + rank)
            self.scene.set_pose(self.shadow_nodes[i], pose)
            mesh = self.shadow_nodes[i].mesh
            mesh.primitives[0].material.baseColorFactor = [0, 0, 0, strength]
            mesh.is_visible = strength > 0.02  # a faint blob costs as much as a dark one

    def _shadow_pose(self, container, frame: int) -> tuple[np.ndarray, float]:
        """Pose (4, 4) of the unit blob quad under ``container`` and its opacity."""
        pts = _transform(container.vertices, container.poses[frame])
        lo = np.array([pts[:, i].min() for i in range(3)])
        hi = np.array([pts[:, i].max() for i in range(3)])
        height = max(lo[1] - self.header.table_height, 0.0)
        radius = 0.6 * max(hi[0] - lo[0], hi[2] - lo[2]) * (1.0 + height / SHADOW_FADE_M)
        strength = SHADOW_STRENGTH * float(np.exp(-height / SHADOW_FADE_M))
        pose = np.diag([radius / 0.7, 1.0, radius / 0.7, 1.0])
        pose[:3, 3] = [(lo[0] + hi[0]) / 2, self.header.table_height, (lo[2] + hi[2]) / 2]
        return pose, strength

    def _add_lights(self) -> None:
        anchor, _ = scene_frame(self.header)
        for lv in self.variant.lights:
            az, el = np.deg2rad(lv.azimuth_deg), np.deg2rad(lv.elevation_deg)
            towards_light = np.array([np.cos(el) * np.cos(az), np.sin(el), np.cos(el) * np.sin(az)])
            pose = look_at(anchor + towards_light, anchor)
            light = pyrender.DirectionalLight(color=np.asarray(lv.color), intensity=lv.intensity)
            self._add(light, pose=pose)

    def update(self, frame: int, surface: SurfaceMesh | None) -> None:
        """Move containers to ``frame`` and replace the liquid mesh (None: no liquid)."""
        for node, c, centre in zip(self.container_nodes, self.header.containers,
                                   self.container_centres, strict=True):
            self.scene.set_pose(node, c.poses[frame] @ _translation(centre))
        self._place_shadows(frame)
        self.set_liquid(surface)

    def set_liquid(self, surface: SurfaceMesh | None) -> None:
        """Replace the liquid mesh (None: no liquid); containers stay where they are."""
        if self.liquid_node is not None:
            self.scene.remove_node(self.liquid_node)
            self.liquid_node = None
        if surface is None:
            return
        lv = self.variant.liquid
        prim = pyrender.Primitive(
            positions=(surface.vertices - self._liquid_origin).astype(np.float32),
            normals=surface.normals,
            color_0=liquid_vertex_colors(surface, self.camera_pose[:3, 3], lv.alpha),
            indices=surface.faces.astype(np.uint32),
            material=self.liquid_material,
        )
        pose = np.eye(4)
        pose[:3, 3] = self._liquid_origin
        self.liquid_node = self._add(pyrender.Mesh([prim]), pose=pose, name="liquid")
