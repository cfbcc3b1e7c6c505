"""Each correction of moto's engine is still needed: moto's own code, run on the case the patch
fixes, still gets it wrong. When an upgraded moto gets it right, the test names the patch to delete."""

from __future__ import annotations

import re
from importlib.metadata import version

import pytest

from tests.conformance.cases import CASES
from workflow.local import asl_patches
from workflow.local.asl_patches import MOTO_VERSION, PATCHES, Patch

pytestmark = pytest.mark.conformance


def test_the_patches_target_the_installed_moto() -> None:
    installed = version("moto")
    assert installed == MOTO_VERSION, (
        f"workflow/local/asl_patches.py targets moto {MOTO_VERSION}, but {installed} is installed: run"
        " tests/conformance, delete the patches test_patches reports as no longer needed, and update MOTO_VERSION"
    )


@pytest.mark.parametrize("patch", PATCHES, ids=[patch.name for patch in PATCHES])
def test_moto_still_needs(patch: Patch) -> None:
    asl_patches.apply()  # moto's own code must stay reachable once patched
    assert patch.moto_still_wrong(), (
        f"moto {version('moto')} itself now gets {patch.fixes} right: delete the patch {patch.name!r}"
        " from workflow/local/asl_patches.py"
    )


@pytest.mark.parametrize("patch", PATCHES, ids=[patch.name for patch in PATCHES])
def test_each_patch_names_cases_of_the_tier(patch: Patch) -> None:
    ids = {case.id for case in CASES}
    named = [part.split(":")[-1].strip() for part in re.split(r"[,;]", patch.fixes)]
    assert named and all(name in ids for name in named), f"{patch.name}: {patch.fixes!r} names cases not in the tier"
