"""zczk at scale: time and peak memory of each bulk step on a big tree (driven by bench/scale).

The tree: SERVICES services x 40 pools x 24 nodes (1,001 nodes per service; 1,000 services make
the 1,001,000-node tree of issue 14), 2 properties on each node. Its text is canonical (what
`zczk export` prints), so an export can be compared with it byte for byte.

Steps, each one zczk process timed whole, with its CPU time (user + system) and its peak RSS
(the kernel's maximum resident set size of the process), from /usr/bin/time; the 1-minute load
average beside each (on a shared machine the wall time follows the load, the CPU time much
less):
  server import     the tree into an empty server (at /)
  server export     / (the tree just imported), compared with the text
  server reimport   the unchanged tree (writes nothing)
  raw create        the server's own limit: the same nodes (same paths under /raw, same data)
                    created by a bare zookeeper-client program, 100 creates per multi, many
                    requests in flight, no reading, no planning
  raw read          the same program reading every node's data back (multiRead of 100)
  mem import        the tree into `mem:` (the in-process emulator, empty)
  file import       the tree into a new `file:` store; its size on disk
  file export       / of that store, compared with the text
  file get          one node of that store

  python3 bench/scale.py generate --nodes N OUT       writes the tree text (and OUT.raw)
  python3 bench/scale.py run --zczk BIN --raw BIN --nodes N [--only ...] --work DIR
"""
import argparse
import os
import subprocess
import sys
import time

POOLS = 40
NODES = 24


