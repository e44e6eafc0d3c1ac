"""A third-party plugin project kept for the compatibility test
(tests/test_plugin_compat.py installs it and runs its own tests); not part of
normflow's suite."""

collect_ignore = ["normflow_legacy_spiral"]
