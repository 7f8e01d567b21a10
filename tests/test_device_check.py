"""The prepared GPU check (`benchmark/perf/device_check.py`) runs its steps at toy size on the
CPU, records a step that runs out of time, and still runs the next one."""

import json

import pytest

from pourbench.benchmark.perf.device_check import main


def test_the_smoke_run_measures_both_steps(tmp_path, capsys):
    report = main(["--arch", "cpu", "--smoke", "--out", str(tmp_path)])
    dam = report["steps"]["dam_break"]["summary"]
    pour = report["steps"]["pour"]["summary"]
    assert report["steps"]["dam_break"]["status"] == "ok" == report["steps"]["pour"]["status"]
    assert dam["arch"] == "cpu" == pour["arch"]
    assert dam["num_particles"] == 5 * 10 * 5  # the column at a / 10
    assert dam["steps"] > 0 and dam["particle_steps_per_s"] > 0
    assert pour["pour_steps"] > 0 and len(pour["windows"]) == 2  # 0.2 s in windows of 0.1
    assert sum(w["steps"] for w in pour["windows"]) == pour["pour_steps"]
    saved = json.loads((tmp_path / "device_check.json").read_text())
    assert saved["steps"]["pour"]["summary"] == pour
    assert "dam break on cpu" in capsys.readouterr().out


def test_one_step_alone(tmp_path):
    report = main(["--arch", "cpu", "--smoke", "--out", str(tmp_path), "--only", "pour"])
    assert list(report["steps"]) == ["pour"] and report["steps"]["pour"]["status"] == "ok"


def test_a_step_out_of_time_is_recorded_and_the_run_fails(tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["--arch", "cpu", "--smoke", "--out", str(tmp_path), "--budget-s", "0.5"])
    assert e.value.code == 1
    saved = json.loads((tmp_path / "device_check.json").read_text())
    for name in ("dam_break", "pour"):  # both were tried, neither had the time
        assert saved["steps"][name]["status"].startswith("out of time")
        assert saved["steps"][name]["summary"] is None


@pytest.mark.parametrize("bad", [["--dam-share", "1.5"], ["--pour-duration", "0"],
                                 ["--budget-s", "-1"]])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(SystemExit) as e:
        main(bad)
    assert e.value.code == 2


def test_the_full_size_steps_are_the_issues(tmp_path):
    """Without --smoke: the dam break at a/158 (about a million particles) to T = 3, and
    `standard` scenario 0 whole, or cut to --pour-duration."""
    import argparse

    from pourbench.benchmark.perf.device_check import DAM_RADIUS, _steps
    from pourbench.sim.validation import MARTIN_MOYCE_A

    n = round(MARTIN_MOYCE_A / (2 * DAM_RADIUS))
    assert n * 2 * n * n == 986_078
    args = argparse.Namespace(arch="cuda", smoke=False, dam_radius=DAM_RADIUS,
                              pour_duration=None)
    (_, dam, _), (_, pour, _) = _steps(args, tmp_path)
    assert "--t-end" not in dam and str(DAM_RADIUS) in dam and "cuda" in dam
    assert pour[pour.index("--recipe") + 1] == "standard" and "--duration" not in pour
    args.pour_duration = 2.0
    assert _steps(args, tmp_path)[1][1][-2:] == ["--duration", "2.0"]
