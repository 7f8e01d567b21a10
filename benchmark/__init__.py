"""Benchmark harness: data loading, training, prediction, scoring and the leaderboard."""
