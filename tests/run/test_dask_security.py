"""Only the process that started a local Dask cluster (and the workers it launched) can use it.

gpuqd's local cluster listens on 127.0.0.1, which every user of a shared login node can reach; it
therefore requires mutual TLS with credentials made for this cluster alone
(``distributed.Security.temporary()``). A second process — with no credentials, with plain TCP, or
with TLS credentials of its own — cannot connect; the same process given this cluster's credentials
can (the control that the refusals are not a broken cluster). Loopback only; every connection
attempt is bounded by a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytest.importorskip("cryptography")

from gpuqd.run.execute.dask_executor import LOOPBACK, start_local_cluster  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

#: a separate process tries to run code on the cluster: prints CONNECTED or REFUSED <cause>
PROBE = """
import sys
import distributed
address, mode = sys.argv[1], sys.argv[2]
if mode == "none":
    security = None
elif mode == "own":
    security = distributed.Security.temporary()  # valid TLS, but not this cluster's CA
else:
    folder = sys.argv[3]
    security = distributed.Security(
        tls_ca_file=f"{folder}/ca.pem", tls_client_cert=f"{folder}/cert.pem",
        tls_client_key=f"{folder}/key.pem", require_encryption=True,
    )
try:
    with distributed.Client(address, security=security, timeout="4s") as c:
        print("CONNECTED", c.submit(sum, [40, 2]).result(timeout=20))
except Exception as exc:
    print("REFUSED", type(exc).__name__)
"""


@pytest.fixture(scope="module")
def cluster():
    cl, client = start_local_cluster(1, "numpy", dashboard=False)
    client.wait_for_workers(1, timeout=120)
    yield cl, client
    client.close()
    cl.close()


def _probe(address: str, mode: str, folder: Path | None = None) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    for k in [k for k in env if k.startswith("DASK_DISTRIBUTED__COMM__TLS")]:
        env.pop(k)
    args = [sys.executable, "-c", PROBE, address, mode] + ([str(folder)] if folder else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=90, env=env)
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else f"NO OUTPUT {out.stderr[-300:]}"


def test_address_is_tls_on_loopback(cluster):
    cl, client = cluster
    assert cl.scheduler_address.startswith(f"tls://{LOOPBACK}:")
    assert client.submit(sum, [1, 2]).result(timeout=30) == 3  # the starting process can use it


@pytest.mark.parametrize("mode", ["none", "tcp", "own"])
def test_second_process_without_the_credentials_cannot_connect(cluster, mode):
    address = cluster[0].scheduler_address
    if mode == "tcp":  # plain TCP to the same port
        address, mode = address.replace("tls://", "tcp://"), "none"
    assert _probe(address, mode).startswith("REFUSED"), mode


def test_second_process_with_the_credentials_can_connect(cluster, tmp_path):
    sec = cluster[0].security
    for name, text in (("ca", sec.tls_ca_file), ("cert", sec.tls_client_cert), ("key", sec.tls_client_key)):
        fd = os.open(tmp_path / f"{name}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
    assert _probe(cluster[0].scheduler_address, "files", tmp_path) == "CONNECTED 42"
