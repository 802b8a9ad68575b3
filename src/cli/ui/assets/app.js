// The zczk ui page: a tree loaded a level at a time, node details, live updates over
// Server-Sent Events, the service graph and import plans. No library, nothing fetched from
// elsewhere: every request goes to the server that served this page.
'use strict';

const TOKEN = document.querySelector('meta[name="zczk-token"]').content;
const state = { write: false, expanded: new Set(), selected: null, editing: false, source: null,
  // The providers nodes of the services the graph shows, followed while it is shown.
  graphFollow: [] };

const $ = (selector, root = document) => root.querySelector(selector);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
};

// Errors show as one line at the top, as the CLI prints them.
function showError(error) {
  const line = $('#error');
  line.textContent = String(error && error.message ? error.message : error).split('\n')[0];
  line.hidden = false;
}
function clearError() { $('#error').hidden = true; }

async function api(method, url, body) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && TOKEN) headers['x-zczk-token'] = TOKEN;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let data = null;
  try { data = JSON.parse(text); } catch (_) { /* a refusal of the server's framework: plain text */ }
  if (!response.ok) {
    const error = new Error((data && data.error) || text.split('\n')[0] || `${response.status} ${response.statusText}`);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}
const q = (path) => encodeURIComponent(path);
const childPath = (parent, name) => (parent === '/' ? '' : parent) + '/' + name;

// ---- the tree ----

function nodeItem(child) {
  const li = el('li', { className: 'node' });
  li.dataset.path = child.path;
  const row = el('div', { className: 'row' });
  const toggle = el('span', { className: 'toggle', textContent: '▸', title: 'Show the children, and follow them live' });
  toggle.addEventListener('click', () => toggleNode(li));
  const name = el('span', { className: 'name', textContent: child.name });
  name.addEventListener('click', () => select(child.path));
  row.append(toggle, name);
  li.append(row, el('ul', { className: 'kids' }));
  updateItem(li, child);
  return li;
}

function updateItem(li, child) {
  const row = li.firstChild;
  for (const old of row.querySelectorAll('.type, .count, .eph')) old.remove();
  if (child.type) row.append(el('span', { className: 'type', textContent: child.type }));
  row.append(el('span', { className: 'count' }));
  if (child.ephemeral_owner) {
    row.append(el('span', { className: 'eph', textContent: `ephemeral ${child.ephemeral_owner}`,
      title: 'An ephemeral node: it lives as long as this session' }));
  }
  setCount(li, child.children);
}

// The children count shown after a node's name (none for the root: null).
function setCount(li, count) {
  const row = li.firstChild;
  row.querySelector('.count').textContent = count > 0 ? `(${count})` : '';
  row.querySelector('.toggle').classList.toggle('empty', count === 0);
  li.dataset.children = count;
}

function itemOf(path) {
  return [...document.querySelectorAll('li.node')].find((li) => li.dataset.path === path);
}

// Fills (or refreshes) the children of an expanded node, keeping the items that stay, so that
// what is expanded below them stays expanded.
async function loadChildren(li, offset = 0) {
  const path = li.dataset.path;
  const page = await api('GET', `/api/children?path=${q(path)}&offset=${offset}`);
  const kids = li.querySelector(':scope > ul.kids');
  const existing = new Map([...kids.children].filter((k) => k.dataset.path).map((k) => [k.dataset.path, k]));
  if (offset === 0) {
    for (const [childPathKey, item] of existing) {
      if (!page.children.some((c) => c.path === childPathKey)) forget(item);
    }
    for (const more of kids.querySelectorAll(':scope > li.more-item')) more.remove();
  }
  let previous = null;
  for (const child of page.children) {
    let item = existing.get(child.path);
    if (item) {
      updateItem(item, child);
    } else {
      item = nodeItem(child);
      if (existing.size > 0) item.classList.add('fresh');
    }
    if (offset === 0) {
      if (previous) previous.after(item); else kids.prepend(item);
    } else {
      kids.append(item);
    }
    previous = item;
  }
  const shown = offset + page.children.length;
  if (shown < page.total) {
    const more = el('li', { className: 'more-item' },
      el('span', { className: 'more', textContent: `… ${page.total - shown} more` }));
    more.addEventListener('click', () => { more.remove(); loadChildren(li, shown).catch(showError); });
    kids.append(more);
  }
  li.dataset.total = page.total;
  if (li.dataset.path !== '/') setCount(li, page.total);
}

function forget(item) {
  for (const li of [item, ...item.querySelectorAll('li.node')]) state.expanded.delete(li.dataset.path);
  item.remove();
}

