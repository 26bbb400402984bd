"""A real Kubernetes API server on 127.0.0.1 (etcd plus kube-apiserver), as Kubernetes' own envtest starts one.

The Kubernetes runtime's manifests are checked against the CRD schemas offline, but only a
real server evaluates what a schema cannot say: CEL rules (`x-kubernetes-validations`),
pruning, defaulting, server-side apply and deletes. No kubelet, scheduler or controller
runs, so pods never start and no operator reconciles anything: what is checked is what
the API server itself accepts, stores and returns.

`running_kube_apiserver` starts them from the toolchain cache (`kafka-migration setup
kubernetes` builds them from their Go modules), each in a process group of its own, plus
kube-controller-manager running its garbage collector only: the kubernetes provider deletes
with foreground propagation, which puts a `foregroundDeletion` finalizer on the object that
only the garbage collector removes (without it every delete hangs until the provider's
10-minute timeout, as it would on a cluster without a controller manager). They run with:
- a CA and a serving certificate for 127.0.0.1 (`tls`, the same CA code as secure local
  Kafka nodes), which the kubeconfig trusts;
- a service-account signing key (the server refuses to start without one);
- a static token of a `system:masters` user (RBAC authorizes it for everything);
- a kubeconfig with a named context, written 0600 (it holds the token).

Everything stays in the caller's folder afterwards (logs, certificates, etcd's data), so a
failed test can be read after the fact; both process groups are stopped on exit, also
when the body raised.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kafka_migration.local_runtime.paths import cache_dir, pinned_versions
from kafka_migration.local_runtime.ports import free_ports
from kafka_migration.local_runtime.private_files import write_private
from kafka_migration.local_runtime.service_process import log_tail, start_service, stop_group
from kafka_migration.local_runtime.tls import ensure_ca, issue_node_certificate

HOST = "127.0.0.1"
ADMIN_USER = "kafkamig-admin"
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
"""Required by the server; no Service gets a routable address here (nothing proxies them)."""
SETUP_HINT = "run `make setup TOOLCHAIN_EXTRAS=kubernetes` (or `kafka-migration setup kubernetes`)"
TOO_MANY_REQUESTS = 429


class KubeApiError(RuntimeError):
    """An API request the server answered with an error status (the status and its message are kept)."""

    def __init__(self, method: str, path: str, status: int, body: dict[str, Any], retry_after_s: float = 1.0) -> None:
        self.status = status
        self.body = body
        self.retry_after_s = retry_after_s
        super().__init__(f"{method} {path}: {status} {body.get('reason', '')}: {body.get('message', body)}")


def etcd_binary() -> Path:
    """The etcd binary `toolchain/build-etcd.sh` left in the cache."""
    return cache_dir() / f"etcd-{pinned_versions()['ETCD_VERSION']}" / "bin" / "etcd"


def kube_apiserver_binary() -> Path:
    """The kube-apiserver binary `toolchain/build-kube-apiserver.sh` left in the cache."""
    return cache_dir() / f"kubernetes-{pinned_versions()['KUBE_APISERVER_VERSION']}" / "bin" / "kube-apiserver"


def controller_manager_binary() -> Path:
    """The kube-controller-manager binary `toolchain/build-kube-apiserver.sh` builds beside kube-apiserver."""
    return kube_apiserver_binary().with_name("kube-controller-manager")


def require_binaries() -> tuple[Path, Path, Path]:
    """(etcd, kube-apiserver, kube-controller-manager); a missing one fails with the command that builds it."""
    found = (etcd_binary(), kube_apiserver_binary(), controller_manager_binary())
    missing = [str(p) for p in found if not os.access(p, os.X_OK)]
    if missing:
        raise FileNotFoundError(f"the test API server is not built (missing: {', '.join(missing)}); {SETUP_HINT}")
    return found


@dataclass(frozen=True)
class KubeApiServer:
    """A started API server: where it listens, how to authenticate, and where its files are."""

    url: str
    token: str = field(repr=False)
    ca_file: Path
    """The CA that signed the serving certificate (what the kubeconfig trusts)."""
    kubeconfig: Path
    context: str
    """The kubeconfig's context naming this server and its admin user."""
    workdir: Path
    etcd_log: Path
    apiserver_log: Path
    controller_manager_log: Path

    def client(self) -> KubeClient:
        """A client authenticated as the `system:masters` admin of the token file."""
        return KubeClient(self.url, self.token, self.ca_file)


