"""The book's reference numerical platform, defined here and nowhere else.

The same pinned wheels compute different bits on different x86-64 CPUs, because each library
picks its SIMD kernels at run time from what the CPU offers. A notebook executed on a laptop with
AVX2 and re-run on a server with AVX-512 then prints, say, an epoch of early stopping of 36
instead of 19, although every check in it still passes. The executor and every kernel that
`pytest` starts therefore run under one set of environment variables, which make every x86-64
CPU with AVX2 and FMA (Intel Haswell and later, AMD Zen and later, with or without AVX-512)
take the same code paths. Each variable below was established by experiment on an AMD EPYC with
AVX-512 against notebooks executed on an AVX2 machine (CONTRIBUTING.md lists the evidence):

``ATEN_CPU_CAPABILITY=avx2``
    PyTorch compiles its element-wise and reduction kernels (ATen) several times and dispatches
    the widest the CPU supports; ``avx2`` caps it. Without it ten stored cells change on an
    AVX-512 CPU (losses, early-stopping epochs, dead-unit counts).
``NPY_DISABLE_CPU_FEATURES=X86_V4 AVX512_ICL AVX512_SPR``
    NumPy's own loops (sums, ``exp``, ``tanh``, ...) dispatch the same way; disabling the
    AVX-512 targets leaves ``X86_V3`` (AVX2 + FMA) as the widest. Without it one stored value
    changes (a round-off-sized error in chapter 5).
``OPENBLAS_CORETYPE=Haswell``
    NumPy's matrix products go to OpenBLAS, which picks a core type (``SkylakeX``, ``Zen``,
    ``Haswell``, ...) with its own kernels and blocking; ``Haswell`` is the AVX2 one. Without it
    one stored value changes (a fitted slope in chapter 5).
``MKL_CBWR=AVX2``
    PyTorch's CPU matrix products go to Intel MKL, whose Conditional Numerical Reproducibility
    setting fixes the code path to the AVX2 one. On the AMD machine of the experiments MKL already
    takes that path (no output changed without it); on an Intel CPU with AVX-512 it would not.
``ONEDNN_MAX_CPU_ISA=AVX2``
    PyTorch's CPU convolutions go to oneDNN, which JIT-compiles for the widest ISA
    (``avx512_core`` on AVX-512 CPUs, as ``ONEDNN_VERBOSE=1`` shows). The cap changes the bits
    of a 64-channel ``conv2d`` and its input gradient, so the convolution chapters need it.
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` = 1
    How a sum is split across threads changes the order of additions; one thread everywhere
    makes results independent of the reader's core count (``dlbook_lib.setup()`` also sets
    PyTorch to one thread).
``PYTHONHASHSEED=0``
    Set-iteration order of strings is then the same in every run.

A CPU without AVX2 and FMA (ARM such as Apple silicon, old x86) cannot run these kernels at all:
there the settings are not applied, notebooks are still executed with every assertion, and the
test suite reports how many output comparisons it did not make (see ``tests/conftest.py``).
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

#: Settings that do not depend on the CPU: threads and hashing.
COMMON_ENV = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}

#: Settings that pin x86-64 SIMD dispatch to AVX2 + FMA (applied only where the CPU has both).
X86_AVX2_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    "OPENBLAS_CORETYPE": "Haswell",
    "MKL_CBWR": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
}

#: What a kernel running under the reference settings reports (see :data:`PROBE`).
EXPECTED_DISPATCH = {"torch": "AVX2", "openblas": "Haswell", "numpy": "X86_V3"}

#: Set to 1 to make this machine behave as a non-reference one (used by the tests).
FORCE_NON_REFERENCE = "DLBOOK_NON_REFERENCE"

#: Python source that prints, as JSON, which kernels a process actually dispatches.
PROBE = """
import json, numpy, threadpoolctl, torch
from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
active = [t for t in __cpu_dispatch__ if __cpu_features__.get(t)]
blas = [i.get("architecture") for i in threadpoolctl.threadpool_info()
        if i.get("internal_api") == "openblas"]
print(json.dumps({"torch": torch.backends.cpu.get_cpu_capability(),
                  "openblas": blas[0] if blas else None,
                  "numpy": active[-1] if active else "baseline"}))
""".strip()


def cpu_flags() -> set[str]:
    """The instruction-set flags of this CPU (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def non_reference_reason() -> str | None:
    """Why this machine cannot be the reference platform, or ``None`` if it can."""
    if os.environ.get(FORCE_NON_REFERENCE) == "1":
        return f"{FORCE_NON_REFERENCE}=1 is set"
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return f"the CPU is {platform.machine()}, not x86-64"
    flags = cpu_flags()
    if not flags:
        return f"cannot read the CPU's instruction sets on {platform.system()}"
    missing = {"avx2", "fma"} - flags
    if missing:
        return f"the CPU lacks {' and '.join(sorted(missing)).upper()}"
    return None


def reference_env() -> dict[str, str]:
    """The environment variables that put a process on the reference platform (if possible)."""
    env = dict(COMMON_ENV)
    if non_reference_reason() is None:
        env.update(X86_AVX2_ENV)
    return env


def apply() -> str | None:
    """Put this process's environment (inherited by kernels it starts) on the platform.

    Returns :func:`non_reference_reason`. Call before NumPy or PyTorch are imported in a
    process whose own numbers matter; kernels started afterwards inherit the settings.
    """
    os.environ.update(reference_env())
    return non_reference_reason()


def dispatch(env: dict[str, str] | None = None) -> dict:
    """Which kernels a fresh Python process dispatches under ``env`` (default: reference)."""
    full = {k: v for k, v in os.environ.items() if k not in X86_AVX2_ENV}
    full.update(reference_env() if env is None else env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=full, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def describe() -> dict:
    """A record of this machine and the settings applied, for the execution statistics."""
    flags = cpu_flags()
    return {
        "cpu": cpu_name(),
        "machine": platform.machine(),
        "avx512": "avx512f" in flags,
        "reference": non_reference_reason() is None,
        "settings": reference_env(),
    }
