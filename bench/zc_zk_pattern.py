"""zc.zk's request pattern over kazoo, for when zc.zk itself cannot run.

zc.zk 2.1.0 is Python 2 only. When no Python 2.7 is available, bench/compare times this
instead: the same requests, in the same order, one synchronous round trip at a time, as
zc.zk's import_tree, export_tree and delete_recursive send them. Written for this
benchmark; it handles the tree text that bench/compare.py generates (nodes, `name : type`,
`key = literal`, `key -> path`), not every spelling zc.zk's parser accepts.
"""
import ast
import json

from kazoo.security import OPEN_ACL_UNSAFE


class Node(object):
    """One node of parsed tree text: its properties and its children by name."""

    def __init__(self):
        self.properties = {}
        self.children = {}


def parse(text):
    """Parses tree text into a root `Node` (indentation nests, as in zc.zk)."""
    root = Node()
    stack = [(-1, root)]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        line = line.strip()
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        if line.startswith('/'):
            name, _, kind = line[1:].partition(':')
            node = Node()
            if kind.strip():
                node.properties['type'] = kind.strip()
            parent.children[name.strip()] = node
            stack.append((indent, node))
        elif ' -> ' in line:
            key, target = line.split(' -> ', 1)
            parent.properties[key.strip() + ' ->'] = target.strip()
        elif '=' in line:
            key, value = line.split('=', 1)
            parent.properties[key.strip()] = ast.literal_eval(value.strip())
        else:
            raise ValueError('line %d: cannot parse %r' % (number, raw))
    return root


def encode(properties):
    """Node data as zc.zk writes it: compact JSON."""
    return json.dumps(properties, separators=(',', ':')).encode('utf-8')


def decode(data):
    """Node data back to properties (JSON objects; anything else is a string value)."""
    text = data.decode('utf-8').strip() if data else ''
    if text.startswith('{') and text.endswith('}'):
        return json.loads(text)
    return {'string_value': text} if text else {}


def import_tree(client, text, path='/', trim=None, acl=OPEN_ACL_UNSAFE):
    """Imports `text` under `path`: per node exists, then set + get_acls or create."""
    path = path.rstrip('/')
    _import(client, path, parse(text), trim, acl, True)


def _import(client, path, node, trim, acl, top=False):
    if not top:
        wanted = set(node.children)
        for name in sorted(client.get_children(path)):
            if name not in wanted and trim:
                delete_recursive(client, path + '/' + name, ignore_if_ephemeral=True)
    for name, child in sorted(node.children.items()):
        child_path = path + '/' + name
        data = encode(child.properties)
        if client.exists(child_path):
            client.set(child_path, data)
            old_acl, stat = client.get_acls(child_path)
            if list(acl) != list(old_acl):
                client.set_acls(child_path, acl, stat.aversion)
        else:
            client.create(child_path, data, acl)
        _import(client, child_path, child, trim, acl)


def delete_recursive(client, path, ignore_if_ephemeral=False):
    """Deletes depth first: get_children, then get (ephemeral?) and delete per node."""
    ephemeral_below = False
    for name in sorted(client.get_children(path)):
        ephemeral_below = delete_recursive(client, path + '/' + name) or ephemeral_below
    if ephemeral_below:
        return True
    ephemeral = bool(client.get(path)[1].ephemeralOwner)
    if ephemeral and ignore_if_ephemeral:
        return False
    if not ephemeral:
        client.delete(path)
    return ephemeral


def export_tree(client, path='/'):
    """Exports the subtree as text: get_children, then get per node, depth first."""
    result = []
    out = result.append

    def visit(node_path, indent, name):
        children = client.get_children(node_path)
        data, stat = client.get(node_path)
        if stat.ephemeralOwner:
            return
        properties = decode(data)
        kind = properties.pop('type', None)
        out(indent + '/' + name + (' : ' + kind if kind else ''))
        links = []
        for key, value in sorted(properties.items()):
            if key.endswith(' ->'):
                links.append((key, value))
            else:
                out(indent + '  %s = %r' % (key, value))
        for key, value in links:
            out(indent + '  %s %s' % (key, value))
        for child in sorted(children):
            visit(node_path.rstrip('/') + '/' + child, indent + '  ', child)

    visit(path, '', path.rsplit('/', 1)[1] or '')
    return '\n'.join(result) + '\n'
