"""Speed benchmarks (run as scripts or `pourbench bench PART`); never timed inside tests."""
