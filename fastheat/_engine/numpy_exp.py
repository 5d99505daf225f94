"""NumPy's ``exp``, bit for bit, inside compiled kernels.

mmpose's and DeepLabCut's Gaussians are NumPy ``exp`` calls, so fastheat's values must be
NumPy's bits. Calling NumPy from a kernel is impossible and a whole window of exponents per
call costs memory and, on CPUs without AVX-512, most of the time (README, "UDP, DarkPose and
DeepLabCut on AVX-512 and AVX2"). This module gives the kernels the same bits without NumPy:

* ``exp32``: NumPy's float32 ``exp``. On x86-64 with AVX2 and FMA3, or AVX-512F, NumPy
  computes it with one SIMD routine (``simd_exp_FLOAT`` in NumPy's
  ``numpy/_core/src/umath/loops_exponent_log.dispatch.c.src``, docs/references.md): round
  ``x / ln 2`` to an integer ``q`` with the ``1.5 * 2**23`` trick, reduce ``x`` by ``q ln 2``
  in two fused multiply-adds (Cody and Waite), evaluate a degree-5 over degree-2 rational
  approximation in fused multiply-adds, divide, and scale by ``2**q`` with one rounding
  (``scalef`` on AVX-512; on AVX2 an exponent add, then a division for subnormal results:
  the same bits). ``exp32`` is that routine, one value at a time, with LLVM's ``fma``.
  Elsewhere (no FMA3, other architectures) NumPy calls the C library's ``expf``:
  ``exp32_is_numpys()`` probes NumPy's ``exp`` once per process and the callers use NumPy
  itself when it differs.
* ``float32_of_exp_product`` (``separable_float32`` over whole windows): float64 Gaussians
  (mmpose's UDP under NumPy 2, DeepLabCut) are ``float32(exp(t))`` with NumPy's float64
  ``exp``, which is the C library's ``exp``, SVML's or NumPy's own AVX-512 code depending on
  the host and build, each within a few units in the last place (ulp) of the true value but
  not always equal. Their float32 rounding does not
  depend on which: a kernel evaluates ``exp`` of each axis' part of ``t`` once (``exp64``, all
  of a call's in one vectorised loop) and multiplies, and keeps the rounded product only when
  every value within a proven error bound of it rounds to the same float32. Otherwise (about
  one cell in 700,000 for UDP, one in 120,000 for DeepLabCut's wider windows) the caller asks
  NumPy (``with_numpy_for_uncertain``).
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
from llvmlite import ir
from numba.extending import intrinsic

from . import runtime
from .jit import jit

#: NumPy's float32 ``exp`` constants (``npy_simd_data.h``, ``npy_math.h``), as float32.
XMIN = np.float32(-103.97208404541015625)
LOG2E = np.float32(1.442695040888963407359924681001892137)
RINT_MAGIC = np.float32(1.5 * 2**23)
LN2_HIGH = np.float32(-6.93145752e-1)
LN2_LOW = np.float32(-1.42860677e-6)
P0, P1, P2 = np.float32(9.999999999980870924916e-01), np.float32(7.257664613233124478488e-01), \
    np.float32(2.473615434895520810817e-01)
P3, P4, P5 = np.float32(5.114512081637298353406e-02), np.float32(6.757896990527504603057e-03), \
    np.float32(5.082762527590693718096e-04)
Q0, Q1, Q2 = np.float32(1.0), np.float32(-2.742335390411667452936e-01), \
    np.float32(2.159509375685829852307e-02)


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` with one rounding (LLVM's ``llvm.fma``; one instruction with FMA3)."""
    if not (a == b == c and isinstance(a, numba.types.Float)):
        return None

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return a(a, b, c), codegen


