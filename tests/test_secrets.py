"""Secrets stay secret: fingerprints only, never pickled."""

from __future__ import annotations

import pickle

import pytest

from maintainx_resilient import Secret, fingerprint

from .conftest import CANARY_KEY


def test_secret_shows_only_fingerprint() -> None:
    """repr/str/format of a Secret show the fingerprint; reveal() gives the value."""
    s = Secret(CANARY_KEY)
    for text in (repr(s), str(s), f"{s}", f"{s!r}"):
        assert CANARY_KEY not in text
        assert s.fingerprint in text
    assert s.reveal() == CANARY_KEY


def test_fingerprint_is_stable_and_short() -> None:
    """The same key always has the same 8-hex fingerprint; different keys differ."""
    assert fingerprint("a") == fingerprint("a")
    assert fingerprint("a") != fingerprint("b")
    assert len(fingerprint("a").split(":")[1]) == 8


def test_secret_refuses_pickling() -> None:
    """A Secret cannot be pickled (nothing secret crosses a process boundary by pickle)."""
    with pytest.raises(TypeError):
        pickle.dumps(Secret(CANARY_KEY))
