"""Dask execution (``execution: {engine: dask}``): a local cluster on the loopback interface, or an existing
scheduler, and :class:`DaskExecutor` that runs work units on it.

* Local cluster (no ``scheduler``): ``workers`` processes with one thread each (OpenMP/BLAS threads 1),
  scheduler, workers, nannies and dashboard listening on 127.0.0.1 only. With backend ``cupy`` one
  worker per visible GPU (``dask_cuda.LocalCUDACluster`` if installed, otherwise a plain cluster whose
  worker i uses device i).
* Existing scheduler: the user's explicit choice (``--scheduler tcp://host:8786``; for TLS pass a
  ``tls://`` address and configure ``distributed.comm.tls`` as shown in the README).
* Shared inputs (torque table, model) are scattered once to every worker (broadcast); tasks carry
  only small arguments. A worker lost mid-task is replaced by its nanny and the task rescheduled by
  the Dask scheduler; the task is a pure function of its inputs, so its result is unchanged.

Everything here imports dask lazily: without the ``gpuqd[dask]`` extra nothing is imported until a
cluster is asked for, and :func:`gpuqd.run.config.execution_settings.check_execution_config` rejects the
configuration before.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from gpuqd.run.config.execution_settings import DASK_EXTRA_MESSAGE, ExecutionSettings
from gpuqd.run.execute.execution import Job
from gpuqd.run.execute.executor import LocalExecutor

__all__ = [
    "DaskExecutor",
    "LOOPBACK",
    "WORKER_ENV",
    "dashboard_link",
    "make_executor",
    "start_local_cluster",
    "visible_gpu_count",
]

LOOPBACK = "127.0.0.1"
#: environment of local worker processes: one compute thread each (the parallelism is the processes)
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise RuntimeError(DASK_EXTRA_MESSAGE) from None
    return distributed


def visible_gpu_count() -> int:
    """Number of CUDA devices CuPy sees (0 without CuPy or a device)."""
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def _select_gpu_plugin(n_devices: int) -> Any:
    """Worker plugin: worker ``i`` of a plain local cluster sees only CUDA device ``i mod n_devices``
    (set before the worker's first task imports CuPy)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class SelectGPU(WorkerPlugin):
        def setup(self, worker: Any) -> None:  # pragma: no cover - needs several GPUs
            try:
                index = int(str(worker.name).rsplit("-", 1)[-1])
            except ValueError:
                index = 0
            os.environ["CUDA_VISIBLE_DEVICES"] = str(index % n_devices)

    return SelectGPU()


def start_local_cluster(n_workers: int, backend: str = "numpy", dashboard: bool = True) -> tuple[Any, Any]:
    """(cluster, client) of a local cluster on 127.0.0.1: ``n_workers`` processes × 1 thread.

    backend 'cupy': one worker per visible GPU instead of ``n_workers``.
    The dashboard (if bokeh is installed) listens on 127.0.0.1 at a free port.
    """
    distributed = _import_distributed()
    dash = f"{LOOPBACK}:0" if dashboard else None
    common = dict(
        host=LOOPBACK, dashboard_address=dash, threads_per_worker=1, processes=True, worker_dashboard_address=None
    )
    if backend == "cupy" and visible_gpu_count() > 0:
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError:
            n_gpu = visible_gpu_count()
            cluster = distributed.LocalCluster(n_workers=n_gpu, env=dict(WORKER_ENV), **common)
            client = distributed.Client(cluster)
            client.register_plugin(_select_gpu_plugin(n_gpu), name="gpuqd-select-gpu")
            return cluster, client
        cluster = LocalCUDACluster(**{k: v for k, v in common.items() if k != "processes"})
        return cluster, distributed.Client(cluster)
    cluster = distributed.LocalCluster(n_workers=int(n_workers), env=dict(WORKER_ENV), **common)
    return cluster, distributed.Client(cluster)


def dashboard_link(cluster: Any) -> str | None:
    """The dashboard URL of a local cluster, or None when it is not served (bokeh not installed)."""
    scheduler = getattr(cluster, "scheduler", None)
    server = getattr(scheduler, "http_server", None)
    if server is None:
        return None
    try:
        import bokeh  # noqa: F401 - the dashboard pages need it
    except ImportError:
        return None
    return cluster.dashboard_link


def make_executor(
    settings: ExecutionSettings, backend: str = "numpy", message: Callable[[str], None] | None = None
) -> Any:
    """The run's executor: :class:`gpuqd.run.execute.executor.LocalExecutor` for engine 'local', a
    :class:`DaskExecutor` for 'dask' (it connects on first use and must be closed)."""
    if settings.engine == "dask":
        return DaskExecutor(settings=settings, backend=backend, message=message)
    return LocalExecutor()


class DaskExecutor:
    """:class:`gpuqd.run.execute.executor.Executor` on Dask: ``map`` and ``run_ensemble`` as work units.

    Give either a connected ``client`` (and the ``cluster`` it belongs to, closed with it if given) or
    ``settings``: then the executor connects on first use (a local cluster on 127.0.0.1, or
    ``settings.scheduler``), so runs whose work all comes from caches start no cluster.
    """

    name = "dask"

    def __init__(
        self,
        client: Any = None,
        cluster: Any = None,
        settings: ExecutionSettings | None = None,
        backend: str = "numpy",
        message: Callable[[str], None] | None = None,
    ) -> None:
        self._client, self.cluster = client, cluster
        self.settings = settings or ExecutionSettings(engine="dask")
        self.backend = backend
        self.message = message or (lambda text: None)

    # ------------------------------------------------------------------ connection
    @property
    def client(self) -> Any:
        if self._client is None:
            distributed = _import_distributed()
            if self.settings.scheduler:
                self._client = distributed.Client(self.settings.scheduler)
                self.message(f"dask: connected to scheduler {self.settings.scheduler} ({self.n_workers} workers)")
            else:
                self.cluster, self._client = start_local_cluster(self.settings.workers, self.backend)
                link = dashboard_link(self.cluster)
                self.message(
                    f"dask: local cluster of {self.n_workers} worker processes on "
                    f"{self.cluster.scheduler_address}; "
                    + (f"dashboard {link}" if link else "dashboard unavailable (pip install bokeh)")
                )
        return self._client

    @property
    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def close(self) -> None:
        """Close the client and, if this executor started it, the local cluster."""
        try:
            if self._client is not None:
                self._client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
            self._client = self.cluster = None

    # ------------------------------------------------------------------ Executor interface
    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn(item)`` for every item on the cluster (all submitted at once); results in item order."""
        items = list(items)
        if not items:
            return iter(())
        futures = self.client.map(fn, items, key=[f"gpuqd-map-{uuid.uuid4().hex}" for _ in items], pure=False)

        def ordered() -> Iterator[Any]:
            try:
                for future in futures:
                    result = future.result()
                    future.release()
                    yield result
            finally:
                self.client.cancel([f for f in futures if not f.done()], force=True)

        return ordered()

    def run_ensemble(self, work: Any, checkpoint: Any, reporter: Any) -> Any:
        """The ensemble in work units: adaptive first-passage rounds in blocks
        (:mod:`gpuqd.run.execute.first_passage_units`) or blocks of trajectories × time chunks
        (:mod:`gpuqd.run.execute.ensemble_units`), stored under ``<checkpoint dir>/units/<stage>/``."""
        from gpuqd.run.execute.ensemble_units import run_work_in_blocks
        from gpuqd.run.execute.first_passage_units import is_round_based, run_rounds_in_blocks

        whole = work.start(None)  # validates the whole ensemble before any unit runs
        if is_round_based(whole):
            return run_rounds_in_blocks(self, work, whole, checkpoint, reporter)
        return run_work_in_blocks(self, work, whole, checkpoint, reporter)

    def map_dynamic(
        self, task: Callable[..., Any], shared: Any, jobs: Iterable[Job], on_result: Callable[[Job, Any], Iterable[Job]]
    ) -> None:
        """:class:`gpuqd.run.execute.execution.UnitExecutor`: chained units; ``shared`` is scattered once to
        every worker."""
        from distributed import as_completed

        client = self.client
        token = uuid.uuid4().hex[:8]
        # a one-element list: scatter would split a dict or list into one future per element
        shared_future = client.scatter([shared], broadcast=True, hash=False)[0]
        pending: dict[str, tuple[Job, Any]] = {}

        def submit(job: Job) -> Any:
            key = f"gpuqd-{job.key}-{token}"
            future = client.submit(task, shared_future, *job.args, key=key, pure=False)
            pending[key] = (job, future)
            return future

        futures = as_completed([submit(j) for j in jobs])
        try:
            for future in futures:
                job, _ = pending.pop(future.key)
                result = future.result()
                future.release()
                for new in on_result(job, result):
                    futures.add(submit(new))
        finally:
            if pending:  # an error (or interrupt) with units in flight: do not leave them running
                client.cancel([f for _, f in pending.values()], force=True)
            futures.clear()
            shared_future.release()
