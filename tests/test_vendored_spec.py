"""The spec copy shipped in the package is MaintainX's document as the team keeps it."""

from __future__ import annotations

import pytest

from maintainx_resilient.testing._spec import SPEC_DIR

from .spec_tools import SPEC_FILE, shared_spec_dir


@pytest.mark.parametrize("name", [SPEC_FILE, "maintainx-webhooks-asyncapi.yml"])
def test_vendored_spec_is_current(name: str) -> None:
    """maintainx_resilient/testing/spec holds a byte-identical copy of shared/spec (when
    shared/ is beside the repository)."""
    shared = shared_spec_dir()
    if shared is None:
        pytest.skip("no shared/spec beside the repository to compare with")
    assert (SPEC_DIR / name).read_bytes() == (shared / name).read_bytes()
