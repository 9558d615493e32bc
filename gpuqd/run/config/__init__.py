"""Run configuration: schema, typed configuration, YAML input, validation, and the factories that
turn configuration into physics objects."""
