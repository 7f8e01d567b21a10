"""Pour scenarios as validated models: containers, placement, motion, liquid, solver settings.

Every field states its meaning, unit and bounds; unknown keys are errors. A scenario TOML file
holds :class:`Scenario` fields; a container may be written as a preset name
(``source = "mug"``) or as a table of :class:`ContainerSpec` fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pourbench.core.errors import PourbenchError, describe_validation_error
from pourbench.core.tomlfile import read_toml

Shape = Literal["cup", "mug", "glass", "bottle", "bowl", "dish", "pot", "mesh"]
BowlProfile = Literal["hemisphere", "cone", "flat"]
Material = Literal["glass", "plastic", "ceramic", "metal"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContainerSpec(_Model):
    """A rigid container: a procedural solid of revolution or an imported mesh (local y up,
    base at y = 0, opening at the top)."""

    shape: Shape = Field(description="preset shape family, or 'mesh' to load `mesh`")
    profile: BowlProfile = Field(
        "hemisphere", description="bowl cross-section (used when shape = 'bowl')"
    )
    inner_radius: float = Field(
        0.035, ge=0.01, le=0.3, description="inner radius at the opening, m"
    )
    height: float = Field(0.09, ge=0.01, le=0.4, description="outer height, m")
    wall_thickness: float = Field(0.003, ge=0.001, le=0.02, description="wall thickness, m")
    taper: float = Field(
        0.0, ge=0.0, le=0.7,
        description="bottom inner radius = inner_radius * (1 - taper); 0 = straight walls",
    )
    material: Material = Field("ceramic", description="appearance hint for the renderer")
    mesh: str | None = Field(
        None, description="OBJ/STL file (shape = 'mesh'): y up, base at y = 0, metres after scale"
    )
    mesh_scale: float = Field(1.0, gt=0.0, le=100.0, description="scale applied to `mesh`")

    @model_validator(mode="after")
    def _mesh_needs_path(self) -> ContainerSpec:
        if self.shape == "mesh" and not self.mesh:
            raise ValueError("shape = 'mesh' needs a `mesh` file path")
        if self.shape != "mesh" and self.mesh:
            raise ValueError(f"`mesh` is only used with shape = 'mesh' (shape is {self.shape!r})")
        if self.wall_thickness * 3 > self.inner_radius:
            raise ValueError("wall_thickness must be under a third of inner_radius")
        return self


PRESETS: dict[str, ContainerSpec] = {
    "cup": ContainerSpec(shape="cup", inner_radius=0.035, height=0.09, wall_thickness=0.003,
                         taper=0.15, material="plastic"),
    "mug": ContainerSpec(shape="mug", inner_radius=0.04, height=0.095, wall_thickness=0.005,
                         taper=0.0, material="ceramic"),
    "glass": ContainerSpec(shape="glass", inner_radius=0.032, height=0.12, wall_thickness=0.003,
                           taper=0.2, material="glass"),
    "bottle": ContainerSpec(shape="bottle", inner_radius=0.035, height=0.2, wall_thickness=0.003,
                            taper=0.0, material="glass"),
    "bowl_hemisphere": ContainerSpec(shape="bowl", profile="hemisphere", inner_radius=0.08,
                                     height=0.07, wall_thickness=0.004, material="ceramic"),
    "bowl_cone": ContainerSpec(shape="bowl", profile="cone", inner_radius=0.08, height=0.06,
                               wall_thickness=0.004, taper=0.6, material="plastic"),
    "bowl_flat": ContainerSpec(shape="bowl", profile="flat", inner_radius=0.08, height=0.05,
                               wall_thickness=0.004, material="ceramic"),
    "dish": ContainerSpec(shape="dish", inner_radius=0.1, height=0.025, wall_thickness=0.004,
                          material="ceramic"),
    "pot": ContainerSpec(shape="pot", inner_radius=0.09, height=0.12, wall_thickness=0.003,
                         material="metal"),
}


def _container(value: object) -> object:
    if isinstance(value, str):
        if value not in PRESETS:
            raise ValueError(f"unknown preset {value!r}; allowed: {', '.join(PRESETS)}")
        return PRESETS[value]
    return value


class Placement(_Model):
    """Where the containers stand. The target rests on the table at the world origin; the
    source is held above it, its pouring lip (the rim point on +x) near the target axis."""

    clearance: float = Field(
        0.02, ge=0.0, le=0.3, description="gap between target rim and source base at rest, m"
    )
    lip_offset: float = Field(
        -0.01, ge=-0.3, le=0.3,
        description="x of the source's pouring lip relative to the target axis, m",
    )
    lateral_offset: float = Field(
        0.0, ge=-0.2, le=0.2, description="z of the source axis relative to the target axis, m"
    )


class PourMotion(_Model):
    """Tilt of the source about a horizontal axis (z) through its pouring lip."""

    profile: Literal["steady", "fast", "pour_and_return"] = Field(
        "steady",
        description="steady: constant rate; fast: the same angle in a third of the time; "
        "pour_and_return: tilt, hold, tilt back",
    )
    max_angle_deg: float = Field(110.0, ge=10.0, le=170.0, description="final tilt, degrees")
    start_s: float = Field(0.2, ge=0.0, le=20.0, description="tilt starts at this time, s")
    tilt_duration_s: float = Field(1.2, ge=0.05, le=20.0, description="time to reach max, s")
    hold_s: float = Field(
        0.5, ge=0.0, le=20.0, description="pour_and_return: time held at max angle, s"
    )


class LiquidSpec(_Model):
    """The liquid (water by default)."""

    kinematic_viscosity: float = Field(
        1.0e-6, ge=1e-7, le=1e-2, description="m^2/s (water 1e-6); used by 'standard' viscosity"
    )
    density: float = Field(1000.0, ge=500.0, le=2000.0, description="rest density, kg/m^3")
    temperature_c: float = Field(
        20.0, ge=0.0, le=100.0, description="temperature, deg C (read by the thermal renderer)"
    )


class SolverSettings(_Model):
    """DFSPH solver parameters."""

    density_tol: float = Field(
        0.0005, ge=1e-5, le=0.05, description="mean relative density error allowed (0.05 %)"
    )
    divergence_tol: float = Field(
        0.001, ge=1e-5, le=0.1, description="mean relative density change per step (0.1 %)"
    )
    max_dt: float = Field(0.005, ge=1e-5, le=0.01, description="time-step cap, s")
    cfl: float = Field(
        0.4, ge=0.05, le=1.0,
        description="dt <= cfl * particle diameter / max speed. Above 0.4 XSPH smooths in "
        "proportion to the longer step, so the damping per second stays (`xsph`). `standard` "
        "sets 0.6: at r = 0.9 mm its stream keeps 2 + 2 iterations a step in 0.68x the steps "
        "(README, \"The pour's CFL number\"); a coarse dam break needs more iterations a step",
    )
    viscosity: Literal["xsph", "standard"] = Field(
        "xsph", description="xsph: velocity smoothing; standard: Laplacian with kinematic_viscosity"
    )
    xsph: float = Field(
        0.05, ge=0.0, le=0.5,
        description="XSPH smoothing per step, for steps up to the CFL step at cfl 0.4; a longer "
        "CFL step smooths in proportion (at most 0.5)",
    )
    kernel: Literal["cubic", "wendland"] = Field("cubic", description="SPH kernel, support 4r")
    warm_start: float = Field(
        0.8, ge=0.0, le=0.99,
        description="density solve: the fraction of last step's pressure that starts this "
        "step's iterations where that pressure is steady (up to its 0.1-s running average); "
        "any excess over the average, an impact's spike, starts at 0.8 of itself. Above 0.8 "
        "still water needs fewer iterations (0.9: 10.5 a step, not 15, in the pot of "
        "`standard`'s 15-s pour at r = 0.9 mm, whose recipe sets it) but a coarse, shallow "
        "pool may not settle (a cup at r = 4 mm keeps sloshing, README); 1 would ratchet up, "
        "since the iterations only add pressure",
    )
    chebyshev_radius: float = Field(
        0.0, ge=0.0, le=0.9,
        description="density solve: Chebyshev acceleration of its Jacobi iterations, for an "
        "assumed spectral radius of this (0 = off: plain Jacobi, as [BK17]). A compressed "
        "particle's increment is w times Jacobi's plus (w - 1) times its last one (w falls "
        "from 1.22 to 1.11 at 0.6). Still water needs fewer iterations: 8.5 a step, not 10.5, "
        "at 0.6 in the pot of `standard`'s 15-s pour at r = 0.9 mm (whose recipe sets it), its "
        "water creeping as before. A larger radius saves more but leaves more jitter: at 0.75, "
        "7 a step, but its creep decays more slowly and that pour came to rest at t = 14.53 s, "
        "not 11.77 (README, \"Chebyshev iterations\")",
    )
    min_iterations: int = Field(2, ge=1, le=10, description="pressure iterations at least")
    min_divergence_iterations: int = Field(
        2, ge=1, le=10,
        description="divergence-solver iterations at least (SPlisHSPlasH: 1). At 1 a one-layer "
        "puddle tore apart until walls counted as neighbours (tests/test_sim_walls.py; now it "
        "holds), but a coarse cup's still water creeps 3x as far (tests/test_sim_rest.py; "
        "README). `standard` sets 1: at r = 0.9 mm its stream takes 0.91x the time and its "
        "pot 0.95x, the water moving as before. Both solvers iterate on until their "
        "tolerance is met",
    )
    max_iterations: int = Field(100, ge=2, le=1000, description="pressure iterations at most")
    drop_cfl: float = Field(
        0.0, ge=0.0, le=1.0,
        description="0 = off: the fastest particle bounds the step at `cfl`. Above 0, drops in "
        "flight (fewer than 10 fluid neighbours, no wall or boundary within reach) are bounded "
        "apart, at this many diameters a step (1.0: half the kernel's support, less than a "
        "wall's reach), so that a few fast drops do not hold the bulk to `cfl`. At r = 0.9 mm "
        "15 % fewer steps; at r = 3 mm a one-layer puddle tears more often (README)",
    )
    pressure_clamp: Literal["density", "pressure"] = Field(
        "density",
        description="how the density solve stays repulsive: 'density' clamps each iteration's "
        "predicted density at rest density ([BK17]; an iteration can only add pressure, so an "
        "impact's over-correction stays and the water rebounds, flinging drops); 'pressure' "
        "lets the iterations of particles that meet a neighbour or wall faster than 0.3 m/s "
        "also lower it, relaxed by 0.5, the total kept >= 0 (as IISPH): impacts stop and far "
        "fewer drops are flung (the relaxed iterations need several times as many at long "
        "steps, so slower particles keep the one-sided ones)",
    )
    boundary: Literal["sdf", "particles"] = Field(
        "sdf",
        description="container walls and table: 'sdf' acts through each wall's signed distance "
        "(no boundary particles; the fluid rests on the wall surface), 'particles' samples "
        "them with Akinci boundary particles (the table stays a plane)",
    )
    boundary_spacing: float = Field(
        0.75, ge=0.3, le=1.0,
        description="boundary sample spacing, in particle diameters (boundary = 'particles')",
    )
    surface_tension: float = Field(
        0.3, ge=0.0, le=10.0,
        description="cohesion and curvature coefficient gamma (Akinci et al. 2013); 0 = off",
    )
    adhesion: float = Field(
        0.2, ge=0.0, le=10.0,
        description="fluid-wall adhesion coefficient beta (Akinci et al. 2013); 0 = off",
    )
    wall_friction: float = Field(
        60.0, ge=0.0, le=1000.0,
        description="drag of walls and table on the fluid touching them, 1/s: the fluid's "
        "velocity relative to the wall decays at this rate times the wall's density share "
        "(stands in for contact-line pinning, which SPH at this resolution lacks; lets a "
        "spill stop as a puddle)",
    )
    settle_s: float = Field(
        0.3, ge=0.0, le=5.0, description="settling time before the clock starts, s"
    )
    rest_drift: float = Field(
        0.25, ge=0.0, le=5.0,
        description="the pour stops stepping once its water is at rest: no container moves "
        "again and, over `rest_window_s`, 99 % of the particles moved less than this many radii "
        "and none more than 8 times that; the remaining frames repeat that frame (sim_stats "
        "`rest_from_s`). 0 = step to the end",
    )
    rest_window_s: float = Field(
        1.0, ge=0.1, le=10.0, description="how long the water must stay within `rest_drift`, s"
    )
    speed_limit: float = Field(
        4.0, ge=0.5, le=100.0,
        description="safety cap on particle speed, m/s (droplets flung by wall contact); counted",
    )
    max_speed: float = Field(
        15.0, ge=1.0, le=1000.0, description="speed above which the run counts as unstable, m/s"
    )


class Scenario(_Model):
    """One pour: source and target containers, placement, fill, motion, liquid, solver."""

    source: ContainerSpec = Field(PRESETS["cup"], description="container that pours (or preset)")
    target: ContainerSpec = Field(
        PRESETS["bowl_hemisphere"], description="container that receives (or preset name)"
    )
    placement: Placement = Field(Placement(), description="container placement")
    fill_fraction: float = Field(
        0.6, ge=0.05, le=0.95, description="fraction of the source's inner height filled"
    )
    motion: PourMotion = Field(PourMotion(), description="tilt motion of the source")
    liquid: LiquidSpec = Field(LiquidSpec(), description="liquid properties")
    solver: SolverSettings = Field(SolverSettings(), description="solver settings")
    duration_s: float = Field(3.0, gt=0.0, le=60.0, description="simulated time after settling, s")
    fps: float = Field(30.0, ge=1.0, le=240.0, description="video frame rate of the track")
    particle_radius: float = Field(
        0.004, ge=0.0008, le=0.02, description="fluid particle radius r, m (support 4r)"
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the initial lattice jitter")

    _c_source = field_validator("source", mode="before")(staticmethod(_container))
    _c_target = field_validator("target", mode="before")(staticmethod(_container))


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario TOML file.

    Raises:
        PourbenchError: one line naming the file, the bad key and what is allowed.
    """
    path = Path(path)
    data = read_toml(path, "scenario file")
    for key in ("source", "target"):  # mesh files are relative to the scenario file
        c = data.get(key)
        if isinstance(c, dict) and isinstance(c.get("mesh"), str):
            mesh = Path(c["mesh"])
            c["mesh"] = str(mesh if mesh.is_absolute() else (path.parent / mesh).resolve())
    return validate_scenario(data, str(path))


def validate_scenario(data: dict, where: str) -> Scenario:
    """``data`` as a Scenario (a TOML file's table, a saved pour's, a changed one's).

    Raises:
        PourbenchError: one line, ``where`` then the bad key and what is allowed.
    """
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise PourbenchError(f"{where}: {describe_validation_error(e, Scenario)}") from e
