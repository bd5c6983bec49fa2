"""Shared fixtures for backproplab's tests.

* ``golden``     -- the reference numbers of tests/data/golden.json (a copy of the
  shared reference; the tests never read outside the repository).
* ``torch``      -- the PyTorch module, or a skip with the install command when absent.
* ``clean_ops``  -- restores :data:`autodiff.OPS` after a test that registers ops.

Hypothesis runs under the ``backproplab`` profile: no deadline (the machine is shared,
timings are meaningless) and a moderate number of examples. Set
``HYPOTHESIS_PROFILE=thorough`` for a longer search.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "backproplab", max_examples=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=1000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(            # CI: the same examples every run (a failure reproduces)
    "ci", parent=settings.get_profile("backproplab"), derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "backproplab"))

DATA = Path(__file__).parent / "data"
TORCH_SKIP_REASON = "PyTorch not installed (pip install torch==2.13.0)"


@pytest.fixture(scope="session")
def golden() -> dict[str, Any]:
    """The reference numbers (tests/data/golden.json)."""
    with open(DATA / "golden.json", encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def torch():
    """The torch module, or skip the test saying how to install it."""
    torch = pytest.importorskip("torch", reason=TORCH_SKIP_REASON)
    return torch


@pytest.fixture
def clean_ops() -> Iterator[dict]:
    """Snapshot autodiff.OPS and restore it afterwards (for tests that register ops)."""
    import autodiff
    before = dict(autodiff.OPS)
    yield autodiff.OPS
    autodiff.OPS.clear()
    autodiff.OPS.update(before)
