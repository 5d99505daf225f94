"""What the benchmarks' reports say about the machine and the references' ``exp`` calls."""

import platform

import numba
import numpy as np

try:  # NumPy >= 2
    from numpy._core import _multiarray_umath as umath
except ImportError:
    from numpy.core import _multiarray_umath as umath


def cpu_line() -> str:
    """The CPU, Numba's target and which code NumPy's float32 and float64 ``exp`` run here
    (NumPy's dispatch: ``X86_V4`` is AVX-512, ``X86_V3`` AVX2; ``NPY_DISABLE_CPU_FEATURES``
    lowers it): every figure depends on them."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    exp = getattr(umath, "__cpu_targets_info__", {}).get("exp", {})
    paths = ", ".join(f"{name} {exp[code]['current']}" for name, code in
                      (("float32", "ff"), ("float64", "dd")) if code in exp)
    return (f"CPU {model}, Numba target {numba.config.CPU_NAME or 'host'}, NumPy {np.__version__}"
            f" exp: {paths or 'unknown'}")


def exp_arguments(call) -> np.ndarray:
    """Every value that ``call()`` (a reference's loop) passes to ``np.exp``, flat, in the
    dtype NumPy computes them in."""
    seen, real = [], np.exp

    def recording(x, *args, **kwargs):
        seen.append(np.asarray(x).ravel().copy())
        return real(x, *args, **kwargs)

    np.exp = recording
    try:
        call()
    finally:
        np.exp = real
    return np.concatenate(seen) if seen else np.zeros(0)