async function expand(li) {
  if (state.expanded.has(li.dataset.path)) return;
  state.expanded.add(li.dataset.path);
  li.querySelector(':scope > .row .toggle').textContent = '▾';
  li.classList.add('open');
  await loadChildren(li);
  connectLive();
}

function collapse(li) {
  for (const below of li.querySelectorAll('li.node')) state.expanded.delete(below.dataset.path);
  state.expanded.delete(li.dataset.path);
  li.querySelector(':scope > ul.kids').replaceChildren();
  li.classList.remove('open');
  li.querySelector(':scope > .row .toggle').textContent = '▸';
  connectLive();
}

function toggleNode(li) {
  clearError();
  if (state.expanded.has(li.dataset.path)) collapse(li); else expand(li).catch(showError);
}

// Expands the tree down to `path` (a real path) and returns its item.
async function reveal(path) {
  let li = itemOf('/');
  const names = path.split('/').filter(Boolean);
  let at = '/';
  for (const name of names) {
    await expand(li);
    at = childPath(at, name);
    let next = itemOf(at);
    // Far down a long list of children: load the pages until it shows.
    while (!next && li.querySelector(':scope > ul.kids > li.more-item')) {
      const more = li.querySelector(':scope > ul.kids > li.more-item');
      more.remove();
      await loadChildren(li, li.querySelectorAll(':scope > ul.kids > li.node').length);
      next = itemOf(at);
    }
    if (!next) return null;
    li = next;
  }
  return li;
}

// ---- node details ----

async function select(path) {
  clearError();
  try {
    const node = await api('GET', `/api/node?path=${q(path)}`);
    state.selected = node.path;
    state.editing = false;
    showNode(node);
    for (const row of document.querySelectorAll('.row.selected')) row.classList.remove('selected');
    const li = itemOf(node.path) || await reveal(node.path);
    if (li) {
      li.firstChild.classList.add('selected');
      li.firstChild.scrollIntoView({ block: 'nearest' });
    }
    connectLive();
  } catch (error) {
    showError(error);
  }
}

function valueText(value) { return JSON.stringify(value); }

function showNode(node, notice) {
  state.shown = JSON.stringify(node);
  const box = $('#details');
  box.dataset.path = node.path;
  box.dataset.version = node.version;
  const facts = el('div', { className: 'facts' },
    el('span', { textContent: node.type ? `type ${node.type}` : 'no type' }),
    el('span', { textContent: `${node.children} ${node.children === 1 ? 'child' : 'children'}` }),
    el('span', { textContent: `data version ${node.version}` }));
  if (node.ephemeral_owner) facts.append(el('span', { className: 'eph', textContent: `ephemeral, owner session ${node.ephemeral_owner}` }));
  const table = el('table', { className: 'props' });
  for (const entry of node.entries) table.append(entryRow(entry));
  if (node.entries.length === 0) table.append(el('tr', {}, el('td', { className: 'hint', textContent: 'no properties' })));
  const actions = el('div', { className: 'actions' });
  const statButton = el('button', { textContent: 'Stat', id: 'stat' });
  statButton.addEventListener('click', () => showStat(node.path));
  actions.append(statButton);
  if (state.write) {
    const edit = el('button', { textContent: 'Edit properties', id: 'edit' });
    edit.addEventListener('click', () => startEdit(node));
    actions.append(edit);
  }
  box.replaceChildren(el('h2', { textContent: node.path }), facts);
  if (notice) box.append(el('div', { className: 'notice', textContent: notice }));
  box.append(table, actions, el('div', { id: 'stat-box' }));
}

function entryRow(entry) {
  const tr = el('tr');
  tr.dataset.name = entry.name;
  tr.dataset.kind = entry.kind;
  const key = el('td', { className: 'key', textContent: entry.name });
  const value = el('td', { className: 'val' });
  if (entry.kind === 'node link') {
    key.append(el('span', { className: 'kind node-link', textContent: '->' }));
    value.append(`${entry.value} `);
    if (entry.resolved) {
      const follow = el('a', { className: 'follow', textContent: `→ ${entry.resolved}` });
      follow.dataset.target = entry.resolved;
      follow.addEventListener('click', () => select(entry.resolved));
      value.append(follow);
    } else {
      value.append(el('span', { className: 'bad', textContent: entry.error }));
    }
  } else if (entry.kind === 'property link') {
    key.append(el('span', { className: 'kind property-link', textContent: '=>', title: `from ${entry.target}` }));
    if (entry.error) value.append(el('span', { className: 'bad', textContent: entry.error }));
    else if (entry.shadowed) value.append(el('span', { className: 'hint', textContent: `${entry.target} (a property of the same name wins)` }));
    else value.append(valueText(entry.value), el('span', { className: 'hint', textContent: `  ⇐ ${entry.target}` }));
  } else {
    value.append(valueText(entry.value));
  }
  tr.append(key, value);
  return tr;
}

