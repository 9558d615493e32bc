"""The pulse protocol of a ``write_error`` configuration (docs/physics.md §16): the rest, rise staircase,
write and read points as grid points of the run's torque table (nearest to the requested points, given in
the grid's point unit), for the stage and its estimate. Times in 1/Γ.
"""

from __future__ import annotations

from gpuqd.observables.write_error import PulseProtocol
from gpuqd.run.config.typed import RunConfig

__all__ = ["protocol_for"]


def protocol_for(cfg: RunConfig, write: int) -> PulseProtocol:
    """The pulse protocol of the configuration with grid point ``write`` as the write point."""
    we, grid = cfg.write_error, cfg.grid
    unit = grid.point_unit
    rest = grid.flat_index(*grid.nearest(we.rest_eps_tilde * unit, we.rest_V * unit))
    read_v = we.rest_V if we.read_V is None else we.read_V
    read = grid.flat_index(*grid.nearest(we.rest_eps_tilde * unit, read_v * unit))
    rise: list[tuple[int, float]] = []
    if we.rise_time > 0:
        ri, rj = divmod(rest, grid.V.size)
        wi, wj = divmod(write, grid.V.size)
        for k in range(1, we.rise_steps + 1):
            f = k / (we.rise_steps + 1)
            e = grid.eps_tilde[ri] + f * (grid.eps_tilde[wi] - grid.eps_tilde[ri])
            v = grid.V[rj] + f * (grid.V[wj] - grid.V[rj])
            rise.append((grid.flat_index(*grid.nearest(e, v)), we.rise_time / we.rise_steps))
    return PulseProtocol(
        rest=rest,
        write=write,
        settle=we.settle,
        rest_before=we.rest_before,
        rise=tuple(rise),
        initial_state=we.initial_state,
        read=read,
    )