@intrinsic
def times_power_of_two(typingctx, value, exponent):
    """``value * 2**exponent`` rounded once, as NumPy's float32 ``exp`` scales: ``value`` a
    float32 in ``[0.5, 2)``, ``exponent`` a float32 holding an integer in ``[-150, 128]``.
    ``2**max(exponent, -125)`` is added to ``value``'s exponent field (exact: a normal float32),
    then multiplied by ``2**min(exponent + 125, 0)`` (1 unless the result is subnormal; then the
    one rounding). In 32-bit integers, so that loops over it vectorise on AVX2 as well."""
    if not (value == exponent == numba.types.float32):
        return None

    def codegen(context, builder, signature, args):
        i32, f32 = ir.IntType(32), ir.FloatType()
        poly, k = args[0], builder.fptosi(args[1], i32)
        low = builder.select(builder.icmp_signed("<", k, i32(-125)), i32(-125), k)
        scaled = builder.add(builder.bitcast(poly, i32), builder.shl(low, i32(23)))
        excess = builder.add(k, i32(125))
        excess = builder.select(builder.icmp_signed(">", excess, i32(0)), i32(0), excess)
        factor = builder.shl(builder.add(excess, i32(127)), i32(23))
        return builder.fmul(builder.bitcast(scaled, f32), builder.bitcast(factor, f32))

    return numba.types.float32(value, exponent), codegen


@jit
def exp32(x):
    """NumPy's float32 ``exp(x)`` on AVX2/FMA3 and AVX-512F hosts, bit for bit (module
    docstring), for every float32 ``x <= 0`` (``-inf`` included): the exponents of Gaussians.
    (NumPy's code also maps NaN to NaN and ``x >= 88.72`` to inf; those never occur here.)
    Branch-free, so loops over it vectorise."""
    underflow = x <= XMIN
    x = np.float32(0.0) if underflow else x
    q = x * LOG2E
    q = (q + RINT_MAGIC) - RINT_MAGIC
    r = fma(q, LN2_HIGH, x)
    r = fma(q, LN2_LOW, r)
    num = fma(fma(fma(fma(fma(P5, r, P4), r, P3), r, P2), r, P1), r, P0)
    den = fma(fma(Q2, r, Q1), r, Q0)
    return np.float32(0.0) if underflow else times_power_of_two(num / den, q)


@jit
def _exp32_array(x, out):
    for i in range(x.size):
        out[i] = exp32(x[i])