async function showStat(path) {
  try {
    const stat = await api('GET', `/api/stat?path=${q(path)}`);
    const table = el('table', { className: 'stat' });
    for (const [name, value] of Object.entries(stat)) {
      if (name === 'path') continue;
      table.append(el('tr', {}, el('td', { textContent: name }), el('td', { textContent: value === null ? '0' : String(value) })));
    }
    $('#stat-box').replaceChildren(table);
  } catch (error) {
    showError(error);
  }
}

function startEdit(node) {
  state.editing = true;
  const text = el('textarea', { id: 'edit-text', rows: 12, spellcheck: false,
    value: JSON.stringify(node.properties, null, 2) });
  const save = el('button', { id: 'save', textContent: 'Save' });
  const cancel = el('button', { textContent: 'Cancel' });
  const box = $('#details');
  const version = Number(box.dataset.version);
  save.addEventListener('click', () => saveEdit(node.path, version, text.value));
  cancel.addEventListener('click', () => select(node.path));
  box.append(el('p', { className: 'hint', textContent: 'The properties as stored, as JSON (links as "name ->" and "name =>" keys). Saved only if nobody changed the node meanwhile.' }),
    text, el('div', { className: 'actions' }, save, cancel));
}

async function saveEdit(path, version, text) {
  clearError();
  let properties;
  try {
    properties = JSON.parse(text);
    if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) throw new Error('the properties must be a JSON object');
  } catch (error) {
    showError(`not saved: ${error.message}`);
    return;
  }
  try {
    const node = await api('POST', '/api/properties', { path, version, properties });
    state.editing = false;
    showNode(node, 'Saved.');
  } catch (error) {
    if (error.status === 409 && error.data && error.data.current) {
      // Someone else changed the node: show theirs, keep the edit for the user to redo.
      state.editing = false;
      showNode(error.data.current, `${error.message}. Their version is shown; your edit is below.`);
      startEdit(error.data.current);
      $('#edit-text').value = text;
    }
    showError(error);
  }
}

// ---- live updates ----

// Follows what the page shows: a new stream when that changes (the old one is closed).
function connectLive() {
  const following = [...new Set([...state.expanded, ...(graphShown() ? state.graphFollow : [])])].sort();
  let url = `/api/events?children=${q(JSON.stringify(following))}`;
  if (state.selected) url += `&node=${q(state.selected)}`;
  if (state.source && state.sourceUrl === url && state.source.readyState !== EventSource.CLOSED) return;
  if (state.source) state.source.close();
  const source = new EventSource(url);
  state.source = source;
  state.sourceUrl = url;
  const indicator = $('#live');
  source.addEventListener('open', () => {
    indicator.textContent = '● live';
    indicator.className = 'on';
    document.body.dataset.following = JSON.stringify(following);
  });
  source.addEventListener('error', () => {
    indicator.textContent = '○ reconnecting';
    indicator.className = '';
  });
  source.addEventListener('children', (message) => {
    const { path, deleted } = JSON.parse(message.data);
    if (graphShown() && state.graphFollow.includes(path)) redrawGraph();
    const li = itemOf(path);
    if (!li || !state.expanded.has(path)) return;
    if (deleted) {
      if (path !== '/') { forget(li); connectLive(); }
      return;
    }
    loadChildren(li).catch(showError);
  });
  source.addEventListener('node', (message) => {
    const { path, deleted } = JSON.parse(message.data);
    if (path !== state.selected) return;
    if (deleted) {
      $('#details').replaceChildren(el('p', { className: 'notice', textContent: `${path} was deleted.` }));
      state.selected = null;
      return;
    }
    if (state.editing) {
      const box = $('#details');
      if (!box.querySelector('.notice.meanwhile')) {
        box.prepend(el('div', { className: 'notice meanwhile', textContent: 'This node changed on the server while you edit it: saving will be refused.' }));
      }
      return;
    }
    api('GET', `/api/node?path=${q(path)}`).then((node) => {
      // The stream's first event is the state already shown: nothing to redraw then.
      if (!state.editing && state.selected === path && JSON.stringify(node) !== state.shown) showNode(node);
    }).catch(showError);
  });
}

// ---- the service graph ----

function graphShown() { return !$('#tab-graph').hidden; }

// Draws the graph again (once for a burst of events) when a service's providers change.
let redraw = null;
function redrawGraph() {
  clearTimeout(redraw);
  redraw = setTimeout(showGraph, 100);
}

