"""``cupyx.scipy.sparse.csr_matrix`` of the stand-in: a SciPy CSR matrix on the "device"; ``@`` takes and
gives device arrays (CuPy refuses NumPy operands, as here)."""

from __future__ import annotations

from typing import Any

import scipy.sparse as _sparse
from cupy._array import unwrap, wrap


class csr_matrix:  # noqa: N801 - CuPy's name
    def __init__(self, matrix: Any) -> None:
        self._matrix = _sparse.csr_matrix(matrix)
        self.shape = self._matrix.shape

    def __matmul__(self, other: Any) -> Any:
        return wrap(self._matrix @ unwrap(other))

    def dot(self, other: Any) -> Any:
        return self @ other

    def get(self) -> _sparse.csr_matrix:
        return self._matrix.copy()
