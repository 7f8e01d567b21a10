"""`pourbench bench sim` (`benchmark/perf/sim_dambreak.py`): its settings reach the runs."""

import json

import pytest


def test_the_dam_break_benchmark_takes_our_cfl(tmp_path, capsys):
    """`pourbench bench sim --cfl`: ours steps at that CFL number (longer steps, fewer of them,
    at 0.8 than at 0.4; the JSON records it); out of the solver's range is one line."""
    from pourbench.benchmark.perf.sim_dambreak import main

    steps = {}
    for cfl in (0.4, 0.8):
        out = tmp_path / f"db_{cfl}.json"
        res = main(["--no-peer", "--repeats", "1", "--radius", "0.005", "--t-end", "0.1",
                    "--cfl", str(cfl), "--json", str(out)])
        assert json.loads(out.read_text())["scene"]["cfl_ours"] == cfl
        steps[cfl] = res["ours"]["steps"]
    assert steps[0.8] < steps[0.4]
    with pytest.raises(SystemExit) as e:
        main(["--no-peer", "--cfl", "1.5"])
    assert e.value.code == 2 and "--cfl 1.5" in capsys.readouterr().err
