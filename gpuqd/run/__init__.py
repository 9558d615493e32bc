"""Run layer: YAML configuration → run directory → results (no re-exports here; import the modules)."""
