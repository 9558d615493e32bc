"""Order-1 dot states in deep blockade (docs/physics.md §16): the mask of states that are no density matrix."""

from __future__ import annotations

import numpy as np

from gpuqd.run.stages.transport import THETA_AP, THETA_P, unphysical_dot_state
from gpuqd.transport.spin_valve import SpinValve


def test_order_one_mask_flags_exactly_the_states_that_break_the_bounds():
    sv = SpinValve(U=1000.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)
    eps, v = np.linspace(-500, 500, 21), np.linspace(-500, 500, 13)
    r = sv.solve(eps[:, None, None], v[None, :, None], np.array([THETA_P, THETA_AP]), order=1)
    mask = unphysical_dot_state(r)
    # independent statement of the bounds: |⟨S⟩| ≤ P1/2 (spin ½ of the singly occupied states), 0 ≤ P_n ≤ 1
    spin = np.sqrt((r.dot_spin**2).sum(-1))
    p1 = r.occupations[..., 1]
    broken = (spin > 0.5 * p1 + 1e-9) | np.any((r.occupations < -1e-9) | (r.occupations > 1 + 1e-9), axis=-1)
    np.testing.assert_array_equal(mask, broken.any(-1))
    assert 10 <= mask.sum() <= 60  # deep blockade at p = 0.99 (23 of 273 points here)
    assert spin[mask.astype(bool)].max() > 1.0  # O(1)–O(100) spins, not round-off
    # far outside blockade (|V| = U/2) every state is physical
    assert not mask[:, [0, -1]].any()