class KubeClient:
    """Plain HTTPS calls to the API server (JSON in, JSON out), enough for tests to read back and seed objects.

    The official `kubernetes` Python client is not a dependency of the project; these calls
    go through the same REST paths, with resource names found by discovery, so any kind
    the server serves (CRDs included) can be read without a table of plurals.
    """

    def __init__(self, url: str, token: str, ca_file: Path, timeout_s: float = 30) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._tls = ssl.create_default_context(cafile=str(ca_file))
        self._timeout_s = timeout_s
        self._plurals: dict[tuple[str, str], str] = {}

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The decoded JSON answer; raises KubeApiError on an error status (404 included).

        429 (a kind's storage still initializing right after its CRD was served, or the
        server shedding load) is retried after the delay it asks for, as client-go does.
        """
        deadline = time.monotonic() + self._timeout_s
        while True:
            try:
                return self._request_once(method, path, body)
            except KubeApiError as err:
                if err.status != TOO_MANY_REQUESTS or time.monotonic() > deadline:
                    raise
                time.sleep(min(err.retry_after_s, 1.0))

    def _request_once(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310 - an https URL of ours
        req.add_header("Authorization", f"Bearer {self._token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self._tls, timeout=self._timeout_s) as resp:  # noqa: S310
                text = resp.read().decode()
        except urllib.error.HTTPError as err:
            text = err.read().decode(errors="replace")
            try:
                status_body = json.loads(text)
            except ValueError:
                status_body = {"message": text}
            retry_after = err.headers.get("Retry-After", "1")
            raise KubeApiError(
                method, path, err.code, status_body, float(retry_after) if retry_after.isdigit() else 1.0
            ) from None
        return json.loads(text) if text.strip().startswith(("{", "[")) else {"text": text}

    def plural(self, api_version: str, kind: str) -> str:
        """The resource name the server serves `kind` of `api_version` under (`networkpolicies`, `kafkas`)."""
        key = (api_version, kind)
        if key not in self._plurals:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            for resource in self.request("GET", base)["resources"]:
                if "/" not in resource["name"]:
                    self._plurals[(api_version, resource["kind"])] = resource["name"]
        if key not in self._plurals:
            raise KeyError(f"the server serves no {kind} in {api_version}")
        return self._plurals[key]

    def collection_path(self, api_version: str, kind: str, namespace: str | None) -> str:
        """`/api/v1/namespaces/<ns>/configmaps`, `/apis/<group>/<version>/<plural>` for cluster-scoped kinds."""
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        scope = f"/namespaces/{namespace}" if namespace else ""
        return f"{base}{scope}/{self.plural(api_version, kind)}"

    def object_path(self, obj: dict[str, Any]) -> str:
        """The path of the object a manifest names."""
        meta = obj["metadata"]
        return f"{self.collection_path(obj['apiVersion'], obj['kind'], meta.get('namespace'))}/{meta['name']}"

    def get(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """The server's copy of the object a manifest names, or None when it does not exist."""
        try:
            return self.request("GET", self.object_path(obj))
        except KubeApiError as err:
            if err.status == 404:
                return None
            raise

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """POST the object to its collection: what the server stored (after defaulting and pruning)."""
        meta = obj["metadata"]
        return self.request("POST", self.collection_path(obj["apiVersion"], obj["kind"], meta.get("namespace")), obj)

    def delete(self, obj: dict[str, Any]) -> None:
        """Delete the object a manifest names; a missing one is fine."""
        with contextlib.suppress(KeyError):
            try:
                self.request("DELETE", self.object_path(obj))
            except KubeApiError as err:
                if err.status != 404:
                    raise

    def list(self, api_version: str, kind: str, namespace: str | None, label_selector: str = "") -> list[dict]:
        """The objects of a kind (in a namespace), optionally filtered by a label selector."""
        path = self.collection_path(api_version, kind, namespace)
        query = f"?labelSelector={urllib.parse.quote(label_selector)}" if label_selector else ""
        items: list[dict[str, Any]] = self.request("GET", path + query)["items"]
        return items

    def install_crds(self, crds: Sequence[dict[str, Any]], timeout_s: float = 60) -> None:
        """Create the CRDs and wait until each is Established and its kind is in discovery (then it is served)."""
        for crd in crds:
            self.create(crd)
        deadline = time.monotonic() + timeout_s
        for crd in crds:
            path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}"
            kind = crd["spec"]["names"]["kind"]
            while True:
                conditions = {
                    c["type"]: c["status"] for c in self.request("GET", path).get("status", {}).get("conditions", [])
                }
                if conditions.get("Established") == "True" and self._served(crd, kind):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"CRD {crd['metadata']['name']} not served after {timeout_s}s: {conditions}")
                time.sleep(0.2)

    def _served(self, crd: dict[str, Any], kind: str) -> bool:
        """Whether discovery lists `kind` in every served version of the CRD's group."""
        group = crd["spec"]["group"]
        for version in (v["name"] for v in crd["spec"]["versions"] if v.get("served")):
            self._plurals = {k: v for k, v in self._plurals.items() if k[0] != f"{group}/{version}"}
            try:
                self.plural(f"{group}/{version}", kind)
            except (KeyError, KubeApiError):
                return False
        return True