def services_for(nodes):
    return max(1, -(-nodes // (1 + POOLS * (1 + NODES))))


def generate(services, out):
    """Writes the tree text to `out` and `out.raw` (one `path<TAB>data` line per node, the data
    as zczk stores it); returns the number of nodes."""
    count = 0
    with open(out, 'w') as text, open(out + '.raw', 'w') as raw:
        for s in range(services):
            service = 'svc%04d' % s
            text.write("/%s\n  owner = 'team%d'\n  port = %d\n" % (service, s % 50, 8000 + s % 1000))
            raw.write('/%s\t{"owner":"team%d","port":%d}\n' % (service, s % 50, 8000 + s % 1000))
            count += 1
            for p in range(POOLS):
                pool = 'pool%02d' % p
                text.write("  /%s\n    region = 'eu-%d'\n    weight = %d\n" % (pool, p % 4, p))
                raw.write('/%s/%s\t{"region":"eu-%d","weight":%d}\n' % (service, pool, p % 4, p))
                count += 1
                lines = []
                for n in range(NODES):
                    address = '10.%d.%d.%d:%d' % (s % 250, p, n, 9000 + n)
                    lines.append("    /node%02d\n      address = '%s'\n      enabled = True\n"
                                 % (n, address))
                    raw.write('/%s/%s/node%02d\t{"address":"%s","enabled":true}\n'
                              % (service, pool, n, address))
                text.write(''.join(lines))
                count += NODES
    return count


def timed(argv, out=None, stdin=None):
    """Runs argv under /usr/bin/time; returns (seconds, CPU seconds, peak RSS in MB, stdout)."""
    fmt = '@scale %e %U %S %M'
    with open(stdin) if stdin else open(os.devnull) as input_:
        result = subprocess.run(['/usr/bin/time', '-f', fmt, *argv], stdin=input_,
                                stdout=out or subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = result.stderr.splitlines()
    stats = [line for line in lines if line.startswith('@scale ')]
    if result.returncode != 0 or not stats:
        sys.exit('bench/scale: %s failed:\n%s' % (' '.join(argv), result.stderr.strip()))
    _, seconds, user, system, kb = stats[-1].split()
    return float(seconds), float(user) + float(system), int(kb) / 1024, result.stdout


def load():
    return '%.2f' % os.getloadavg()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    gen = sub.add_parser('generate')
    gen.add_argument('--nodes', type=int, default=1000000)
    gen.add_argument('out')
    run = sub.add_parser('run')
    run.add_argument('--zczk', required=True)
    run.add_argument('--raw', required=True)
    run.add_argument('--nodes', type=int, default=1000000)
    run.add_argument('--only', choices=['server', 'emulator'])
    run.add_argument('--work', required=True)
    args = parser.parse_args()

    if args.command == 'generate':
        print(generate(services_for(args.nodes), args.out))
        return

    tree = os.path.join(args.work, 'tree')
    start = time.perf_counter()
    count = generate(services_for(args.nodes), tree)
    print('bench/scale: %d nodes, %d lines, %.1f MB of text (generated in %.1f s); load %s'
          % (count, count * 3, os.path.getsize(tree) / 1e6, time.perf_counter() - start, load()),
          flush=True)
    want = open(tree).read()
    rows = []

    def step(name, argv, out=None, stdin=None, note=''):
        seconds, cpu, mb, stdout = timed(argv, out=out, stdin=stdin)
        rows.append((name, seconds, cpu, mb, note, load()))
        print('  %-16s %7.2f s (CPU %6.2f s) %7.0f MB  %s' % (name, seconds, cpu, mb, note), flush=True)
        return stdout

    def same_text(path, what):
        if open(path).read() != want:
            sys.exit('bench/scale: the %s differs from the tree imported' % what)

    def zczk(zk, *argv):
        return [args.zczk, *argv, '--zk', zk]

    if args.only in (None, 'server'):
        zk = os.environ.get('ZCZK_TEST_ZOOKEEPER')
        if not zk:
            sys.exit('bench/scale: ZCZK_TEST_ZOOKEEPER is not set (run through bench/scale)')
        for _ in range(40):  # a server that just answered `ruok` may still refuse sessions
            if subprocess.run(zczk(zk, 'walk', '/zookeeper'), capture_output=True).returncode == 0:
                break
            time.sleep(0.25)
        step('server import', zczk(zk, 'import', '-q', tree, '/'))
        exported = os.path.join(args.work, 'export-server')
        with open(exported, 'w') as f:
            step('server export', zczk(zk, 'export', '/'), out=f)
        same_text(exported, 'server export')
        step('server reimport', zczk(zk, 'import', '-q', tree, '/'))
        out = step('raw create', [args.raw, 'create', zk, '/raw'], stdin=tree + '.raw')
        out += step('raw read', [args.raw, 'read', zk, '/raw'], stdin=tree + '.raw')
        if out.split() and any(int(n) != count for n in out.split()):
            sys.exit('bench/scale: the raw program did not handle every node: %s' % out)

    if args.only in (None, 'emulator'):
        step('mem import', zczk('mem:', 'import', '-q', tree, '/'))
        store = os.path.join(args.work, 'store')
        step('file import', zczk('file:' + store, 'import', '-q', tree, '/'))
        size = sum(os.path.getsize(os.path.join(args.work, f)) for f in os.listdir(args.work)
                   if f.startswith('store'))
        rows[-1] = rows[-1][:4] + ('store %.0f MB' % (size / 1e6),) + rows[-1][5:]
        print('    store on disk: %.0f MB' % (size / 1e6), flush=True)
        exported = os.path.join(args.work, 'export-file')
        with open(exported, 'w') as f:
            step('file export', zczk('file:' + store, 'export', '/'), out=f)
        same_text(exported, 'file export')
        step('file get', zczk('file:' + store, 'get', '/svc%04d/pool07/node11' % (count // 2002)))

    print()
    print('| step | time | CPU (user + sys) | peak RSS | note | load |')
    print('|---|---|---|---|---|---|')
    for name, seconds, cpu, mb, note, loadavg in rows:
        print('| %s | %.2f s | %.2f s | %.0f MB | %s | %s |' % (name, seconds, cpu, mb, note, loadavg))


if __name__ == '__main__':
    main()