async function showGraph() {
  clearError();
  try {
    const graph = await api('GET', '/api/graph');
    const doc = new DOMParser().parseFromString(graph.svg, 'image/svg+xml');
    const svg = doc.documentElement;
    if (svg.nodeName !== 'svg') throw new Error('the graph could not be drawn');
    const box = $('#graph');
    box.replaceChildren(document.importNode(svg, true));
    const follow = Object.keys(graph.providers).map((service) => childPath(service, 'providers')).sort();
    state.graphFollow = follow;
    connectLive();
    for (const text of box.querySelectorAll('svg text')) {
      const path = text.textContent.trim();
      // Edges have (empty) labels too.
      if (!path) continue;
      const count = graph.providers[path];
      text.classList.add('service');
      text.dataset.path = path;
      text.addEventListener('click', () => { showTab('tree'); select(path); });
      const rect = text.previousElementSibling && text.previousElementSibling.querySelector('rect');
      if (count === undefined || !rect) continue;
      const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
      title.textContent = `${path}: ${count} provider${count === 1 ? '' : 's'}`;
      text.append(title);
      const badge = document.createElementNS('http://www.w3.org/2000/svg', 'text');
      // Above the box's right corner, clear of the arrows that meet it in the middle.
      badge.setAttribute('x', Number(rect.getAttribute('x')) + Number(rect.getAttribute('width')) - 4);
      badge.setAttribute('y', Number(rect.getAttribute('y')) - 4);
      badge.classList.add('badge');
      badge.dataset.service = path;
      badge.textContent = count === 0 ? 'no providers' : `${count} provider${count === 1 ? '' : 's'}`;
      if (count === 0) { badge.classList.add('idle'); rect.classList.add('idle'); }
      text.after(badge);
    }
  } catch (error) {
    showError(error);
  }
}

// ---- import plans ----

function showPlan(lines, status) {
  const plan = $('#plan');
  plan.replaceChildren();
  for (const line of lines) {
    let kind = 'change';
    if (/^add \/|add (property|link) /.test(line)) kind = 'add';
    else if (/^would delete|remove (property|link) |^Not deleting|not deleted/.test(line)) kind = 'remove';
    else if (/^extra path|^wouldn't delete/.test(line)) kind = 'extra';
    const mark = { add: '+ ', remove: '- ', change: '~ ', extra: '? ' }[kind];
    plan.append(el('div', { className: kind, textContent: mark + line }));
  }
  $('#plan-status').textContent = status;
}

async function importTree(apply) {
  clearError();
  const body = { text: $('#import-text').value, path: $('#import-path').value || '/' };
  try {
    const result = await api('POST', apply ? '/api/import/apply' : '/api/import/preview', body);
    const n = result.lines.length;
    showPlan(result.lines, apply
      ? `Applied.${n ? '' : ' Nothing to report.'}`
      : (n ? `Importing would make these changes (nothing written yet):` : 'The tree already matches: importing would change nothing.'));
  } catch (error) {
    $('#plan-status').textContent = '';
    showError(error);
  }
}

// ---- tabs and start ----

function showTab(name) {
  for (const button of document.querySelectorAll('nav button')) button.classList.toggle('active', button.dataset.tab === name);
  for (const tab of document.querySelectorAll('section.tab')) tab.hidden = tab.id !== `tab-${name}`;
  if (name === 'graph') showGraph();
  // Follow the services' providers only while the graph shows.
  else if (state.graphFollow.length) connectLive();
}

async function start() {
  for (const button of document.querySelectorAll('nav button')) button.addEventListener('click', () => showTab(button.dataset.tab));
  $('#graph-refresh').addEventListener('click', showGraph);
  $('#preview').addEventListener('click', () => importTree(false));
  $('#apply').addEventListener('click', () => importTree(true));
  $('#import-file').addEventListener('change', async (event) => {
    const file = event.target.files[0];
    if (file) $('#import-text').value = await file.text();
  });
  try {
    const info = await api('GET', '/api/info');
    state.write = info.write;
    $('#connection').textContent = info.connection;
    $('#mode').textContent = info.write ? 'read-write' : 'read-only';
    $('#mode').className = info.write ? 'write' : '';
    if (!info.write) {
      $('#apply').disabled = true;
      $('#apply').title = 'Start zczk ui with --write to apply imports';
      $('#import-mode').textContent = 'Read-only: start zczk ui with --write to apply.';
    }
    const root = nodeItem({ name: '/', path: '/', children: null, type: null, ephemeral_owner: null });
    $('#tree').append(root);
    await expand(root);
    document.body.dataset.ready = 'yes';
  } catch (error) {
    showError(error);
  }
}

start();
