"""The result arrays of stage ``fmr``: dims, units and description of every ``fmr_*`` array
(:data:`VARIABLES`).

Units: energies and frequencies in Γ, χ per unit drive energy (1/Γ); points in units of U.
"""

from __future__ import annotations

from types import MappingProxyType

from gpuqd.run.store.results import point_coordinate_variables

__all__ = ["VARIABLES"]


def _variables() -> dict[str, dict]:
    """Units, dims and description of the fmr_* result arrays."""
    _G = ["eps_tilde", "V"]
    _SP = ["spectrum_point", "state"]
    FMR_VARIABLES: dict[str, dict] = {
        "fmr_states": {
            "dims": ["state"],
            "units": "",
            "description": "state index of the fmr_* spectra arrays: 0 = parallel (n = +e_z), "
            "1 = antiparallel (n = −e_z); stored as +1 / −1",
            "coordinate": "dimension",
        },
        "fmr_stiffness": {"dims": [], "units": "Gamma", "description": "H_0 = KV used in ω_0 = H_0 ± (I_FL + B_z)"},
        "fmr_external_field_z": {
            "dims": [],
            "units": "Gamma",
            "description": "static field B_z (magnet.field[2]), folded into I_FL",
        },
    }
    for _s, _sign in (("parallel", "+"), ("antiparallel", "−")):
        FMR_VARIABLES |= {
            f"fmr_field_like_{_s}": {
                "dims": _G,
                "units": "Gamma",
                "description": f"collinear limit of I_FL at θ = {'0' if _sign == '+' else 'π'} "
                "(SpinValve.solve at θ exactly collinear)",
            },
            f"fmr_damping_like_{_s}": {
                "dims": _G,
                "units": "Gamma",
                "description": f"collinear limit of I_DL at θ = {'0' if _sign == '+' else 'π'}",
            },
            f"fmr_stable_{_s}": {
                "dims": _G,
                "units": "bool",
                "description": f"{_s} state linearly stable (α_eff ω_0 > 0, gpuqd.observables.fmr.is_stable)",
            },
            f"fmr_resonance_frequency_{_s}": {
                "dims": _G,
                "units": "Gamma",
                "description": f"Ω_R = (KV {_sign} (I_FL + B_z))/S; NaN where unstable",
            },
            f"fmr_effective_damping_{_s}": {
                "dims": _G,
                "units": "1",
                "description": f"α_eff = α/S {'−' if _sign == '+' else '+'} I_DL/(S Ω_R); NaN where unstable",
            },
            f"fmr_relaxation_rate_{_s}": {
                "dims": _G,
                "units": "Gamma",
                "description": "Γ_relax = (α ω_0 − S I_DL,eff)/(S² + α²), everywhere (<= 0 where unstable)",
            },
            f"fmr_peak_frequency_{_s}": {
                "dims": _G,
                "units": "Gamma",
                "description": "Ω of the numerical extremum of the exact χ''; NaN where unstable",
            },
            f"fmr_peak_chi_imag_{_s}": {
                "dims": _G,
                "units": "1/Gamma",
                "description": "χ'' at its extremum (signed), per unit drive energy; NaN where unstable",
            },
            f"fmr_linewidth_{_s}": {
                "dims": _G,
                "units": "Gamma",
                "description": "numerical HWHM of |χ''(Ω)|; NaN where unstable",
            },
        }
    FMR_VARIABLES |= {
        "fmr_spectra_point_over_U": {
            "dims": ["spectrum_point", "xy"],
            "units": "U",
            "description": "(ε̃, V) of the spectra (exact points, not grid points)",
        },
        **point_coordinate_variables("fmr_spectra", "spectrum_point", "spectra points"),
        "fmr_spectra_field_like": {
            "dims": _SP,
            "units": "Gamma",
            "description": "collinear I_FL at the spectra points (θ = 0 for P, π for AP)",
        },
        "fmr_spectra_damping_like": {"dims": _SP, "units": "Gamma", "description": "collinear I_DL there"},
        "fmr_spectra_stable": {"dims": _SP, "units": "bool", "description": "linear stability there"},
        "fmr_spectra_resonance_frequency": {"dims": _SP, "units": "Gamma", "description": "Ω_R there (NaN: unstable)"},
        "fmr_spectra_effective_damping": {"dims": _SP, "units": "1", "description": "α_eff there (NaN: unstable)"},
        "fmr_spectra_omega": {
            "dims": _SP + ["omega"],
            "units": "Gamma",
            "description": "frequency axis of each spectrum (own window per point and state)",
            "coordinate": "auxiliary",
        },
        "fmr_spectra_chi_real": {
            "dims": _SP + ["omega"],
            "units": "1/Gamma",
            "description": "χ' of the exact linear response (NaN where unstable)",
        },
        "fmr_spectra_chi_imag": {"dims": _SP + ["omega"], "units": "1/Gamma", "description": "χ'' (exact)"},
        "fmr_spectra_chi_imag_approx": {
            "dims": _SP + ["omega"],
            "units": "1/Gamma",
            "description": "χ'' of [G]'s approximate form (docs/physics.md §6.5)",
        },
    }
    FMR_SIM_VARIABLES: dict[str, dict] = {
        "fmr_sim_omega": {
            "dims": _SP + ["sim_omega"],
            "units": "Gamma",
            "description": "drive frequencies of the simulated FMR (NaN-padded)",
            "coordinate": "auxiliary",
        },
        "fmr_sim_chi_real": {
            "dims": _SP + ["sim_omega"],
            "units": "1/Gamma",
            "description": "simulated χ' (lock-in of n_x over whole periods, trajectory mean)",
        },
        "fmr_sim_chi_imag": {"dims": _SP + ["sim_omega"], "units": "1/Gamma", "description": "simulated χ''"},
        "fmr_sim_chi_imag_stderr": {
            "dims": _SP + ["sim_omega"],
            "units": "1/Gamma",
            "description": "standard error of the simulated χ'' over trajectories (NaN: one trajectory)",
        },
        "fmr_sim_relative_error": {
            "dims": _SP + ["sim_omega"],
            "units": "1",
            "description": "|χ_sim − χ_formula| / |χ_formula|",
        },
        "fmr_sim_drive": {"dims": _SP, "units": "Gamma", "description": "drive amplitude h_x used"},
        "fmr_sim_steps": {"dims": _SP + ["sim_omega"], "units": "1", "description": "engine steps per frequency"},
    }
    FMR_VARIABLES |= FMR_SIM_VARIABLES
    return FMR_VARIABLES


VARIABLES = MappingProxyType(_variables())
