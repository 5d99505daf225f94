"""The engine every target family plugs into.

* ``jit``: the one place for Numba options; ``runtime``: all process state (first-use lock,
  thread policy, fork handling); ``validate``: argument checks.
* ``spec``: ``MapSpec``, a family's validated options; ``radius``: the Gaussian radius.
* ``stamps``: ``Stamps``, per point its map, channel, grid cell and radius, grouped by image;
  ``passes``: what the families' compiled passes share (row checks, grouping, slots).
* ``tables``: the Gaussian value tables; ``stamping``: the one stamping kernel.
* ``family``: ``Family``, the registry, and what every family gets: ``encode`` (fresh and
  ``out=`` sinks) and ``Encoder`` (reused maps with sparse reset).
"""
