"""The decision engine's rules: pure functions over bytes, statuses and headers, no I/O."""
