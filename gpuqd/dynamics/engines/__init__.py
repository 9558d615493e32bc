"""The LLG engines (NumPy, host-built C++ "cpu", CuPy) and the registry of compute backends."""
