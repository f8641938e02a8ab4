"""Shared pytest configuration for the tapegrad test suite."""

import os
import sys
import zlib

import numpy as np
import pytest

# Tests in every sub-folder (ops/, kernels/, reliability/) import the helpers next to this file:
# ``from gradcheck import check_op``, ``from op_specs import SPECS``, ``from sanitizer_env import ...``.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture
def rng(request):
    """A numpy Generator seeded from the test's node id: deterministic per test, different across tests."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode("utf-8")))
