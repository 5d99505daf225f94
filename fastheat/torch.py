"""Render sparse targets into torch tensors, on any device (needs torch: ``pip install torch``).

    import fastheat.torch
    targets = fastheat.torch.to_dense(sparse, device="cuda")   # kilobytes cross PCIe

* ``to_dense(targets, device=None, out=None)``: the family's named tuple of tensors,
  bit-identical to ``targets.to_dense()``. On the CPU the maps are rendered by the Numba
  kernel straight into the tensors' memory; on any other device (or with ``method="scatter"``)
  the stamps are expanded on the CPU into (flat index, value) cells from the same Gaussian
  tables, sent to the device, and merged with one ``scatter_reduce_(..., "amax")`` per map:
  max is order-free, so the result is deterministic and exact. Cell fields (``cells``) are
  expanded with each cell's last write only and assigned: deterministic too; region fields
  are rendered on the CPU and copied, and so are maps whose stamps are added or overwritten
  in order (OpenPose's).
* ``Renderer``: reused, pinned CPU buffers handed out in turn, so that the asynchronous copy
  of batch i to the GPU overlaps the rendering of batch i + 1 (see its docstring).
"""

from __future__ import annotations

import itertools

import numpy as np

try:
    import torch
except ImportError as error:  # torch is an optional extra
    raise ImportError("fastheat.torch needs PyTorch: pip install torch (or fastheat[torch])") from error

from ._engine import sinks, stamping, tables
from ._engine.cells import CLEAR_ALL, expand_cell_values, write_regions
from ._engine.registry import FAMILIES
from ._engine.parallel import check_num_threads
from ._engine.sparse import SparseTargets
from ._engine.sparse_check import check_sparse
from ._engine.validate import out_names

__all__ = ["Renderer", "to_dense"]

METHODS = ("auto", "numba", "scatter")


def _torch_dtype(dtype: np.dtype) -> torch.dtype:
    return torch.from_numpy(np.zeros(0, dtype)).dtype


def to_dense(targets: SparseTargets, device=None, out=None, *, method: str = "auto",
             pin_memory: bool = False, num_threads: int | None = None):
    """The dense targets as torch tensors, bit-identical to ``targets.to_dense()``.

    Parameters
    ----------
    targets : SparseTargets
        From any ``encode_*(..., sparse=True)`` (or ``fastheat.collate``).
    device : torch.device or str, optional
        Where the tensors live; default the CPU (or ``out``'s device).
    out : tuple of tensors, optional
        Contiguous tensors of the result's shapes and dtypes, on one device, overwritten
        entirely and returned (in the family's named tuple).
    method : {"auto", "numba", "scatter"}, default "auto"
        ``"numba"``: render on the CPU with the stamping kernel (CPU tensors only);
        ``"scatter"``: expand into cells and ``scatter_reduce_`` on the tensors' device (any
        device; this is the GPU path, testable on the CPU); ``"auto"``: numba on the CPU,
        scatter elsewhere.
    pin_memory : bool, default False
        Allocate fresh CPU tensors in pinned memory (needs CUDA), for asynchronous copies.
    num_threads : int, optional
        As for the encode functions (the numba method).
    """
    check_sparse(targets)
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    family, spec = FAMILIES[targets.family], targets.spec
    threads = check_num_threads(num_threads)
    names, shapes, dtypes = family.fields(spec, targets.batch_size)
    if out is None:
        device = torch.device(device if device is not None else "cpu")
        family.check_batch_size(spec, targets.batch_size)
        out = tuple(torch.zeros(shape, dtype=_torch_dtype(dtype), device=device,
                                pin_memory=pin_memory and device.type == "cpu")
                    for shape, dtype in zip(shapes, dtypes))
        fresh = True
    else:
        out = _check_out(out, shapes, dtypes, names, device)
        device, fresh = out[0].device, False
    if method == "auto":
        method = "numba" if device.type == "cpu" else "scatter"
    if method == "numba":
        if device.type != "cpu":
            raise ValueError(f"method='numba' renders into CPU tensors, not {device}")
        arrays = sinks.check_out_of(family, spec, targets.batch_size,
                                    tuple(tensor.numpy() for tensor in out))  # e.g. overlaps
        sinks.dense(family, spec, targets.stamps, targets.slots, arrays, threads)
        return family.result_of(spec, out)
    if not tables.max_merged(spec.gaussian):  # added or overwritten in order: no max to scatter
        dense = sinks.dense(family, spec, targets.stamps, targets.slots, None, threads)
        for tensor, array in zip(out, dense):
            tensor.copy_(torch.from_numpy(array))
        return family.result_of(spec, out)
    dense_count = family.dense(spec)
    maps, slots = out[:family.maps], out[dense_count:]
    if not fresh:
        for tensor in out[:dense_count]:
            tensor.zero_()
    expanded = stamping.expand_cells(targets.stamps, family.maps, shapes[0], spec.gaussian,
                                     spec.dtype)
    for tensor, (cells, values) in zip(maps, expanded):
        tensor.view(-1).scatter_reduce_(0, torch.from_numpy(cells).to(device),
                                        torch.from_numpy(values).to(device), "amax")
    height, width = shapes[0][2:]
    expanded = expand_cell_values(targets.stamps, family.layout(spec).cells, height, width,
                                  spec.dtype)
    for tensor, (indices, values) in zip(out[family.maps:], expanded):
        tensor.view(-1)[torch.from_numpy(indices).to(device)] = torch.from_numpy(values).to(device)
    regions = out[family.maps + len(expanded):dense_count]  # rendered on the CPU, copied
    arrays = [np.empty(tuple(tensor.shape), spec.dtype) for tensor in regions]
    write_regions(arrays, family.layout(spec).regions, spec, targets.stamps, CLEAR_ALL)
    for tensor, array in zip(regions, arrays):
        tensor.copy_(torch.from_numpy(array))
    for tensor, slot in zip(slots, targets.slots):
        tensor.copy_(torch.from_numpy(slot))
    return family.result_of(spec, out)


