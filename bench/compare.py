"""Times zczk against zc.zk on the same trees, side by side (driven by bench/compare).

Steps, each from the same starting state every run:
  import   tree into an empty /bench
  export   /bench (the tree imported by the same tool)
  reimport the unchanged tree (nothing differs)
  trim     the tree with 10% of its nodes changed, --trim (8% properties changed, 1% leaves
           removed, 1% renamed)
  delete   -r /bench (the tree imported)

Backends: `zookeeper` (the real server in $ZCZK_TEST_ZOOKEEPER: zczk's CLI against zc.zk
or its request pattern) and `emulator` (zczk's CLI on `file:` storage against zc.zk on
zc.zk.testing's mock). zczk is timed as a whole process (start, connect, read the file,
work, exit; on `file:` also loading and saving the state file); zc.zk only around its call,
in a worker that is already connected. Both differences favour zc.zk.
"""
import argparse
import atexit
import csv
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = '/bench'
STEPS = ['import', 'export', 'reimport', 'trim', 'delete']


def generate(nodes):
    """Two tree texts (original, 10% changed) with about `nodes` nodes under /bench.

    10 services, 9 groups each, leaves under each group; 3 properties per node and a
    link on every 20th leaf. Returns (original, changed, node count, changed count).
    """
    leaves = max(1, (nodes - 100) // 90)
    original, changed = [], []
    count = changes = 0
    for s in range(10):
        head = ['/svc%02d : service' % s, "  owner = 'team%d'" % s, '  threads = %d' % (s + 1),
                '  ports = [%d, %d]' % (8000 + s, 9000 + s)]
        original += head
        changed += head
        count += 1
        for g in range(9):
            head = ['  /group%d' % g, "    color = 'c%d'" % g, '    weight = %d' % g,
                    '    tags = [%r, %r]' % ('a%d' % g, 'b%d' % s)]
            original += head
            changed += head
            count += 1
            for n in range(leaves):
                name = 'node%04d' % n
                props = ['      enabled = True', '      threads = %d' % (n % 16),
                         "      address = '10.%d.%d.%d:%d'" % (s, g, n % 250, 8000 + n)]
                link = []
                if n % 20 == 0:
                    link = ['      peer -> /bench/svc%02d/group%d' % ((s + 1) % 10, g)]
                original += ['    /' + name] + props + link
                count += 1
                if n % 10 != 0:
                    changed += ['    /' + name] + props + link
                    continue
                changes += 1
                kind = (n // 10) % 10
                if kind == 0:
                    continue  # removed: trimmed
                if kind == 1:
                    name = 'renamed%04d' % n  # one removed, one created
                else:
                    props[1] = '      threads = %d' % (n % 16 + 100)
                changed += ['    /' + name] + props + link
    return '\n'.join(original) + '\n', '\n'.join(changed) + '\n', count, changes


class Peer:
    """The Python worker (peer.py) under the given interpreter; ended when this program ends."""

    def __init__(self, python, impl, zk=None, mock=False):
        argv = [python, os.path.join(os.path.dirname(__file__), 'peer.py'), '--impl', impl]
        argv += ['--mock'] if mock else ['--zk', zk]
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        atexit.register(self.kill)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def send(self, **command):
        self.process.stdin.write(json.dumps(command) + '\n')
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            sys.exit('bench: the %s worker died on %r' % (command.get('op'), command))
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


class Zczk:
    """The zczk CLI: every call a process, timed whole."""

    def __init__(self, binary, connection):
        self.binary, self.connection = binary, connection

    def run(self, *args, stdin=None, out=None, check=True):
        start = time.perf_counter()
        result = subprocess.run([self.binary, *args, '--zk', self.connection], input=stdin,
                                stdout=out or subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - start
        if check and result.returncode != 0:
            sys.exit('bench: zczk %s failed: %s' % (' '.join(args), result.stderr.strip()))
        return seconds, result

    def count(self, path):
        """Nodes in the subtree at `path`; 0 when there is no such node."""
        _, result = self.run('walk', path, check=False)
        return len(result.stdout.split()) if result.returncode == 0 else 0

    def export(self, path, out):
        with open(out, 'w') as f:
            return self.run('export', path, out=f)[0]


def median(runs):
    return statistics.median(runs) if runs else None


def check(what, got, want):
    if got != want:
        sys.exit('bench: %s: %s nodes, expected %s' % (what, got, want))


def bench_server(args, files, want, zk):
    """Both sides against the real server; returns {(peer, step): [seconds]}."""
    zczk = Zczk(args.zczk, zk)
    runs = {}
    # A server that just answered `ruok` may still refuse sessions for a moment.
    for _ in range(40):
        if zczk.run('walk', '/zookeeper', check=False)[1].returncode == 0:
            break
        time.sleep(0.25)

    def reset(tree):
        # Untimed, with zczk (the fastest way): /bench empty, or holding `tree`.
        if zczk.count(ROOT):
            zczk.run('delete', '-r', ROOT)
        zczk.run('import', '-', '/', stdin=ROOT + '\n')
        if tree:
            zczk.run('import', '-q', tree, ROOT)

    peers = [('zczk', None)] + [(name, Peer(python, impl, zk=zk)) for name, python, impl in args.peers]
    reader = peers[1][1] if len(peers) > 1 else None

    def seen(rep, name, step):
        # On the first run, the first Python side reads back what each tool wrote (untimed):
        # every tool must leave the same tree, or the timings compare different work.
        if rep == 0 and reader:
            reader.send(op='export', path=ROOT, out=os.path.join(args.work, 'seen-%s-%s' % (step, name)))

    def same_trees():
        for step in ('import', 'trim'):
            texts = {name: open(os.path.join(args.work, 'seen-%s-%s' % (step, name))).read()
                     for name, _ in peers}
            if len(set(texts.values())) != 1:
                sys.exit('bench: after %s the tools left different trees (%s)' % (step, ', '.join(texts)))
        print('  checked: after import and after trim, every tool left the same tree (read by %s)'
              % peers[1][0], flush=True)
    for rep in range(args.reps):
        for name, peer in peers:
            def time_step(step, **command):
                if peer is None:
                    seconds = {
                        'import': lambda: zczk.run('import', files['tree'], ROOT)[0],
                        'export': lambda: zczk.export(ROOT, files['export']),
                        'reimport': lambda: zczk.run('import', files['tree'], ROOT)[0],
                        'trim': lambda: zczk.run('import', '-t', files['changed'], ROOT)[0],
                        'delete': lambda: zczk.run('delete', '-r', ROOT)[0],
                    }[step]()
                else:
                    seconds = peer.send(**command)['seconds']
                runs.setdefault((name, step), []).append(seconds)
                print('  %-9s %-8s run %d: %7.3f s' % (name, step, rep + 1, seconds), flush=True)

            reset(None)
            time_step('import', op='import', file=files['tree'], path=ROOT, trim=None)
            check(name + ' import', zczk.count(ROOT), want['tree'])
            seen(rep, name, 'import')
            time_step('export', op='export', path=ROOT, out=files['export'])
            check(name + ' export', len([line for line in open(files['export'])
                                         if line.lstrip().startswith('/')]), want['tree'])
            time_step('reimport', op='import', file=files['tree'], path=ROOT, trim=None)
            time_step('trim', op='import', file=files['changed'], path=ROOT, trim=True)
            check(name + ' trim', zczk.count(ROOT), want['changed'])
            seen(rep, name, 'trim')
            reset(files['tree'])
            time_step('delete', op='delete', path=ROOT)
            check(name + ' delete', zczk.count(ROOT), 0)
        if rep == 0 and reader:
            same_trees()
    for _, peer in peers:
        if peer:
            peer.close()
    return runs


def bench_emulator(args, files, want):
    """zczk on `file:` storage against zc.zk on its mock; returns {(peer, step): [seconds]}."""
    states = {name: os.path.join(args.work, name + '.state') for name in ('empty', 'full', 'run')}
    prepare = Zczk(args.zczk, 'file:' + states['empty'])
    prepare.run('import', '-', '/', stdin=ROOT + '\n')
    shutil.copy(states['empty'], states['full'])
    Zczk(args.zczk, 'file:' + states['full']).run('import', '-q', files['tree'], ROOT)
    zczk = Zczk(args.zczk, 'file:' + states['run'])
    mock = Peer(args.mock_python, 'zc.zk', mock=True) if args.mock_python else None
    commands = {
        'import': ('empty', ['import', files['tree'], ROOT],
                   dict(op='import', file=files['tree'], path=ROOT, trim=None)),
        'export': ('full', ['export', '-o', files['export'], ROOT],
                   dict(op='export', path=ROOT, out=files['export'])),
        'reimport': ('full', ['import', files['tree'], ROOT],
                     dict(op='import', file=files['tree'], path=ROOT, trim=None)),
        'trim': ('full', ['import', '-t', files['changed'], ROOT],
                 dict(op='import', file=files['changed'], path=ROOT, trim=True)),
        'delete': ('full', ['delete', '-r', ROOT], dict(op='delete', path=ROOT)),
    }
    after = {'import': want['tree'], 'reimport': want['tree'], 'trim': want['changed'], 'delete': 0}
    runs = {}
    for rep in range(args.reps):
        for step in STEPS:
            start, argv, command = commands[step]
            shutil.copy(states[start], states['run'])
            seconds = zczk.run(*argv)[0]
            runs.setdefault(('zczk', step), []).append(seconds)
            if step in after:
                check('zczk emulator ' + step, zczk.count(ROOT), after[step])
            line = '  emulator %-8s run %d: zczk %7.3f s' % (step, rep + 1, seconds)
            if mock:
                mock.send(op='reset', path=ROOT,
                          file=None if start == 'empty' else files['tree'])
                seconds = mock.send(**command)['seconds']
                runs.setdefault(('zc.zk', step), []).append(seconds)
                if step in after:
                    check('zc.zk mock ' + step, mock.send(op='count', path=ROOT)['count'],
                          after[step])
                line += ', zc.zk mock %7.3f s' % seconds
            print(line, flush=True)
    if mock:
        mock.close()
    return runs


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--zczk', required=True, help='the zczk release binary')
    parser.add_argument('--peer', action='append', default=[], metavar='NAME=PYTHON:IMPL',
                        help='a Python side against the real server (impl zc.zk or pattern)')
    parser.add_argument('--mock-python', help='a Python that runs zc.zk (for its mock)')
    parser.add_argument('--nodes', type=int, default=10000)
    parser.add_argument('--reps', type=int, default=3)
    parser.add_argument('--only', choices=['zookeeper', 'emulator'])
    parser.add_argument('--results', required=True, help='the folder for the CSV')
    parser.add_argument('--work', required=True, help='a scratch folder')
    args = parser.parse_args()
    args.peers = []
    for spec in args.peer:
        name, rest = spec.split('=', 1)
        python, impl = rest.rsplit(':', 1)
        args.peers.append((name, python, impl))

    original, changed, count, changes = generate(args.nodes)
    files = {name: os.path.join(args.work, name) for name in ('tree', 'changed', 'export')}
    for name, text in (('tree', original), ('changed', changed)):
        with open(files[name], 'w') as f:
            f.write(text)
    removed = original.count('\n    /node') - changed.count('\n    /node')
    want = {'tree': count + 1, 'changed': count + 1 - removed + changed.count('/renamed')}
    print('bench: %d nodes under %s (3 properties each, %d links); %d changed for trim; '
          '%d run(s) per step' % (count, ROOT, original.count(' -> '), changes, args.reps),
          flush=True)

    rows = []
    zk = os.environ.get('ZCZK_TEST_ZOOKEEPER')
    if args.only in (None, 'zookeeper'):
        if not zk:
            sys.exit('bench: ZCZK_TEST_ZOOKEEPER is not set (run through bench/compare)')
        print('bench: real ZooKeeper at %s' % zk, flush=True)
        runs = bench_server(args, files, want, zk)
        for name, _, impl in args.peers:
            rows += table_rows('zookeeper', name, impl, runs)
    if args.only in (None, 'emulator'):
        print('bench: emulator (zczk file: storage) vs zc.zk.testing mock', flush=True)
        runs = bench_emulator(args, files, want)
        rows += table_rows('emulator', 'zc.zk' if args.mock_python else None, 'mock', runs)

    print()
    print('%-9s %-8s %-22s %10s %10s %8s' % ('backend', 'step', 'peer', 'peer s', 'zczk s',
                                             'peer/zczk'))
    for row in rows:
        print('%-9s %-8s %-22s %10s %10s %8s' % (
            row['backend'], row['step'], row['peer'], fmt(row['peer_median_s'], '%.3f'),
            fmt(row['zczk_median_s'], '%.3f'), fmt(row['ratio'], '%.1fx')))
    os.makedirs(args.results, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
    path = os.path.join(args.results, 'compare-%s.csv' % stamp)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            row.update(nodes=count, reps=args.reps, machine=machine())
            writer.writerow(row)
    print('\nbench: wrote %s' % path)


def table_rows(backend, name, impl, runs):
    rows = []
    for step in STEPS:
        peer = runs.get((name, step), [])
        mine = runs[('zczk', step)]
        p, z = median(peer), median(mine)
        rows.append({
            'backend': backend, 'step': step,
            'peer': (name + ' mock' if impl == 'mock' else name) if name else 'none (no zc.zk)',
            'peer_median_s': p, 'zczk_median_s': z, 'ratio': p / z if p and z else None,
            'peer_runs': ' '.join('%.3f' % s for s in peer),
            'zczk_runs': ' '.join('%.3f' % s for s in mine),
            'nodes': None, 'reps': None, 'machine': None,
        })
    return rows


def fmt(value, spec):
    return spec % value if value is not None else 'n/a'


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return '%s, %d CPUs, %s' % (cpu, os.cpu_count(), platform.platform())


if __name__ == '__main__':
    main()
