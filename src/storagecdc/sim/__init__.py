"""A seeded, deterministic simulator of dispatchers, maintainer and the real storage sink under faults.

``run_sim(seeds, first_seed)`` is the ``storagecdc sim`` command's body (see ``sim.runner``).
"""

from storagecdc.sim.runner import run_seed, run_sim

__all__ = ["run_seed", "run_sim"]
