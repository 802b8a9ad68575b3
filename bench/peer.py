"""The Python side of bench/compare: zc.zk (or its request pattern over kazoo) as a worker.

Runs under Python 2.7 (real zc.zk 2.1.0) or Python 3 (the fallback in zc_zk_pattern.py).
It connects once, then reads one JSON command per line on stdin and answers one JSON line
on stdout, so connecting and starting Python are not timed: only the zc.zk call is.

    python peer.py --impl zc.zk|pattern --zk HOST:PORT     # a real ZooKeeper
    python peer.py --impl zc.zk --mock                     # zc.zk.testing's in-process mock

Commands: {"op": "import", "file": F, "path": P, "trim": bool}, {"op": "export", "path": P,
"out": F}, {"op": "delete", "path": P}, and with --mock {"op": "reset", "file": F or null}
(a fresh mock holding an empty P, with F imported into it untimed) and {"op": "count",
"path": P} (nodes in the subtree, for checking that a step did its work).
"""
import argparse
import io
import json
import os
import sys
import time

MOCK_CONNECTION = 'zookeeper.example.com:2181'


def read(path):
    with io.open(path, encoding='utf-8') as f:
        return f.read()


def write(path, text):
    with io.open(path, 'w', encoding='utf-8') as f:
        f.write(text if isinstance(text, type(u'')) else text.decode('utf-8'))


class ZcZk(object):
    """zc.zk itself: ZooKeeper(conn).import_tree / export_tree / delete_recursive."""

    def __init__(self, connection):
        import zc.zk
        self.zk = zc.zk.ZooKeeper(connection)

    def import_tree(self, text, path, trim):
        self.zk.import_tree(text, path, trim=trim)

    def export_tree(self, path):
        return self.zk.export_tree(path)

    def delete_recursive(self, path):
        self.zk.delete_recursive(path)

    def count(self, path):
        return sum(1 for _ in self.zk.walk(path))

    def close(self):
        self.zk.close()


class Pattern(object):
    """zc.zk's requests, one round trip at a time, over kazoo (zc_zk_pattern.py)."""

    def __init__(self, connection):
        import kazoo.client
        import zc_zk_pattern
        self.pattern = zc_zk_pattern
        self.client = kazoo.client.KazooClient(connection, timeout=10.0)
        self.client.start()

    def import_tree(self, text, path, trim):
        self.pattern.import_tree(self.client, text, path, trim=trim)

    def export_tree(self, path):
        return self.pattern.export_tree(self.client, path)

    def delete_recursive(self, path):
        self.pattern.delete_recursive(self.client, path)

    def count(self, path):
        return 1 + sum(self.count(path + '/' + c) for c in self.client.get_children(path))

    def close(self):
        self.client.stop()


class Mock(object):
    """zc.zk on zc.zk.testing's mock ZooKeeper, in this process."""

    class Test(object):
        """What zc.zk.testing.setUp needs of a test: somewhere to keep its globals."""

        def __init__(self):
            self.globs = {}

    def __init__(self):
        import zc.zk.testing
        self.testing = zc.zk.testing
        self.test = None
        self.impl = None

    def reset(self, path, text):
        if self.test is not None:
            self.impl.close()
            self.testing.tearDown(self.test)
        self.test = self.Test()
        self.testing.setUp(self.test, tree=path + '\n')
        self.impl = ZcZk(MOCK_CONNECTION)
        if text is not None:
            self.impl.import_tree(text, path, False)

    def __getattr__(self, name):
        return getattr(self.impl, name)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--impl', choices=['zc.zk', 'pattern'], required=True)
    parser.add_argument('--zk')
    parser.add_argument('--mock', action='store_true')
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

    # zc.zk prints (e.g. extras it did not trim): keep stdout for the answers.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), 'w')
    sys.stdout = sys.stderr

    if args.mock:
        peer = Mock()
    elif args.impl == 'zc.zk':
        peer = ZcZk(args.zk)
    else:
        peer = Pattern(args.zk)

    for line in iter(sys.stdin.readline, ''):
        command = json.loads(line)
        op = command['op']
        answer = {}
        if op == 'reset':
            peer.reset(command['path'], read(command['file']) if command['file'] else None)
        elif op == 'count':
            answer['count'] = peer.count(command['path'])
        else:
            start = time.time()
            if op == 'import':
                peer.import_tree(read(command['file']), command['path'], command['trim'])
            elif op == 'export':
                write(command['out'], peer.export_tree(command['path']))
            elif op == 'delete':
                peer.delete_recursive(command['path'])
            else:
                raise ValueError('unknown op %r' % op)
            answer['seconds'] = time.time() - start
        answers.write(json.dumps(answer) + '\n')
        answers.flush()
    peer.close()


if __name__ == '__main__':
    main()
