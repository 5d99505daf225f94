"""How a family plugs into the engine, and what every family gets from it.

A family (``fastheat/cornernet.py``, ``fastheat/centernet.py``, ``fastheat/keypoints.py``)
declares a ``Family``: its result type, its options with their defaults, its slot arrays and
its pass, one compiled call that checks the annotations, fills the slot arrays and returns
``Stamps``; a family whose input is not detections also declares how to check it
(``Family.as_input``). In return it gets:

* ``encode``: the one-shot call, into fresh outputs or into ``out=`` (the sinks), and
  ``one_shot``, which makes the family's public one-shot function from its options;
* ``Encoder``: the reusable encoder, whose maps are reused with a sparse reset;
* ``Family.signature``: the public signature, generated from the options;
* a place in ``FAMILIES`` (``fastheat.warmup`` prepares every registered family).
"""

from __future__ import annotations

import inspect
import math
from collections import namedtuple
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from . import sinks
from .passes import Labels
from .registry import FAMILIES, register  # noqa: F401 (families register through here)
from .parallel import check_num_threads
from .profiling import stage_clock
from .sparse import SparseTargets
from .sparse_check import check_sparse
from .spec import (  # noqa: F401 (families import them from here)
    CHANNEL_PAIRS, CHANNELS, GROUPS, HEIGHT, RENDERING, REQUIRED, SLOTS, WIDTH, MapSpec,
    spec_for)
from .validate import as_rows, check_batch_size, check_image_ids, check_index


class SlotLayout(NamedTuple):
    """The slot arrays of one spec's results: each one's ``dims`` (``Family.slots``), shape
    after the batch axis and dtype; the results' named tuple; its cell fields
    (``cells.CellField``, ``Family.cells``)."""

    dims: list
    shapes: list
    dtypes: list
    result: type
    cells: tuple = ()
    regions: tuple = ()


def with_fields(result: type, name: str, optional: tuple[str, ...], doc: str) -> type:
    """The named tuple ``name``: ``result``'s fields, then the ``optional`` ones; a subclass of
    ``result``, whose properties keep giving ``None`` for the optional fields it has not.

    A family's results hold only the fields their options fill (``Family.variants``), so that
    code written for the default options (unpacking, torch's default collate) keeps working.
    Assign the class to ``name`` in ``result``'s module: pickle finds it there.
    """
    fields = namedtuple(name, result._fields + optional, module=result.__module__)
    return type(name, (fields, result), {"__slots__": (), "__module__": result.__module__,
                                         "__doc__": doc})


