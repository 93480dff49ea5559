"""The modules whose tests share one deployed stack (the `emu` fixture of tests/conftest.py) are
marked pytest.mark.xdist_group, so that their tests run on one worker with no other module's
emulator reset between them. pytest-xdist's `--dist loadgroup` does it by adding the group's
name to the node ids of the marked tests. A release that stops it (pytest 9.2 with pytest-xdist
3.8.0: pytest-xdist issue #1386) makes nothing fail at once, only some runs, so this test says
so directly."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("xdist-groups")


def test_loadgroup_keeps_a_group_on_one_worker(request):
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("the tests run without pytest-xdist's --dist loadgroup (setup.cfg's addopts)")
    assert request.node.nodeid.endswith("@xdist-groups"), (
        f"{request.node.nodeid}: pytest-xdist's loadgroup did not mark this test's group, so "
        "the tests of an xdist_group may run on different workers and other modules' between "
        "them; see the pytest bound in setup.cfg")
