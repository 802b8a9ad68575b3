"""A pytest plugin that points kazoo's test harness at servers that are already running.

kazoo's harness (kazoo/testing/harness.py) starts its own JVMs. Loaded with
`pytest -p zczk_kazoo_shim`, this replaces the harness's cluster with the members at
$KAZOO_SERVER (host:port, or host:port,host:port,... for an ensemble), so the same tests run
unchanged against a real ZooKeeper or `zczk serve`.

One server: starting and stopping it is left to the caller, `run()` and `stop()` only record
what the test asked, so tests that stop servers fail alike on both.

An ensemble: `stop()` and `run()` stop and start the member, through the script of
.ci/zookeeper-ensemble when $ZCZK_TEST_ENSEMBLE_CONTROL names it (a real ensemble), else with
the control words of `zczk serve --servers N` (`stop N`, `boot N`) sent to a running member.
"""

import os
import socket
import subprocess

import kazoo.testing.harness as harness


class ExternalServer:
    """A cluster member that some other process runs; `number` counts from 1."""

    def __init__(self, cluster, number, address):
        self.cluster = cluster
        self.number = number
        self.address = address
        self.host, port = address.rsplit(":", 1)
        self.client_port = int(port)
        self.running = True

    @property
    def secure_address(self):
        raise RuntimeError("the external server has no TLS port")

    def run(self):
        if not self.running and self.cluster.controlled:
            self.cluster.control("start", self.number)
        self.running = True

    def stop(self):
        if self.running and self.cluster.controlled:
            self.cluster.control("stop", self.number)
        self.running = False

    def reset(self):
        pass

    def destroy(self):
        pass

    def get_logs(self, num_lines=100):
        return []


class ExternalCluster:
    """kazoo's ZookeeperCluster, for servers some other process runs."""

    def __init__(self, addresses):
        self._servers = [ExternalServer(self, n + 1, a) for n, a in enumerate(addresses)]
        # A lone server is not ours to stop.
        self.controlled = len(self._servers) > 1
        self._script = os.environ.get("ZCZK_TEST_ENSEMBLE_CONTROL")

    def control(self, action, number):
        """Stops or starts member `number`; returns once done."""
        if self._script:
            subprocess.run([self._script, action, str(number)], check=True)
            return
        word = {"stop": "stop", "start": "boot"}[action]
        # Any running member answers the control words (the one to stop, too).
        for server in self._servers:
            if server.running:
                try:
                    answer = _word(server.host, server.client_port, "%s %d\n" % (word, number))
                except OSError:
                    continue
                if answer.startswith("error"):
                    raise RuntimeError("zczk serve: %s" % answer.strip())
                return
        raise RuntimeError("no member of zczk serve answers the control words")

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


def _word(host, port, command):
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(command.encode())
        chunks = []
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return b"".join(chunks).decode()
            chunks.append(chunk)


_CLUSTER = ExternalCluster(os.environ["KAZOO_SERVER"].split(","))
harness.get_global_cluster = lambda: _CLUSTER
