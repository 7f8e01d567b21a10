"""Prescribed container motion: the source's tilt angle over time and its pose."""

from __future__ import annotations

import math

import numpy as np

from pourbench.sim.scenario import PourMotion


def _ease(s: float) -> float:
    """Cosine ease 0 -> 1 on s in [0, 1] (zero rate at both ends)."""
    s = min(max(s, 0.0), 1.0)
    return 0.5 - 0.5 * math.cos(math.pi * s)


def tilt_angle(motion: PourMotion, t: float) -> float:
    """Tilt of the source at time ``t`` (s), radians (0 upright, positive towards +x).

    steady: constant rate from ``start_s`` over ``tilt_duration_s``; fast: eased, in a third
    of that time; pour_and_return: eased up, held ``hold_s``, eased back down.
    """
    amax = math.radians(motion.max_angle_deg)
    u = t - motion.start_s
    d = motion.tilt_duration_s
    if motion.profile == "steady":
        return amax * min(max(u / d, 0.0), 1.0)
    if motion.profile == "fast":
        return amax * _ease(u / (d / 3.0))
    up = _ease(u / d)
    down = _ease((u - d - motion.hold_s) / d)
    return amax * (up - down)


def motion_end_s(motion: PourMotion) -> float:
    """Time (s) from which the source stands still for good (``tilt_angle`` is constant)."""
    d = motion.tilt_duration_s
    if motion.profile == "steady":
        return motion.start_s + d
    if motion.profile == "fast":
        return motion.start_s + d / 3.0
    return motion.start_s + 2.0 * d + motion.hold_s


def rotation_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    m = np.eye(4)
    m[0, 0], m[0, 1], m[1, 0], m[1, 1] = c, -s, s, c
    return m


def translation(v) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = v
    return m


def tilting_pose(motion: PourMotion, base: np.ndarray, pivot_local: np.ndarray):
    """Pose function t -> (4, 4): the container stands at ``base`` (world position of its local
    origin) and tilts about the z axis through ``pivot_local`` (its pouring lip), tipping its
    opening towards +x."""
    base = np.asarray(base, float)
    pivot_local = np.asarray(pivot_local, float)
    to_pivot = translation(base + pivot_local)
    from_pivot = translation(-pivot_local)

    def pose(t: float) -> np.ndarray:
        return to_pivot @ rotation_z(-tilt_angle(motion, t)) @ from_pivot

    return pose
