"""The bench harness: competitors take turns starting each round, and a missed goal is reported as missed."""

from __future__ import annotations

from bench import harness


def test_interleave_rotates_which_competitor_runs_first():
    order: list[str] = []
    entries = [harness.Entry(name, lambda name=name: (order.append(name), 1.0)[1]) for name in "abc"]
    runs = harness.interleave(entries, rounds=3, verbose=False)
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert runs.times == {"a": [1.0] * 3, "b": [1.0] * 3, "c": [1.0] * 3}


def _runs(**times: list[float]) -> harness.Runs:
    return harness.Runs(times=dict(times))


def test_goal_against_the_best_peer_of_the_run(capsys):
    runs = _runs(ours=[9.0, 8.0], fast=[10.0], slow=[20.0])
    assert harness.report("t", runs, [harness.Goal("ours", ["fast", "slow"], 0.85)]) is True  # 0.80x
    assert harness.report("t", runs, [harness.Goal("ours", ["fast", "slow"], 0.75)]) is False
    assert "MISSED" in capsys.readouterr().out


def test_rate_and_absolute_goals(capsys):
    runs = _runs(ours=[4.0], migrate=[10.0])
    assert harness.report("t", runs, [harness.Goal("ours", ["migrate"], 0.5, label="keys/s", rate=True)])
    assert "2.50x the rate (>= 2.00x) met" in capsys.readouterr().out
    assert not harness.report("t", runs, [harness.Goal("ours", [], 0.0, max_seconds=3.0)])