def exp32_array(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``exp32`` of every value of the float32 array ``x`` (1-D), into ``out`` (like ``x``)
    if given."""
    out = np.empty_like(x) if out is None else out
    runtime.call(_exp32_array, _exp32_array, x, out)
    return out


#: Every negative float32 this far apart (in bit patterns) is probed: about 520,000 values.
PROBE_STRIDE = 4099


def probe_values() -> np.ndarray:
    """The float32 values ``exp32_is_numpys`` compares: every ``PROBE_STRIDE``-th bit pattern
    of the negative floats, every float32 near NumPy's underflow limit and where its results
    turn subnormal, 0 and ``-inf``."""
    negative = np.arange(0x80000000, 0xFF800000, PROBE_STRIDE, dtype=np.uint32)
    edges = [np.arange(lo, lo + 2**16, dtype=np.uint32) for lo in
             np.array([XMIN, -87.3], np.float32).view(np.uint32) - 2**15]
    bits = np.concatenate([negative, *edges, np.array([0, 0x80000000, 0xFF800000], np.uint32)])
    return bits.view(np.float32)


@functools.cache
def exp32_is_numpys() -> bool:
    """Whether ``exp32`` gives NumPy's float32 ``exp`` bits on the probe values
    (``probe_values``), checked once per process (about 10 ms)."""
    x = probe_values()
    expected = np.exp(x)
    return bool(np.array_equal(exp32_array(x).view(np.uint32), expected.view(np.uint32)))


#: ``exp64``'s constants: 1.5 * 2**52 (adding it rounds to an integer), ``log2(e)``, ``ln 2``
#: as a float64 and the rest, and the Taylor coefficients ``1 / n!`` up to ``n = 13``.
RINT_MAGIC64 = 1.5 * 2.0**52
LOG2E64 = 1.4426950408889634
LN2_HIGH64, LN2_LOW64 = 0.6931471805599453, 2.3190468138462996e-17
TAYLOR = tuple(1.0 / math.factorial(n) for n in range(14))
#: ``exp64`` returns 0 below this (the true value is below 1e-304: 0 in float32).
EXP64_FLOOR = -700.0


@intrinsic
def float64_bits(typingctx, value):
    """The bits of a float64, as an int64."""
    if value != numba.types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return numba.types.int64(value), codegen


@intrinsic
def float64_from_bits(typingctx, bits):
    """The float64 whose bits are the int64 ``bits``."""
    if bits != numba.types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return numba.types.float64(bits), codegen


@jit
def exp64(x):
    """``exp(x)`` for a float64 ``x <= 0``, within 1 ulp of the true value (the tests measure
    at most 0.88; 0 below ``EXP64_FLOOR``): not NumPy's bits, the factors of
    ``float32_of_exp_product``. ``x = k ln 2 + r`` with ``k = round(x / ln 2)`` and ``|r| <=
    0.35`` (Cody and Waite, in fused multiply-adds), ``exp(r)`` from its Taylor series to
    ``r**13`` (the rest is below 1e-17 relatively; Horner's rule in fused multiply-adds),
    times ``2**k`` built from ``k``'s bits. Branch-free integer and float64 arithmetic: loops
    over it vectorise, with AVX2 as well (the C library's ``exp`` is a call per value)."""
    shifted = x * LOG2E64 + RINT_MAGIC64  # k in its low bits
    k = shifted - RINT_MAGIC64
    r = fma(k, -LN2_HIGH64, x)
    r = fma(k, -LN2_LOW64, r)
    p = fma(fma(fma(fma(TAYLOR[13], r, TAYLOR[12]), r, TAYLOR[11]), r, TAYLOR[10]), r, TAYLOR[9])
    p = fma(fma(fma(fma(fma(p, r, TAYLOR[8]), r, TAYLOR[7]), r, TAYLOR[6]), r, TAYLOR[5]), r,
            TAYLOR[4])
    p = fma(fma(fma(fma(p, r, TAYLOR[3]), r, TAYLOR[2]), r, TAYLOR[1]), r, TAYLOR[0])
    scale = float64_from_bits((float64_bits(shifted) - float64_bits(RINT_MAGIC64) + 1023) << 52)
    return 0.0 if x < EXP64_FLOOR else p * scale


@jit
def exp64_in_place(x):
    """``x[i] = exp64(x[i])`` for every value of the float64 array ``x`` (1-D)."""
    for i in range(np.uint64(x.size)):
        x[i] = exp64(x[i])


#: How far, relative to it, the float64 product of ``float32_of_exp_product`` may be from the
#: true ``exp`` of the reference's exponent, per unit of that exponent's size, and beyond it:
#: 32 and 512 units of 2**-53, both far above the proven bound (its docstring), so no rounding
#: in the check itself matters.
RELATIVE_SLACK_PER_UNIT = 2.0**-48
RELATIVE_SLACK = 2.0**-44
#: What the kernels multiply that slack by: 1; tests raise it to make every value uncertain.
SLACK_SCALE = 1.0


@jit
def float32_of_exp_product(a, b, size, scale):
    """``(value, certain)``: ``value = float32(a * b)``, where ``a = exp(s)`` and ``b = exp(t)``
    (float64, each within 1 ulp: ``exp64``), and a reference computes
    ``float32(exp(u))`` for a float64 ``u`` that equals ``s + t`` up to a relative error of
    a few units of 2**-53 (``u``'s own roundings: a sum, a square root, a division) with an
    ``exp`` within a few ulp; ``size`` bounds ``|s| + |t|``.

    ``certain`` is true when every float64 within ``scale * (size * RELATIVE_SLACK_PER_UNIT +
    RELATIVE_SLACK)`` of ``a * b``, relatively, rounds to ``value``: the reference's float64
    lies within that (its distance is at most ``(6 size + 8) * 2**-53`` relatively, far
    less), so its float32 is ``value``. A product of 0 is certain: the true value is then
    below 2**-1000, 0 once in float32 whatever rounds it."""
    p = a * b
    slack = p * (size * RELATIVE_SLACK_PER_UNIT + RELATIVE_SLACK) * scale
    value = np.float32(p)
    return value, np.float32(p - slack) == np.float32(p + slack)


@jit
def separable_float32(windows, value_starts, x_starts, y_starts, x_diffs, y_diffs, divisor,
                      through_norm, slack_scale, out, uncertain_indices, uncertain_exponents):
    """Every point's float64 Gaussian ``exp(u)`` rounded to float32 over its window
    ``windows[j]`` (``y0, y1, x0, x1``), row after row into ``out[value_starts[j]:]``, from its
    axis distances: column ``c``'s ``x_diffs[x_starts[j] + c]``, row ``r``'s ``y_diffs[y_starts[j]
    + r]`` (``stamping.axis_starts``). The reference's exponent is ``u = -(x * x + y * y) /
    divisor``, or with ``through_norm`` ``-(sqrt(y * y + x * x) ** 2) / divisor`` (NumPy's
    ``norm`` squared). Each value is ``float32_of_exp_product`` of the ``exp64`` of each axis'
    part (all of them in one vectorised loop; the size bound per row, from the window's
    largest column square); the uncertain ones are noted (``note_uncertain``) with ``u``.
    Returns their count."""
    n = windows.shape[0]
    x_squares, y_squares = x_diffs * x_diffs, y_diffs * y_diffs
    x_exps, y_exps = -x_squares / divisor, -y_squares / divisor
    exp64_in_place(x_exps)
    exp64_in_place(y_exps)
    count = 0
    for j in range(n):
        y0, y1, x0, x1 = windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3]
        span, first = x1 - x0, np.uint64(x_starts[j])
        widest = 0.0  # the window's largest column square
        for i in range(np.uint64(span)):
            widest = max(widest, x_squares[first + i])
        for yy in range(y0, y1):
            dy2, dy_exp = y_squares[y_starts[j] + yy - y0], y_exps[y_starts[j] + yy - y0]
            row = np.uint64(value_starts[j] + (yy - y0) * span)
            size = (widest + dy2) / divisor
            certain = True
            for i in range(np.uint64(span)):  # unsigned: no wraparound check, vectorised
                out[row + i], ok = float32_of_exp_product(x_exps[first + i], dy_exp, size,
                                                          slack_scale)
                certain &= ok
            if certain:
                continue
            for i in range(np.uint64(span)):
                if not float32_of_exp_product(x_exps[first + i], dy_exp, size, slack_scale)[1]:
                    if through_norm:
                        r = np.sqrt(dy2 + x_squares[first + i])
                        exponent = -(r * r) / divisor
                    else:
                        exponent = -(x_squares[first + i] + dy2) / divisor
                    count = note_uncertain(uncertain_indices, uncertain_exponents, count,
                                           row + i, exponent)
    return count


@jit
def note_uncertain(indices, exponents, count, index, exponent):
    """Note the ``count``-th uncertain value (``float32_of_exp_product``): its index into the
    values and its exponent, if there is room; returns the new count."""
    if count < indices.size:
        indices[count] = index
        exponents[count] = exponent
    return count + 1


def with_numpy_for_uncertain(run, values: np.ndarray) -> None:
    """Call ``run(indices, exponents) -> count``, a kernel writing ``values`` (float32) and
    noting its uncertain ones (``note_uncertain``), then store NumPy's ``exp`` of those
    exponents, rounded to float32, at their indices. The kernel runs again with room for all
    of them if it noted more than there was room for (never seen: about one value in 10**6
    is uncertain)."""
    capacity = 64
    while True:
        indices, exponents = np.empty(capacity, np.int64), np.empty(capacity, np.float64)
        count = run(indices, exponents)
        if count <= capacity:
            break
        capacity = count
    values[indices[:count]] = np.exp(exponents[:count])
