"""The one place where fastheat sets Numba options.

* cache: compiled kernels are stored on disk, so a new data-loader worker loads them instead
  of compiling (see ``fastheat.warmup`` and README, "Cold start"). Where no cache location is
  writable (read-only install and home), kernels compile in memory instead of failing.
* ``nogil=True``: kernels release the GIL, so threads calling fastheat run concurrently.
* ``error_model="numpy"``: no Python exceptions from arithmetic; kernels never raise.
* ``fastmath=False``: every fast-math flag may change a rounding (``contract`` fuses into FMA,
  ``arcp``/``reassoc`` reorder, ``nnan``/``ninf`` drop checks) and fastheat must be bit-identical
  to its reference, so none is used.

It also holds ``prefetch``, the one LLVM intrinsic the kernels use.
"""

from __future__ import annotations

import types
from typing import Callable

import numba
from llvmlite import ir
from numba.core import cgutils
from numba.extending import intrinsic

OPTIONS = {"nogil": True, "error_model": "numpy", "fastmath": False}


def _compile(func: Callable, **extra) -> Callable:
    dispatcher = numba.njit(**OPTIONS, **extra)(func)
    try:
        dispatcher.enable_caching()
    except RuntimeError:  # "no locator available": nowhere writable to cache; compile in memory
        pass
    return dispatcher


def jit(func: Callable) -> Callable:
    """Compile ``func`` as a serial kernel with fastheat's options."""
    return _compile(func)


def jit_parallel(func: Callable) -> Callable:
    """Compile ``func`` as a ``prange``-parallel kernel with fastheat's options.

    Numba names cache entries after the function and does not key them on ``parallel``: the
    serial and parallel kernels compiled from one function would load each other's code (a
    "serial" kernel that launches threads). The parallel one is compiled from a copy of the
    function with its own name.
    """
    copy = types.FunctionType(func.__code__, func.__globals__, func.__name__ + "_parallel",
                              func.__defaults__, func.__closure__)
    copy.__qualname__ = func.__qualname__ + "_parallel"
    copy.__module__ = func.__module__
    return _compile(copy, parallel=True)


@intrinsic
def prefetch(typingctx, array, index):
    """Start loading, for writing, the cache line that holds ``array[index]`` (1-D array).

    LLVM's ``llvm.prefetch``: a hint that changes no value and never faults, whatever the
    address. Call it with in-bounds indices all the same.
    """

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array_struct = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, array_struct, args[1:],
                                           wraparound=False)
        i32 = ir.IntType(32)
        function_type = ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32])
        function = cgutils.get_or_insert_function(builder.module, function_type, "llvm.prefetch.p0")
        builder.call(function, [pointer, i32(1), i32(3), i32(1)])  # write, keep in all caches, data
        return context.get_dummy_value()

    return numba.types.void(array, index), codegen