def _service_account_keys(private: Path, public: Path) -> None:
    """The key pair the server signs service-account tokens with (the server starts only with one)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_private(private, pem.decode())
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def write_kubeconfig(path: Path, url: str, ca_file: Path, token: str, context: str) -> None:
    """A kubeconfig with one cluster, one user and one context (current), 0600 since it holds the token."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": url, "certificate-authority": str(ca_file)}}],
        "users": [{"name": ADMIN_USER, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": ADMIN_USER}}],
        "current-context": context,
    }
    write_private(path, json.dumps(config, indent=2))  # JSON is YAML: every kubeconfig reader takes it


def etcd_args(workdir: Path, client_port: int, peer_port: int) -> list[str]:
    """A single-member etcd on loopback, without fsync (a test store: speed over durability)."""
    client, peer = f"http://{HOST}:{client_port}", f"http://{HOST}:{peer_port}"
    return [
        "--name=default",
        f"--data-dir={workdir / 'etcd-data'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=default={peer}",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def apiserver_args(workdir: Path, port: int, etcd_port: int, cert: Path, key: Path) -> list[str]:
    """Flags as envtest sets them: loopback only, token auth, RBAC, no ServiceAccount admission (no controller)."""
    return [
        f"--bind-address={HOST}",
        f"--advertise-address={HOST}",
        f"--secure-port={port}",
        f"--etcd-servers=http://{HOST}:{etcd_port}",
        f"--tls-cert-file={cert}",
        f"--tls-private-key-file={key}",
        f"--cert-dir={workdir / 'certs'}",
        f"--token-auth-file={workdir / 'tokens.csv'}",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={workdir / 'service-account.pub'}",
        f"--service-account-signing-key-file={workdir / 'service-account.key'}",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
        "--endpoint-reconciler-type=none",
        "--profiling=false",
    ]


def controller_manager_args(kubeconfig: Path) -> list[str]:
    """The garbage collector alone, talking to the server through the admin kubeconfig, serving nothing itself."""
    return [
        f"--kubeconfig={kubeconfig}",
        "--controllers=garbagecollector",
        "--leader-elect=false",
        "--secure-port=0",
        "--concurrent-gc-syncs=5",
    ]


def _wait_garbage_collector(client: KubeClient, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Until a ConfigMap deleted with foreground propagation is gone: the collector has synced and works."""
    probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kafkamig-gc-probe", "namespace": "default"}}
    client.create(probe)
    foreground = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Foreground"}
    client.request("DELETE", client.object_path(probe), foreground)
    deadline = time.monotonic() + timeout_s
    while client.get(probe) is not None:
        if proc.poll() is not None:
            raise RuntimeError(f"kube-controller-manager exited ({proc.returncode}); log {log}:\n{log_tail(log)}")
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the garbage collector did not finish a foreground deletion in {timeout_s:.0f}s; log {log}:\n"
                f"{log_tail(log)}"
            )
        time.sleep(0.2)


def _wait_ready(
    server: KubeApiServer, procs: dict[str, tuple[subprocess.Popen[bytes], Path]], timeout_s: float
) -> None:
    """Until `/readyz` answers 200; fails early, naming the log, when a process exits or time runs out."""
    client = server.client()
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while True:
        for name, (proc, log) in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}) while starting; log {log}:\n{log_tail(log)}")
        try:
            if client.request("GET", "/readyz").get("text", "").strip() == "ok":
                return
        except KubeApiError as err:
            last = str(err)
        except OSError as err:  # refused while it binds, or TLS not up yet
            last = str(err)
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the API server at {server.url} was not ready after {timeout_s:.0f}s ({last}); "
                f"log {server.apiserver_log}:\n{log_tail(server.apiserver_log)}\n(etcd's log: {server.etcd_log})"
            )
        time.sleep(0.25)


@contextlib.contextmanager
def running_kube_apiserver(
    workdir: Path,
    context: str = "kafkamig-test",
    crds: Sequence[dict[str, Any]] = (),
    ready_timeout_s: float = 90,
) -> Iterator[KubeApiServer]:
    """Start etcd, kube-apiserver and the garbage collector on loopback; ready when the body starts, stopped after.

    `crds` are installed (and served) before the garbage collector starts: it watches the
    kinds discovery lists at its start and picks up later ones only at its next resync
    (30 s), so an object of a later CRD deleted in between would wait for it. Raises
    FileNotFoundError with the setup command when the binaries are not built. The folder
    keeps the logs, certificates, kubeconfig and etcd's data afterwards.
    """
    etcd, apiserver, controller_manager = require_binaries()
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    ca_file = workdir / "ca.crt"
    ensure_ca(ca_file)
    serving = issue_node_certificate(ca_file, workdir / "serving", "kube-apiserver")
    _service_account_keys(workdir / "service-account.key", workdir / "service-account.pub")
    token = secrets.token_hex(24)
    write_private(workdir / "tokens.csv", f"{token},{ADMIN_USER},{ADMIN_USER}-uid,system:masters\n")
    etcd_port, peer_port, port = free_ports(3)
    url = f"https://{HOST}:{port}"
    server = KubeApiServer(
        url=url,
        token=token,
        ca_file=ca_file,
        kubeconfig=workdir / "kubeconfig",
        context=context,
        workdir=workdir,
        etcd_log=workdir / "etcd.log",
        apiserver_log=workdir / "kube-apiserver.log",
        controller_manager_log=workdir / "kube-controller-manager.log",
    )
    write_kubeconfig(server.kubeconfig, url, ca_file, token, context)
    procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    try:
        etcd_command = [str(etcd), *etcd_args(workdir, etcd_port, peer_port)]
        procs["etcd"] = (start_service(etcd_command, server.etcd_log), server.etcd_log)
        args = apiserver_args(workdir, port, etcd_port, serving.cert_file, serving.key_file)
        procs["kube-apiserver"] = (start_service([str(apiserver), *args], server.apiserver_log), server.apiserver_log)
        _wait_ready(server, procs, ready_timeout_s)
        client = server.client()
        client.install_crds(crds)
        gc_command = [str(controller_manager), *controller_manager_args(server.kubeconfig)]
        log = server.controller_manager_log
        procs["kube-controller-manager"] = (start_service(gc_command, log), log)
        _wait_garbage_collector(client, procs["kube-controller-manager"][0], log, ready_timeout_s)
        yield server
    finally:
        # Clients of etcd first: they would log its absence while stopping otherwise.
        for proc, _ in reversed(list(procs.values())):
            stop_group(proc)