def _check_out(out, shapes, dtypes, names, device) -> tuple:
    """``out``: contiguous tensors of these shapes and dtypes on one device (``device`` if
    given), the fields ``names`` (for messages)."""
    labels = out_names(out, names, "tensors")
    for i, (tensor, shape, dtype) in enumerate(zip(out, shapes, dtypes)):
        name = labels[i]
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
        if tensor.dtype != _torch_dtype(dtype) or tuple(tensor.shape) != shape:
            raise ValueError(f"{name} is {tensor.dtype} {tuple(tensor.shape)}, expected "
                             f"{_torch_dtype(dtype)} {shape}")
        if not tensor.is_contiguous():
            raise ValueError(f"{name} must be contiguous")
        if tensor.device != out[0].device or not _on(tensor.device, device):
            raise ValueError(f"{name} is on {tensor.device}, not on the device of the others "
                             f"or the one asked for")
        if tensor.requires_grad:
            raise ValueError(f"{name} requires grad: targets are written in place")
        for j in range(i):
            if _share_memory(tensor, out[j]):
                raise ValueError(f"{labels[j]} and {name} share memory")
    return tuple(out)


def _share_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two contiguous tensors on one device overlap."""
    a0, b0 = a.data_ptr(), b.data_ptr()
    a1, b1 = a0 + a.numel() * a.element_size(), b0 + b.numel() * b.element_size()
    return a.numel() > 0 and b.numel() > 0 and a0 < b1 and b0 < a1


def _on(actual: torch.device, wanted) -> bool:
    """Whether ``actual`` is the device ``wanted`` names (None: any; "cuda" matches "cuda:0")."""
    if wanted is None:
        return True
    wanted = torch.device(wanted)
    return actual.type == wanted.type and wanted.index in (None, actual.index)


class Renderer:
    """Render sparse targets into ``buffers`` sets of reused (pinned) CPU tensors, in turn.

    ``renderer(targets)`` returns the family's named tuple of CPU tensors: the maps are views of
    buffer set ``i % buffers`` for the ``i``-th call (cleared where that set was last stamped,
    then stamped: about 0.1 ms for a CornerNet batch), the slot arrays are ``targets``' own.
    With ``pin_memory`` (default: when CUDA is available) the buffers are pinned, so
    ``tensor.to("cuda", non_blocking=True)`` is asynchronous.

    When a buffer may be reused: the tensors of call ``i`` are overwritten by call
    ``i + buffers``. With the default 2 sets, render batch ``i + 1`` while batch ``i`` copies to
    the GPU, and make sure that copy has finished (any later synchronising use of the copy on
    its stream, e.g. the training step that reads it, or ``torch.cuda.current_stream()
    .synchronize()``) before calling the renderer for batch ``i + 2``. The buffers of each
    family and option set are allocated on first use (and grown for a larger batch).

    Parameters
    ----------
    buffers : int, default 2
        Sets of buffers handed out in turn (>= 1).
    pin_memory : bool, optional
        Pin the buffers; default ``torch.cuda.is_available()``.
    num_threads : int, optional
        As for the encode functions.
    """

    def __init__(self, buffers: int = 2, *, pin_memory: bool | None = None,
                 num_threads: int | None = None):
        if isinstance(buffers, bool) or not isinstance(buffers, int) or buffers < 1:
            raise ValueError(f"buffers must be an integer >= 1, got {buffers!r}")
        self.buffers = buffers
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else bool(pin_memory)
        self.num_threads = check_num_threads(num_threads)
        self._sets: dict = {}  # (family, spec) -> (cycle of ReusedMaps, tensors kept alive)

    def _allocate(self, shape, dtype):
        tensor = torch.zeros(shape, dtype=_torch_dtype(dtype), pin_memory=self.pin_memory)
        return tensor.numpy()  # a view: it keeps the tensor (and its pinned memory) alive

    def __call__(self, targets: SparseTargets):
        check_sparse(targets)
        family = FAMILIES[targets.family]
        key = (targets.family, targets.spec)
        if key not in self._sets:
            self._sets[key] = itertools.cycle([
                sinks.ReusedMaps(family, targets.spec, allocate=self._allocate)
                for _ in range(self.buffers)])
        family.check_batch_size(targets.spec, targets.batch_size)
        maps = next(self._sets[key]).render(targets.stamps, targets.batch_size, self.num_threads,
                                            False, type(self).__name__, readonly=False)
        return family.result_of(targets.spec, [torch.from_numpy(array)
                                               for array in (*maps, *targets.slots)])
