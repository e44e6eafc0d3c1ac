"""Test-suite configuration: the hypothesis profiles, and fixtures several
modules share (plugins as a user has them; the seed-1 kawasaki run, once).

``ci`` (the default) keeps every property quick; ``thorough`` runs many
more examples. Choose with ``pytest --hypothesis-profile=thorough`` or
``NORMFLOW_HYPOTHESIS_PROFILE=thorough pytest``. Property tests whose
examples are expensive set their own budget per profile with
``normflow.testing.examples(ci=..., thorough=...)``.
"""

from __future__ import annotations

import contextlib

import pytest

from normflow.testing.profiles import register_profiles

register_profiles(ci_examples=25, thorough_examples=1000)

# pytester runs the kit's fixtures in a fresh pytest session (test_plugin_conformance)
pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def kawasaki_seed1(tmp_path_factory):
    """kawasaki-suffrage at seed 1 with a JSON Lines trace, run once for the
    whole session (the explain tests read it in the library and through the
    command line): the trace's path, the result, and the trace's events
    without the kinds ``explain`` never reads (``normflow.explain.UNLINKED``:
    no id, no causes; four in five lines of this trace)."""
    from normflow import Simulation, load_scenario
    from normflow.explain import UNLINKED
    from normflow.trace import read_trace

    path = tmp_path_factory.mktemp("kawasaki-seed1") / "trace.jsonl"
    with _plugins_as_a_user_has_them():
        result = Simulation(load_scenario("kawasaki-suffrage"), 1, trace=path).run()
    return path, result, read_trace(path, skip=UNLINKED)


@contextlib.contextmanager
def _plugins_as_a_user_has_them():
    with pytest.MonkeyPatch.context() as mp:
        for key in ("NORMFLOW_DISABLE_PLUGIN_AUTOLOAD", "NORMFLOW_DISABLE_PLUGINS", "NORMFLOW_LOAD_PLUGINS"):
            mp.delenv(key, raising=False)
        yield


@pytest.fixture(scope="module")
def bundled_plugins():
    """For a module whose tests read what the bundled plugins add (the
    boomerang, labels of the spiral's phases; ``pytestmark =
    pytest.mark.usefixtures("bundled_plugins")``): whatever another module
    left in the environment, plugins load as in a user's run."""
    with _plugins_as_a_user_has_them():
        yield
