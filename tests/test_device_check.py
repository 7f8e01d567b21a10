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


def test_a_step_out_of_time_is_recorded_and_the_run_fails(tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["--arch", "cpu", "--smoke", "--out", str(tmp_path), "--budget-s", "0.5"])
    assert e.value.code == 1
    saved = json.loads((tmp_path / "device_check.json").read_text())
    for name in ("dam_break", "pour"):  # both were tried, neither had the time
        assert saved["steps"][name]["status"].startswith("out of time")
        assert saved["steps"][name]["summary"] is None


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit) as e:
        main(["--dam-share", "1.5"])
    assert e.value.code == 2
