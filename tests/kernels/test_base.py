"""rnnkit.kernels.base: what a kernel is, declared apart from the registry."""
import dataclasses

import pytest

from rnnkit.kernels import base, cpu, registry


def test_the_registry_and_the_kernel_packages_share_one_declaration():
    assert registry.Kernel is base.Kernel and registry.StepKernel is base.StepKernel
    assert isinstance(cpu.KERNEL, base.Kernel) and isinstance(cpu.STEP_KERNEL, base.StepKernel)
    assert registry._KERNELS["cpu"] is cpu.KERNEL  # registered by the registry, not by cpu/


def test_a_kernel_is_frozen_and_yields_defaults_to_none():
    k = base.Kernel("k", 1, lambda spec, **f: None, lambda *a, **kw: None)
    assert k.yields is None and k.description == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        k.priority = 2
