"""A run's files: run directory, results (NetCDF / npz), transport cache, file errors."""
