"""A pytest plugin that points kazoo's test harness at one server that is already running.

kazoo's harness (kazoo/testing/harness.py) starts its own JVMs. Loaded with
`pytest -p zczk_kazoo_shim`, this replaces the harness's cluster with one member at
$KAZOO_SERVER (host:port), so the same tests run unchanged against a real ZooKeeper or
`zczk serve`. Starting and stopping that member is left to the caller: `run()` and `stop()`
only record what the test asked, so tests that stop servers fail alike on both.
"""

import os

import kazoo.testing.harness as harness


class ExternalServer:
    """A cluster member that some other process runs."""

    def __init__(self, address):
        self.address = address
        self.host, port = address.rsplit(":", 1)
        self.client_port = int(port)
        self.running = True

    @property
    def secure_address(self):
        raise RuntimeError("the external server has no TLS port")

    def run(self):
        self.running = True

    def stop(self):
        self.running = False

    def reset(self):
        pass

    def destroy(self):
        pass

    def get_logs(self, num_lines=100):
        return []


class ExternalCluster:
    """kazoo's ZookeeperCluster, for one external server."""

    def __init__(self, address):
        self._servers = [ExternalServer(address)]

    def __getitem__(self, k):
        return self._servers[k]

    def __iter__(self):
        return iter(self._servers)

    def start(self):
        for server in self._servers:
            server.run()

    def stop(self):
        pass

    def terminate(self):
        pass

    def reset(self):
        pass

    def get_logs(self):
        return []

    def get_ssl_client_configuration(self):
        raise RuntimeError("the external server has no TLS port")


_CLUSTER = ExternalCluster(os.environ["KAZOO_SERVER"])
harness.get_global_cluster = lambda: _CLUSTER
