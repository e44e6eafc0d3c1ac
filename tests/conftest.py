"""Test-suite configuration: the hypothesis profiles.

``ci`` (the default) keeps every property quick; ``thorough`` runs many
more examples. Choose with ``pytest --hypothesis-profile=thorough`` or
``NORMFLOW_HYPOTHESIS_PROFILE=thorough pytest``. Property tests whose
examples are expensive set their own budget per profile with
``normflow.testing.examples(ci=..., thorough=...)``.
"""

from __future__ import annotations

from normflow.testing.profiles import register_profiles

register_profiles(ci_examples=25, thorough_examples=1000)

# pytester runs the kit's fixtures in a fresh pytest session (test_plugin_conformance)
pytest_plugins = ["pytester"]