@dataclass(frozen=True)
class Family:
    """One family of targets.

    Attributes
    ----------
    name : str
        Registry key.
    result : type
        Named tuple: the ``maps`` dense maps ``(B, C, H, W)`` first, then the cell fields
        (``cells``) and region fields (``regions``), then the slot arrays (those without a
        flag); a read-only property per optional field gives ``None``.
    maps : int
        How many dense maps the result starts with.
    options : dict
        Public option name -> default (``spec.REQUIRED`` for none), in signature order.
    run_pass : callable
        ``run_pass(spec, rows, batch_size, slots, labels) -> Stamps``: checks the float64
        ``(N, 6)`` rows (a ``ValueError`` naming the lowest bad row, or the overflowing image,
        as ``labels`` (``passes.Labels``) name them), overwrites the slot arrays entirely (only once the rows are
        known to be good) and returns the points to stamp.
    slots : tuple of ((int or str, ...), dtype[, name, flag])
        Each slot array's shape after the batch axis (``SLOTS`` for ``max_slots``,
        ``CHANNELS`` for the maps' channels, ``CHANNEL_PAIRS`` for twice that, ``HEIGHT`` and
        ``WIDTH`` for the maps' height and width, ``GROUPS`` for ``spec.groups``, the groups
        of slots of a spec that has them, such as CenterPoint's task heads, any other string
        for the spec's attribute of that name) and dtype. An optional field also has its name
        and the spec's flag that adds it to the result (``layout``).
    slots_option : str, optional
        The option that sets ``max_slots`` (``"max_tag_len"``, ``"max_objs"``).
    cells : tuple of cells.CellField
        Dense per-cell fields ``(B, channels, H, W)`` in the maps' dtype, written at each
        point's own cell from ``Stamps.cell_values`` (``cells``); rendered, reused and cleared
        with the maps. An optional one has the spec's flag that adds it (as slots do).
    regions : tuple of cells.RegionField
        Dense fields written over a region of cells per point (``Stamps.regions``), after the
        cell fields in the result; rendered, reused and cleared (to their fill) with the maps.

    A family whose input is not detections (keypoints) also sets:

    make_spec : callable, optional
        ``make_spec(values) -> spec``: its own options check (``spec.check_options``), given
        every option's value.
    as_input : callable, optional
        ``as_input(spec, data, image_ids) -> (spec, data, batch_size, labels)``: checks and
        converts its input ``data`` (a tuple of the public function's leading arguments) and
        binds the spec to the input's dimensions (channels, slots); ``run_pass`` then gets
        the converted ``data`` in place of rows (of one image when ``batch_size`` is None: the
        single-image form, whose fields lose the batch axis).
    unbound : callable, optional
        ``unbound(spec) -> spec``: a bound spec as the options alone make it (to compare sparse
        targets' spec with an encoder's).
    rendering : tuple of str
        The spec's fields that rendering stamps depends on (default ``spec.RENDERING``); the
        others shaped the stamps.
    variants : dict
        The result types of options that add optional slot fields: the tuple of the fields'
        names -> a named tuple (``with_fields``).
    spec_type : type
        The class of the family's specs (default ``MapSpec``; a family's own ``make_spec``
        makes another), what sparse targets of the family must hold.
    stamp_arrays : callable
        ``stamp_arrays(spec) -> names``: the optional per-point arrays of ``Stamps`` (e.g.
        ``("clips", "centres")``) the family's stamps of ``spec`` carry (default: none).
    check_stamps : callable, optional
        ``check_stamps(spec, stamps) -> str or None``: the family's own invariants of its
        stamps' optional arrays, beyond their dtypes, shapes and bounds
        (``sparse_check.OPTIONAL_ARRAYS``), that its rendering relies on: a message naming
        the field and its first bad point (``"stamps.regions[3] = ... is not ..."``), or
        None. Run on sparse targets at every door into rendering.
    inputs : tuple of inspect.Parameter
        The public function's leading parameters (default: ``detections``, ``batch_size``).
    warmup : callable, optional
        ``warmup(num_threads)``: a few small calls that compile its kernels (default: one call
        with one box per option set of ``warmup_options``).
    warmup_options : tuple of dict
        The option sets (besides the sizes) whose kernels ``fastheat.warmup`` compiles
        (default ``({},)``: the defaults).
    pack_slots, unpack_slots : callable, optional
        For a family whose slot arrays are dense but derived from its stamps and a few values
        (DeepLabCut's weights and locref fields): ``pack_slots(spec, stamps, slots) -> packed``
        (what its pickled sparse targets carry in place of the slot arrays) and
        ``unpack_slots(spec, stamps, packed) -> slots``, equal to the slots packed.
    """

    name: str
    result: type
    maps: int
    options: dict
    run_pass: Callable
    slots: tuple = ()
    slots_option: str | None = None
    cells: tuple = ()
    regions: tuple = ()
    make_spec: Callable | None = None
    as_input: Callable | None = None
    unbound: Callable | None = None
    inputs: tuple = ()
    warmup: Callable | None = None
    warmup_options: tuple = ({},)
    rendering: tuple = RENDERING
    variants: dict = field(default_factory=dict)
    spec_type: type = MapSpec
    stamp_arrays: Callable = lambda spec: ()
    check_stamps: Callable | None = None
    pack_slots: Callable | None = None
    unpack_slots: Callable | None = None
    _layouts: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def takes_detections(self) -> bool:
        """Whether the input is detections (not the family's own, ``as_input``)."""
        return self.as_input is None

    def options_of(self, spec):
        """``spec`` as the options alone make it (``unbound``)."""
        return spec if self.unbound is None else self.unbound(spec)

    def spec(self, options: dict) -> MapSpec:
        return spec_for(self, options)

    def layout(self, spec: MapSpec) -> SlotLayout:
        """The slot arrays of ``spec``'s results and their type (cached per spec: every call
        needs them)."""
        layout = self._layouts.get(spec)
        if layout is None:
            present = [slot for slot in self.slots if len(slot) < 3 or getattr(spec, slot[3])]
            cells = tuple(cell for cell in self.cells
                          if cell.flag is None or getattr(spec, cell.flag))
            _, channels, height, width = spec.map_shape(1)
            sizes = {SLOTS: spec.max_slots, CHANNELS: channels, CHANNEL_PAIRS: 2 * channels,
                     HEIGHT: height, WIDTH: width, GROUPS: getattr(spec, "groups", 1)}
            optional = tuple(cell.name for cell in cells if cell.flag is not None) \
                + tuple(slot[2] for slot in present if len(slot) > 2)
            layout = SlotLayout(
                dims=[slot[0] for slot in present],
                shapes=[tuple((sizes[d] if d in sizes else getattr(spec, d))
                              if isinstance(d, str) else d for d in slot[0])
                        for slot in present],
                dtypes=[np.dtype(slot[1]) for slot in present],
                result=self.variants[optional] if optional else self.result,
                cells=cells, regions=self.regions)
            if len(self._layouts) >= 64:
                self._layouts.clear()
            self._layouts[spec] = layout
        return layout

    def slot_shapes(self, spec: MapSpec, batch_size: int) -> list[tuple[int, ...]]:
        return [(batch_size, *shape) for shape in self.layout(spec).shapes]

    def map_shapes(self, spec: MapSpec, batch_size: int) -> list[tuple[int, int, int, int]]:
        """The shape ``(B, C, H, W)`` of each of the ``maps`` dense maps: ``spec.map_shape``
        for all, or, for a family whose maps differ (OpenPose's keypoint maps and part affinity
        fields in channels, SimCC's 1-D labels in length), its spec's
        ``map_shapes(batch_size)``."""
        if hasattr(spec, "map_shapes"):
            return list(spec.map_shapes(batch_size))
        return [spec.map_shape(batch_size)] * self.maps

    def fields(self, spec: MapSpec, batch_size: int) -> tuple[tuple, list, list]:
        """``(names, shapes, dtypes)`` of the fields of ``spec``'s results of ``batch_size``
        images (what ``out=`` must be)."""
        layout = self.layout(spec)
        return (layout.result._fields,
                self.map_shapes(spec, batch_size)
                + self.cell_shapes(spec, batch_size) + self.slot_shapes(spec, batch_size),
                [spec.dtype] * self.dense(spec) + layout.dtypes)

    def dense(self, spec: MapSpec) -> int:
        """How many fields of ``spec``'s results are rendered (maps and cell fields): the
        slot arrays follow them."""
        layout = self.layout(spec)
        return self.maps + len(layout.cells) + len(layout.regions)

    def cell_shapes(self, spec: MapSpec, batch_size: int) -> list[tuple[int, ...]]:
        _, _, height, width = spec.map_shape(1)
        layout = self.layout(spec)
        return [(batch_size, channels, height, width) for channels in
                [cell.channels for cell in layout.cells]
                + [region.channels(spec) for region in layout.regions]]

    def new_slots(self, spec: MapSpec, batch_size: int) -> tuple[np.ndarray, ...]:
        if not self.slots:
            return ()
        layout = self.layout(spec)
        return tuple(np.zeros((batch_size, *shape), dtype)
                     for shape, dtype in zip(layout.shapes, layout.dtypes))

    def result_of(self, spec: MapSpec, fields):
        """The result of ``spec`` holding ``fields``: its maps, then its slot arrays."""
        return self.layout(spec).result(*fields)

    def new_maps(self, spec: MapSpec, batch_size: int, allocate=np.zeros) -> tuple[np.ndarray, ...]:
        """New maps, then cell fields, each ``allocate(shape, dtype)``: zeroed by default
        (calloc'd: the kernel first-touches the maps only on several threads)."""
        return tuple(allocate(shape, spec.dtype) for shape in
                     self.map_shapes(spec, batch_size) + self.cell_shapes(spec, batch_size))

    def map_bytes(self, spec: MapSpec, batch_size: int) -> int:
        """The bytes of ``new_maps``: ``batch_size`` images' maps and cell fields."""
        return sum(math.prod(shape) for shape in self.map_shapes(spec, batch_size)
                   + self.cell_shapes(spec, batch_size)) * spec.dtype.itemsize

    def check_batch_size(self, spec: MapSpec, batch_size, *, maps: bool = True) -> int:
        """``batch_size``, checked, its new outputs (maps, cell fields and slots) known to fit
        in memory."""
        shapes = self.map_shapes(spec, 1)
        layout = self.layout(spec)
        per_image = self.map_bytes(spec, 1) if maps else 0
        per_image += sum(math.prod(shape) * dtype.itemsize
                         for shape, dtype in zip(layout.shapes, layout.dtypes))
        if len(set(shapes)) == 1:
            _, channels, height, width = shapes[0]
            context = f" of {self.maps} x {channels} x {height} x {width} maps"
        else:
            context = " of maps " + " + ".join(" x ".join(map(str, s[1:])) for s in shapes)
        context = context if maps else ""
        if self.slots_option:
            context += f" and {self.slots_option}={spec.max_slots} slots"
        return check_batch_size(batch_size, per_image, context)

    def signature(self, *, encoder: bool = False) -> inspect.Signature:
        """The public signature: ``(detections, *, batch_size, <options>, out, sparse,
        image_ids, num_threads)``,
        or the encoder's ``(*, <options>, num_threads)``."""
        keyword = inspect.Parameter.KEYWORD_ONLY
        head = [] if encoder else list(self.inputs) or [
            inspect.Parameter("detections", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("batch_size", keyword)]
        options = [inspect.Parameter(name, keyword, default=default)
                   for name, default in self.options.items()]
        tail = [] if encoder else [inspect.Parameter("out", keyword, default=None),
                                   inspect.Parameter("sparse", keyword, default=False),
                                   inspect.Parameter("image_ids", keyword, default=None)]
        tail.append(inspect.Parameter("num_threads", keyword, default=None))
        returns = inspect.Signature.empty if encoder else self.result
        return inspect.Signature(head + options + tail, return_annotation=returns)


def one_shot(family: Family) -> Callable[[Callable], Callable]:
    """Decorator: ``family``'s public one-shot function, named and documented by the function
    it decorates, which declares no parameters (its numpydoc docstring is the function's).

    The function made takes the family's inputs (``Family.inputs``: by default ``detections``
    and a keyword-only ``batch_size``) as declared, then its options, ``out``, ``sparse``,
    ``image_ids`` and ``num_threads`` as keywords, and calls ``encode``: fresh outputs,
    ``out=`` or sparse targets. Its ``__signature__`` is ``family.signature()``, every option
    with its default; the options themselves are checked by the engine, as an ``Encoder``'s
    are (a ``TypeError`` naming an unknown or missing one). It is compiled from source, as
    ``dataclasses`` makes methods: a plain call, no argument binding at run time. Its code
    lies at the decorated function's file and line, where tracebacks show it (and
    ``warn_once``, which skips fastheat's own frames, skips it too).
    """

    def make(declared: Callable) -> Callable:
        if inspect.signature(declared).parameters:
            raise TypeError(f"{declared.__name__} declares parameters: a one-shot function's "
                            "come from its family's inputs and options")
        signature = family.signature()
        inputs = list(signature.parameters.values())[:len(family.inputs) or 2]
        common = [signature.parameters[name]
                  for name in ("out", "sparse", "image_ids", "num_threads")]
        namespace = {"_encode": encode, "_family": family}
        texts, keywords = [], False
        for parameter in inputs + common:
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY and not keywords:
                texts.append("*")
                keywords = True
            if parameter.default is inspect.Parameter.empty:
                texts.append(parameter.name)
            else:
                namespace[f"_{parameter.name}_default"] = parameter.default
                texts.append(f"{parameter.name}=_{parameter.name}_default")
        names = [parameter.name for parameter in inputs]
        data, batch_size = (names if family.takes_detections
                            else (f"({', '.join(names)},)", "None"))
        code = declared.__code__
        source = "\n" * (code.co_firstlineno - 1) + (
            f"def {declared.__name__}({', '.join(texts)}, **options):\n"
            f"    return _encode(_family, {data}, {batch_size}, options, out, num_threads, "
            "sparse, image_ids)\n")
        exec(compile(source, code.co_filename, "exec"), namespace)
        function = namespace[declared.__name__]
        function.__module__ = declared.__module__
        function.__qualname__ = declared.__qualname__
        function.__doc__ = declared.__doc__
        function.__signature__ = signature
        return function

    return make


def rows_of(detections, single: bool, batch_size: int, image_ids):
    """``(rows, labels)``: the ``(N, 6)`` float64 rows of a batch, or, if ``single``, of one
    image given as ``(N, 5)`` rows without the batch index; how messages name them."""
    if single:
        rows = as_rows(detections, columns=5)
        rows = np.hstack([np.zeros((len(rows), 1)), rows])
    else:
        rows = as_rows(detections)
    return rows, Labels(check_image_ids(image_ids, batch_size, single), single)


def encode(family: Family, detections, batch_size, options: dict, out, num_threads, sparse,
           image_ids=None):
    """Every family's one-shot call: fresh outputs, ``out=`` overwritten entirely, or (with
    ``sparse=True``) ``SparseTargets``, the stamps and slot arrays without the dense maps.

    ``out`` is a result of the family's type or a tuple of arrays in its field order; on any
    error it is left untouched. ``batch_size=None``: one image, ``(N, 5)`` detections and
    fields without the batch axis (sparse targets keep theirs, to be collated). A family with
    its own input (``Family.as_input``) gets it as ``detections`` and ``batch_size=None``.
    """
    clock = stage_clock()
    spec = spec_for(family, options)
    threads = check_num_threads(num_threads)
    if sparse is not False and sparse is not True:
        raise TypeError(f"sparse must be True or False, got {sparse!r}")
    if sparse and out is not None:
        raise ValueError("out= and sparse=True exclude each other: render sparse targets with "
                         "their to_dense(out=...)")
    own = not family.takes_detections
    if own:  # its input gives the batch size, and the spec its dimensions
        spec, rows, batch_size, labels = family.as_input(spec, detections, image_ids)
    single = batch_size is None
    if single:
        batch_size = 1
    fields = out  # what an ``out=`` call returns, as given
    if out is None:
        batch_size = family.check_batch_size(spec, batch_size, maps=not sparse)
    else:
        batch_size = check_index("batch_size", batch_size, minimum=1)
        if single and isinstance(out, (tuple, list)):  # the fields gain the batch axis
            out = tuple(o[np.newaxis] if isinstance(o, np.ndarray) else o for o in out)
        out = sinks.check_out_of(family, spec, batch_size, out)
    if not own:
        rows, labels = rows_of(detections, single, batch_size, image_ids)
    slots = family.new_slots(spec, batch_size) if out is None else out[family.dense(spec):]
    if clock:
        clock("check")
    stamps = family.run_pass(spec, rows, batch_size, slots, labels)
    if clock:
        clock("pass")
    if sparse:
        result = SparseTargets(family.name, spec, stamps, slots)
    else:
        result = sinks.dense(family, spec, stamps, slots, out, threads)
        if clock:
            clock("stamp")
        if fields is not None:
            result = family.result_of(spec, fields)
        elif single:
            result = type(result)(*(field[0] for field in result))
    if clock:
        clock("outputs")
    return result


class Encoder:
    """Every family's reusable encoder: configure once, encode batch after batch into maps
    it owns and reuses; each call clears only the cells the previous call stamped, or all
    of them where that is cheaper (``sinks.ReusedMaps``).

    Subclasses set ``family``; their signature is generated from it.
    """

    family: Family

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "family" in cls.__dict__:
            cls.__signature__ = cls.family.signature(encoder=True)

    def __init__(self, *, num_threads: int | None = None, **options):
        self.spec = spec_for(self.family, options)
        self.num_threads = check_num_threads(num_threads)
        self._checked_batch_size = 0  # the largest batch known to fit in memory
        self._maps = sinks.ReusedMaps(self.family, self.spec)

    def __getstate__(self) -> dict:
        """Pickle the configuration only (e.g. to a spawned DataLoader worker), not the buffers."""
        state = self.__dict__.copy()
        del state["_maps"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._maps = sinks.ReusedMaps(self.family, self.spec)

    def _maps_for(self, spec) -> sinks.ReusedMaps:
        """The reused maps for ``spec``: new ones when it renders other maps than the current
        ones (a family with its own input binds its spec to the input: e.g. another number of
        keypoints)."""
        current = self._maps.spec
        if current is not spec and (self.family.map_shapes(current, 1)
                                    != self.family.map_shapes(spec, 1)
                                    or current.dtype != spec.dtype
                                    or current.gaussian != spec.gaussian):
            self._maps = sinks.ReusedMaps(self.family, spec)
            self._checked_batch_size = 0
        return self._maps

    def _check_batch_size(self, batch_size, spec=None) -> int:
        batch_size = check_index("batch_size", batch_size, minimum=1)
        if batch_size > self._checked_batch_size:  # before allocating anything for it
            self.family.check_batch_size(self.spec if spec is None else spec, batch_size)
            self._checked_batch_size = batch_size
        return batch_size

    def __call__(self, detections, batch_size: int | None, *, copy: bool = False, image_ids=None):
        """Encode one batch; see the family's one-shot function for the arguments
        (``batch_size=None``: one image, ``(N, 5)`` rows, fields without the batch axis).

        Returns the family's result: the maps as read-only views of the reused buffers, valid
        until the next call (fresh arrays with ``copy=True``), and fresh slot arrays.
        """
        clock = stage_clock()
        single = batch_size is None
        batch_size = self._check_batch_size(1 if single else batch_size)
        rows, labels = rows_of(detections, single, batch_size, image_ids)
        return self._encode(clock, self.spec, rows, batch_size, labels, single, copy)

    def _encode_own(self, data, image_ids, copy: bool):
        """``__call__`` for a family with its own input (``Family.as_input``), ``data`` the
        tuple of its arguments."""
        clock = stage_clock()
        spec, rows, batch_size, labels = self.family.as_input(self.spec, data, image_ids)
        self._maps_for(spec)
        single = batch_size is None  # one image: fields without the batch axis
        batch_size = self._check_batch_size(1 if single else batch_size, spec)
        return self._encode(clock, spec, rows, batch_size, labels, single, copy)

    def _encode(self, clock, spec, rows, batch_size, labels, single, copy):
        family = self.family
        slots = family.new_slots(spec, batch_size)
        if clock:
            clock("check")
        stamps = family.run_pass(spec, rows, batch_size, slots, labels)
        if clock:
            clock("pass")
        maps = self._maps.render(stamps, batch_size, self.num_threads, copy, type(self).__name__)
        if clock:
            clock("stamp")
        result = family.result_of(spec, (*maps, *slots))
        if single:
            result = type(result)(*(field[0] for field in result))
        if clock:
            clock("outputs")
        return result

    def render(self, targets: SparseTargets, *, copy: bool = False):
        """Render ``targets`` (``sparse=True`` output of this family, encoded with this
        encoder's options that rendering depends on, ``Family.rendering``: ``num_classes``,
        ``output_size``, ``dtype``, ``delte``, ``k`` and the family's own, such as CenterNet's
        ``gaussian``; the other options shaped the stamps) into the reused buffers, as a call
        with their detections would.

        Returns the family's result: the maps as read-only views valid until the next call
        (fresh arrays with ``copy=True``), and ``targets``' own slot arrays.
        """
        check_sparse(targets)
        if targets.family != self.family.name:
            raise ValueError(f"targets are of the {targets.family!r} family, not "
                             f"{self.family.name!r} ({type(self).__name__})")
        different = self.spec.differences(self.family.options_of(targets.spec),
                                          self.family.rendering)
        if different:
            raise ValueError(f"targets were encoded with other {', '.join(different)} than this "
                             f"{type(self).__name__}'s")
        maps = self._maps_for(targets.spec)
        batch_size = self._check_batch_size(targets.batch_size, targets.spec)
        maps = maps.render(targets.stamps, batch_size, self.num_threads, copy,
                           type(self).__name__)
        return self.family.result_of(targets.spec, (*maps, *targets.slots))
