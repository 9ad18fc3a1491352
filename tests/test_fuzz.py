"""Differential fuzzing on random graphs, with a fixed budget and derandomized, so CI is deterministic.

Longer runs with random seeds: `python -m tests.fuzz --minutes 10` (see tests/fuzz/__init__.py).
"""
import pytest
from hypothesis import HealthCheck, given, settings

from fuzz.properties import PROPERTIES

CI_EXAMPLES = {"forward": 600, "gradient": 400}


def ci_settings(max_examples):
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_property_holds_on_random_graphs(name):
    body, strategies = PROPERTIES[name]
    ci_settings(CI_EXAMPLES[name])(given(**strategies())(body))()
