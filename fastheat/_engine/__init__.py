"""The engine every target family plugs into.

A family module imports from ``api`` only: the names below that families use, in one place.

* ``jit``: the one place for Numba options; ``runtime``: running kernels (the first-use lock,
  process locks, once-only warnings); ``parallel``: the thread policy, fork handling and the
  threading layer; ``profiling``: the stage clock of ``profile_stages``; ``validate``: argument
  checks.
* ``spec``: ``MapSpec``, a family's validated options (or the family's own spec);
  ``radius``: the Gaussian radius.
* ``stamps``: ``Stamps``, per point its map, channel, grid cell and radius (optionally a clip
  rectangle, a sub-pixel centre, a limb band's line, cell values and a region), grouped by
  image; ``passes``: what the families' compiled passes share (row checks, grouping, slots).
* ``tables``: the Gaussian value tables and the Gaussians' kinds (CornerNet's, a family's
  table kind, or a per-point kind computing each point's values, merged by maximum, added
  and clamped, or overwritten; limb bands; one kind per map; 1-D labels); ``kinds``: kinds
  with a kernel precision and elliptical ones; ``stamping``: the one stamping kernel;
  ``cells``: cell and region fields (dense values written at or around each point, in order);
  ``numpy_exp``: NumPy's ``exp`` bits inside kernels (``exp32``, NumPy's float32 ``exp``
  transcribed, for exp32 kinds stamped without an array of values; float64 Gaussians rounded
  to float32 from per-axis ``exp`` where that rounding is certain).
* ``sinks``: fresh, ``out=`` and reused maps; ``sparse``: ``SparseTargets`` and ``collate``;
  ``sparse_check``: sparse targets checked at every door into rendering.
* ``family``: ``Family``, the registry, and what every family gets: ``encode`` (fresh and
  ``out=`` sinks) and ``Encoder`` (reused maps with sparse reset).
"""
