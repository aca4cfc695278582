// The web app: wires the page to the wasm peer (peer-wasm's `Client`). No framework; all logic about files,
// peers and pieces is in the wasm. The page contract used by the browser tests is in docs/ARCHITECTURE.md.
import init, { Client } from './pkg/peer_wasm.js';

const $ = (selector, root = document) => root.querySelector(selector);
/** Weight of the newest sample in the smoothed speeds: ~2 s of memory at two samples a second. */
const SPEED_SMOOTHING = 0.25;
/** An object URL handed to a download is revoked after this long, in milliseconds (the browser has its copy). */
const REVOKE_AFTER_MS = 60_000;

let client = null;
/** Rows by content id: `{ el, role, name, size, last: { t, down, up }, downSpeed, upSpeed }`. */
const rows = new Map();
/** Share rows still hashing, by token. */
const hashing = new Map();

const STATUS_TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Connection to the server lost, retrying… (transfers in progress continue)',
};

const STATE_TEXT = {
  waiting: 'Waiting for someone who has this file… (keep this tab open; it starts as soon as a peer appears)',
  downloading: 'Downloading',
  complete: 'Complete: every piece verified',
  error: 'Stopped',
  paused: 'Paused: nothing is being downloaded. Resume goes on from the pieces already verified.',
  choosing: 'Choose the files to get: untick what you do not want, then “Get the ticked files”.',
};

/** Failures a Retry can help with (space freed, the other tab closed); the others need another place to open the
 * link. */
const RETRYABLE = new Set(['storage_full', 'storage']);
/** Error kinds that, with a download's id, mean it failed and stopped (said in its row, not in a banner). */
const FAILURES = new Set(['too_large', 'storage_full', 'storage']);

function formatBytes(n) {
  if (!Number.isFinite(n)) return '?';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(n < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 60) return `${Math.ceil(seconds)} s left`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min left`;
  return `${(seconds / 3600).toFixed(1)} h left`;
}

function plural(n, word) { return `${n} ${word}${n === 1 ? '' : 's'}`; }

function showError(message, kind = 'error') {
  const box = $('#errors');
  for (const existing of box.children) {
    if (existing.dataset.message === message) return;
  }
  const el = document.createElement('div');
  el.className = 'error';
  el.setAttribute('data-testid', 'error');
  el.setAttribute('role', 'alert');
  el.dataset.kind = kind;
  el.dataset.message = message;
  const text = document.createElement('span');
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = 'Dismiss';
  close.addEventListener('click', () => el.remove());
  el.append(text, close);
  box.append(el);
}

function showNotice(message) {
  const el = $('#notice');
  el.textContent = message;
  el.hidden = false;
}

// ---- sharing -------------------------------------------------------------------------------------------------

/** Most files one share holds (PROTOCOL.md 1.7); a folder walk stops past it instead of listing millions. */
const MAX_FILES = 65_536;

function newShareRow(name, size, files = 0) {
  const el = $('#share-template').content.firstElementChild.cloneNode(true);
  $('.name', el).textContent = name;
  $('.size', el).textContent = files > 0 ? `${plural(files, 'file')}, ${formatBytes(size)}` : formatBytes(size);
  $('#shares').append(el);
  return el;
}

function shareFile(file) {
  return shareWith(file.name, file.size, 0, (token) => client.share(file, token));
}

/** Shares `files` (`{ path, file }`, paths under the folder) as one folder named `name`. */
function shareFolder(name, files) {
  const size = files.reduce((sum, f) => sum + f.file.size, 0);
  const share = (token) => client.shareFolder(name, files.map((f) => f.path), files.map((f) => f.file), token);
  return shareWith(name, size, files.length, share);
}

/** A share row for `name` while `share(token)` hashes it, then its link; a failure is shown and the row goes. */
async function shareWith(name, size, count, share) {
  const token = client.nextShareToken();
  const el = newShareRow(name, size, count);
  hashing.set(token, el);
  try {
    const id = await share(token);
    hashing.delete(token);
    if (rows.has(id)) {
      el.remove();
      rows.get(id).el.scrollIntoView({ block: 'nearest' });
      return;
    }
    activateShareRow(el, id, { name, size });
  } catch (e) {
    hashing.delete(token);
    el.remove();
    showError(e.message ?? String(e), e.name);
  }
}

// What the user picked or dropped: items `{ file }` (one file) or `{ name, files: [{ path, file }] }` (a folder).

function shareItems(items) {
  if (items.length === 1) {
    shareItem(items[0]);
  } else if (items.length > 1) {
    askSeveral(items);
  }
}

function shareItem(item) {
  if (item.file) {
    shareFile(item.file);
  } else if (item.files.length === 0) {
    showError(`The folder ${item.name} has no file to share.`, 'file');
  } else {
    shareFolder(item.name, item.files);
  }
}

/** Several things picked at once: one link for all (one folder holding them) or one link each, as the user says. */
function askSeveral(items) {
  const box = $('#several');
  const folders = items.filter((i) => i.files).length;
  const files = items.length - folders;
  const what = [files ? plural(files, 'file') : '', folders ? plural(folders, 'folder') : ''].filter(Boolean);
  $('#several-text').textContent = `${what.join(' and ')} picked: share them under one link, or one link each?`;
  box.hidden = false;
  const done = (action) => () => {
    box.hidden = true;
    for (const b of box.querySelectorAll('button')) b.onclick = null;
    action();
  };
  $('.one-link', box).onclick = done(() => {
    const first = items[0].file?.name ?? items[0].name;
    const entries = items.flatMap((i) => i.file
      ? [{ path: i.file.name, file: i.file }]
      : i.files.map((f) => ({ path: `${i.name}/${f.path}`, file: f.file })));
    shareFolder(`${first} and ${items.length - 1} more`, entries);
  });
  $('.per-item', box).onclick = done(() => items.forEach(shareItem));
  $('.cancel', box).onclick = done(() => {});
  $('.one-link', box).focus();
}

/** Items of a folder input's files (`webkitRelativePath`: the folder's name, then the path in it). */
function itemsOfFolderInput(files) {
  const byFolder = new Map();
  for (const file of files) {
    const [folder, ...rest] = file.webkitRelativePath.split('/');
    if (!byFolder.has(folder)) byFolder.set(folder, []);
    byFolder.get(folder).push({ path: rest.join('/'), file });
  }
  return [...byFolder].map(([name, list]) => ({ name, files: list }));
}

/** Items of dropped entries (`webkitGetAsEntry`): a folder is walked, its files listed with their paths. */
async function itemsOfEntries(entries) {
  const fileOf = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject));
  const walk = async (dir, prefix, out) => {
    const reader = dir.createReader();
    for (;;) {
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) return out;
      for (const entry of batch) {
        if (out.length > MAX_FILES) return out;
        if (entry.isDirectory) await walk(entry, `${prefix}${entry.name}/`, out);
        else if (entry.isFile) out.push({ path: prefix + entry.name, file: await fileOf(entry) });
      }
    }
  };
  const items = [];
  for (const entry of entries) {
    items.push(entry.isDirectory ? { name: entry.name, files: await walk(entry, '', []) } : { file: await fileOf(entry) });
  }
  return items;
}

function activateShareRow(el, id, file) {
  const link = Client.link(location.origin, id);
  const a = $('[data-testid=share-link]', el);
  a.href = link;
  a.textContent = link;
  $('.hashing', el).hidden = true;
  const copy = $('.copy', el);
  copy.disabled = false;
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(link);
      copy.textContent = 'Copied';
    } catch {
      // No clipboard permission (or http on a LAN address): select the link so the user can copy it.
      getSelection().selectAllChildren(a);
      copy.textContent = 'Press Ctrl+C';
    }
    setTimeout(() => { copy.textContent = 'Copy link'; }, 2000);
  });
  const qrButton = $('.show-qr', el);
  const qr = $('.qr', el);
  qrButton.disabled = false;
  qrButton.addEventListener('click', async () => {
    if (!qr.firstChild) {
      try {
        qr.innerHTML = (await qrModule()).qrSvg(link);
      } catch (e) {
        showError(`The QR code could not be made: ${e.message ?? e}`, 'internal');
        return;
      }
    }
    qr.hidden = !qr.hidden;
    qrButton.setAttribute('aria-expanded', String(!qr.hidden));
  });
  $('.stop', el).addEventListener('click', () => client.stop(id));
  wireListing(el, id);
  rows.set(id, { el, role: 'share', name: file.name, size: file.size, last: null, downSpeed: 0, upSpeed: 0 });
}

// ---- downloads -----------------------------------------------------------------------------------------------

function addDownloadRow(id, name, size) {
  if (rows.has(id)) return;
  const el = $('#download-template').content.firstElementChild.cloneNode(true);
  el.dataset.id = id;
  const row = { el, role: 'download', name: name ?? null, size: size ?? null, last: null, downSpeed: 0, upSpeed: 0 };
  rows.set(id, row);
  describeDownload(row, id);
  $('.save', el).addEventListener('click', () => save(id));
  $('.save-all', el).addEventListener('click', () => saveAll(row, id));
  for (const action of ['retry', 'pause', 'resume']) {
    $(`.${action}`, el).addEventListener('click', () => {
      try {
        client[action](id);
      } catch (e) {
        showError(e.message ?? String(e), e.name);
      }
    });
  }
  $('.remove', el).addEventListener('click', () => client.remove(id).catch((e) => showError(e.message, e.name)));
  wireListing(el, id);
  $('#downloads').append(el);
  $('#downloads-section').hidden = false;
}

// ---- listing in search ---------------------------------------------------------------------------------------

// What a row's listing line says: private by default; listed only when the user ticks "List in search".
const LISTED_TEXT = 'Listed in search: anyone on this network can find it by name.';
const PRIVACY_TEXT = {
  share: ['Private link: only people you send it to can get the file.', LISTED_TEXT],
  download: ['Seeding by its link only.', LISTED_TEXT],
};

function wireListing(el, id) {
  const box = $('.list', el);
  box.disabled = false;
  box.addEventListener('change', () => {
    try {
      client.setListed(id, box.checked);
    } catch (e) {
      box.checked = !box.checked;
      showError(e.message ?? String(e), e.name);
    }
  });
}

function onListed(e) {
  const row = rows.get(e.id);
  if (!row) return;
  $('.list', row.el).checked = e.listed;
  row.el.dataset.listed = String(e.listed);
  $('.privacy', row.el).textContent = PRIVACY_TEXT[row.role][e.listed ? 1 : 0];
}

function describeDownload(row, id) {
  $('.name', row.el).textContent = row.name ?? `File ${id.slice(0, 12)}…`;
  $('.size', row.el).textContent = row.size == null ? '(asking peers for its description)' : formatBytes(row.size);
}

function save(id) {
  const row = rows.get(id);
  saveBlob(() => client.file(id), row?.name ?? 'download');
}

/** Has the browser save the Blob `make()` returns under `name`; a failure is shown. */
function saveBlob(make, name) {
  try {
    const url = URL.createObjectURL(make());
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
  } catch (e) {
    showError(e.message ?? String(e), e.name);
  }
}

// ---- folders: the tree of files, the choice of what to get, Save per file and Save all ----------------------

/**
 * Builds a folder row's tree (once its manifest is known): a box a file and a folder, sizes, each file's state,
 * and its Save once complete. The tree is a model (`row.folder`): `files` `[{ path, size, offset, first, end,
 * chosen, state, text, el }]` and `folders` (path → `{ el, box, ul, files: indices under it, children, rendered }`);
 * a closed folder's items are made when it is first opened, so a folder of 10,000 files costs the page what it
 * shows, and the boxes are the model's view, not its store.
 */
function showTree(row, id) {
  if (row.folder || !client) return;
  const list = client.files(id);
  if (list.length === 0) return;
  const chosen = client.selection(id);
  const picked = chosen ? new Set(chosen) : null;
  const files = list.map(([path, size, offset, first, end], index) => ({
    path, size, offset, first, end, index, chosen: !picked || picked.has(index), state: '', text: '', el: null,
  }));
  const folders = new Map();
  const folderOf = (path) => {
    let folder = folders.get(path);
    if (!folder) {
      folder = { path, files: [], children: [], el: null, box: null, ul: null, rendered: false };
      folders.set(path, folder);
      if (path !== '') {
        const cut = path.lastIndexOf('/');
        folderOf(cut < 0 ? '' : path.slice(0, cut)).children.push({ folder });
      }
    }
    return folder;
  };
  for (const f of files) {
    const cut = f.path.lastIndexOf('/');
    folderOf(cut < 0 ? '' : f.path.slice(0, cut)).children.push({ file: f });
    // Every folder above it counts it, for its box's state.
    for (let at = cut; at > 0; at = f.path.lastIndexOf('/', at - 1)) folderOf(f.path.slice(0, at)).files.push(f.index);
  }
  row.folder = { files, folders, open: files.length <= OPEN_TREE_FILES };
  const top = folders.get('');
  top.ul = $('.files', row.el);
  top.ul.replaceChildren();
  renderFolder(row, id, top);
  top.ul.addEventListener('change', (e) => onPick(row, id, e.target));
  $('.folder', row.el).hidden = false;
  $('.choose', row.el).addEventListener('click', () => choose(row, id));
}

/** Trees of at most this many files show every folder open; larger ones, closed. */
const OPEN_TREE_FILES = 200;

/** Makes the items of `folder` (its subfolders closed unless the tree is small, then its files). */
function renderFolder(row, id, folder) {
  folder.rendered = true;
  for (const child of folder.children) {
    if (child.folder) {
      const sub = child.folder;
      const li = document.createElement('li');
      li.className = 'folder';
      li.dataset.folder = sub.path;
      const details = document.createElement('details');
      sub.box = pickBox(`Get the folder ${sub.path}`);
      const summary = document.createElement('summary');
      summary.append(sub.box, nameSpan(sub.path.slice(sub.path.lastIndexOf('/') + 1)));
      sub.ul = document.createElement('ul');
      details.append(summary, sub.ul);
      details.addEventListener('toggle', () => {
        if (details.open && !sub.rendered) renderFolder(row, id, sub);
      });
      li.append(details);
      folder.ul.append(li);
      sub.el = li;
      markFolder(row, sub);
      // A small tree is made whole, open; a large one shows its top level, each folder made when first opened.
      if (row.folder.open) renderFolder(row, id, sub);
      details.open = row.folder.open;
    } else {
      folder.ul.append(renderFile(id, child.file));
    }
  }
}

function renderFile(id, f) {
  const li = document.createElement('li');
  li.className = 'file';
  li.dataset.path = f.path;
  li.dataset.index = String(f.index);
  f.box = pickBox(`Get ${f.path}`);
  f.box.checked = f.chosen;
  const bytes = document.createElement('span');
  bytes.className = 'size';
  bytes.textContent = formatBytes(f.size);
  f.stateEl = document.createElement('span');
  f.stateEl.className = 'file-state';
  f.save = document.createElement('button');
  f.save.type = 'button';
  f.save.textContent = 'Save';
  f.save.dataset.testid = 'save-file';
  f.save.addEventListener('click', () => saveBlob(() => client.part(id, f.offset, f.size), f.path.split('/').pop()));
  const label = document.createElement('label');
  label.append(f.box, nameSpan(f.path.slice(f.path.lastIndexOf('/') + 1)));
  li.append(label, bytes, f.stateEl, f.save);
  f.el = li;
  showFileState(f);
  return li;
}

function pickBox(label) {
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.className = 'pick';
  box.checked = true;
  box.setAttribute('aria-label', label);
  return box;
}

function nameSpan(text) {
  const span = document.createElement('span');
  span.className = 'path';
  span.textContent = ` ${text}`;
  return span;
}

/** A box changed: the model follows (a folder's box sets every file under it), then the boxes shown. */
function onPick(row, id, box) {
  if (!box.classList.contains('pick')) return;
  const li = box.closest('li');
  const { files, folders } = row.folder;
  if (li.classList.contains('folder')) {
    for (const i of folders.get(li.dataset.folder).files) files[i].chosen = box.checked;
  } else {
    files[Number(li.dataset.index)].chosen = box.checked;
  }
  showChoice(row);
  if (row.el.dataset.state !== 'choosing') choose(row, id, true);
}

/** Every box shown, from the model: a file's as chosen, a folder's all, some (indeterminate) or none. */
function showChoice(row) {
  for (const f of row.folder.files) if (f.box) f.box.checked = f.chosen;
  for (const folder of row.folder.folders.values()) if (folder.box) markFolder(row, folder);
}

function markFolder(row, folder) {
  const ticked = folder.files.filter((i) => row.folder.files[i].chosen).length;
  folder.box.checked = ticked === folder.files.length;
  folder.box.indeterminate = ticked > 0 && ticked < folder.files.length;
}

/** Tells the peer which files to get (all: no list); refused (nothing ticked), the choice goes back. */
function choose(row, id, changed = false) {
  const { files } = row.folder;
  const ticked = files.flatMap((f, i) => (f.chosen ? [i] : []));
  try {
    client.choose(id, ticked.length === files.length ? undefined : Uint32Array.from(ticked));
  } catch (e) {
    if (changed) {
      const chosen = client.selection(id);
      files.forEach((f, i) => { f.chosen = !chosen || chosen.includes(i); });
      showChoice(row);
    }
    showError(e.message ?? String(e), e.name);
  }
}

/**
 * Each file's state from the piece map (complete, with its Save; how far; or not chosen), in the model, and on
 * the page for the files shown. Returns the chosen files' pieces, wanted and verified.
 */
function updateTree(row, id, state) {
  const map = client.pieceMap(id);
  let wanted = 0;
  let verified = 0;
  const counted = new Uint8Array(map.length);
  for (const f of row.folder.files) {
    let done = 0;
    for (let p = f.first; p < f.end; p++) {
      if (map[p] === 2) done++;
      if (f.chosen && !counted[p]) {
        counted[p] = 1;
        wanted++;
        if (map[p] === 2) verified++;
      }
    }
    const pieces = f.end - f.first;
    const complete = map.length > 0 && done === pieces && (pieces > 0 || (f.chosen && state !== 'choosing'));
    const fileState = complete ? 'complete' : f.chosen ? 'wanted' : 'skipped';
    const text = complete ? 'complete' : f.chosen
      ? (state === 'choosing' ? '' : `${Math.floor((100 * done) / pieces)} %`)
      : 'not chosen';
    if (fileState !== f.state || text !== f.text) {
      f.state = fileState;
      f.text = text;
      if (f.el) showFileState(f);
    }
  }
  return { wanted, verified };
}

function showFileState(f) {
  f.el.dataset.state = f.state;
  f.stateEl.textContent = f.text;
  f.save.hidden = f.state !== 'complete';
}

/**
 * Save all: the chosen files into a folder the user picks (where the browser lets a page write one), else one
 * `.zip` (stored, streamed into the page's private file system, then saved). Either way each file streams from
 * the stored pieces: no file, and never the whole folder, is held in memory.
 */
async function saveAll(row, id) {
  const files = row.folder.files.filter((f) => f.chosen);
  const status = $('.save-state', row.el);
  const say = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };
  try {
    if (window.showDirectoryPicker) {
      let picked;
      try {
        picked = await window.showDirectoryPicker({ id: 'p2p-share-save', mode: 'readwrite' });
      } catch (e) {
        if (e.name === 'AbortError') return;
        throw e;
      }
      const name = await freeName(picked, row.name);
      const top = await picked.getDirectoryHandle(name, { create: true });
      const paths = distinctPaths(files);
      for (const [i, f] of files.entries()) {
        say('saving', `Saving ${i + 1} of ${files.length}: ${f.path}`);
        const parts = paths[i].split('/');
        let dir = top;
        for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part, { create: true });
        const handle = await dir.getFileHandle(parts.at(-1), { create: true });
        await client.part(id, f.offset, f.size).stream().pipeTo(await handle.createWritable());
      }
      say('saved', `Saved ${plural(files.length, 'file')} into the folder “${name}”.`);
    } else {
      say('saving', `Packing ${plural(files.length, 'file')} into ${row.name}.zip…`);
      const zip = await zipOf(row.name, id, files);
      saveBlob(() => zip, `${row.name}.zip`);
      say('saved', `Saved ${plural(files.length, 'file')} as ${row.name}.zip.`);
    }
  } catch (e) {
    say('failed', `Saving failed: ${e.message ?? e}`);
  }
}

/**
 * The files' paths, each made distinct from the earlier ones once lowercased (" (2)" before its extension): the
 * manifest refuses paths that differ only in the case of the scripts search folds (PROTOCOL.md 1.8); this catches
 * the other scripts a file system may fold, so that saving never writes one file over another.
 */
function distinctPaths(files) {
  const seen = new Set();
  return files.map((f) => {
    let path = f.path;
    for (let n = 2; seen.has(path.toLowerCase()); n++) {
      const dot = f.path.lastIndexOf('.');
      const cut = dot > f.path.lastIndexOf('/') + 1 ? dot : f.path.length;
      path = `${f.path.slice(0, cut)} (${n})${f.path.slice(cut)}`;
    }
    seen.add(path.toLowerCase());
    return path;
  });
}

/** `name`, or `name (2)`, `name (3)`, ... : the first that `dir` has no entry of, so nothing is overwritten. */
async function freeName(dir, name) {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : `${name} (${n})`;
    try {
      await dir.getDirectoryHandle(candidate);
    } catch (e) {
      if (e.name === 'NotFoundError') return candidate;
      if (e.name !== 'TypeMismatchError') throw e;
    }
  }
}

/** Where a `.zip` being saved is built: the page's private file system, away from the downloads' directory. */
const ZIP_DIR = 'p2p-share-zips';

/**
 * A stored (uncompressed) zip of `files` under the folder `name`, as a `File` in the private file system (on
 * disk, not in memory), or a `Blob` in memory where the browser gives no private file system (a private window,
 * whose downloads are in memory anyway). client-zip (www/vendor) writes the format.
 */
async function zipOf(name, id, files) {
  const { downloadZip } = await import('./vendor/client-zip/index.js');
  const paths = distinctPaths(files);
  const input = files.map((f, i) => ({ name: `${name}/${paths[i]}`, input: client.part(id, f.offset, f.size), size: f.size }));
  const stream = downloadZip(input).body;
  let dir;
  try {
    dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(ZIP_DIR, { create: true });
  } catch {
    return new Response(stream).blob();
  }
  const handle = await dir.getFileHandle(`${id}.zip`, { create: true });
  await stream.pipeTo(await handle.createWritable());
  return handle.getFile();
}

/** Zips of an earlier visit are gone: their saves finished (or the page closed while saving). */
async function removeOldZips() {
  try {
    await (await navigator.storage.getDirectory()).removeEntry(ZIP_DIR, { recursive: true });
  } catch {
    // None, or no private file system.
  }
}

function drawPieces(row, id) {
  // Restored downloads report before `Client.start` returns; main() draws their maps once `client` is set.
  if (!client) return;
  const map = client.pieceMap(id);
  const canvas = $('.pieces', row.el);
  if (!canvas || map.length === 0) return;
  const ctx = canvas.getContext('2d');
  const w = canvas.width;
  const h = canvas.height;
  const colors = ['#dadce0', '#f9ab00', '#1e8e3e'];
  ctx.clearRect(0, 0, w, h);
  const step = w / map.length;
  for (let i = 0; i < map.length; i++) {
    ctx.fillStyle = colors[map[i]] ?? colors[0];
    ctx.fillRect(Math.floor(i * step), 0, Math.max(1, Math.ceil(step)), h);
  }
}

// ---- search --------------------------------------------------------------------------------------------------

/** The search shown: `{ id, text, results: Map<content id, { el, name, score, sources }> }`, or null. */
let search = null;

function setSearchState(state, text) {
  const el = $('#search-state');
  el.dataset.state = state;
  el.textContent = text;
}

function runSearch(text) {
  let id;
  try {
    id = client.search(text);
  } catch (e) {
    setSearchState('error', e.message ?? String(e));
    return;
  }
  search = { id, text: text.trim(), results: new Map() };
  $('#search-results').replaceChildren();
  describeSearch();
}

function describeSearch() {
  const n = search.results.size;
  const what = `“${search.text}”`;
  if (n === 0) {
    setSearchState('searching', `Searching for ${what}… no results yet. The search keeps listening for 10 \
minutes: files shared meanwhile, or by peers who join, appear here.`);
  } else {
    setSearchState('results', `${plural(n, 'result')} for ${what}, best match first (still listening for more)`);
  }
}

/** Best first: score, then how many peers named it, then name. */
function compareResults(a, b) {
  return b.score - a.score || b.sources - a.sources || a.name.localeCompare(b.name);
}

function onSearchResult(e) {
  if (!search || e.search !== search.id) return;
  let result = search.results.get(e.content);
  if (!result) {
    const el = $('#result-template').content.firstElementChild.cloneNode(true);
    el.dataset.content = e.content;
    $('.name', el).textContent = e.name;
    $('.size', el).textContent = formatBytes(e.size);
    const button = $('.download', el);
    button.setAttribute('aria-label', `Download ${e.name}`);
    button.addEventListener('click', () => downloadResult(e.content));
    result = { el, name: e.name, score: 0, sources: 0 };
    search.results.set(e.content, result);
  }
  result.score = e.score;
  result.sources = e.sources;
  result.el.dataset.score = String(e.score);
  result.el.dataset.sources = String(e.sources);
  const mine = rows.get(e.content)?.role === 'share' ? ' · you share this file' : '';
  $('.sources', result.el).textContent = `named by ${plural(e.sources, 'answer')}${mine}`;
  sortResults();
  describeSearch();
}

/** Puts the result items in rank order, moving only when the order changed and keeping keyboard focus. */
function sortResults() {
  const list = $('#search-results');
  const ranked = [...search.results.values()].sort(compareResults).map((r) => r.el);
  if (ranked.length === list.children.length && ranked.every((el, i) => list.children[i] === el)) return;
  const focused = document.activeElement;
  list.append(...ranked);
  if (focused && list.contains(focused) && document.activeElement !== focused) focused.focus({ preventScroll: true });
}

/** The Download button of a result: the same as opening the file's link. */
function downloadResult(content) {
  try {
    client.join(content);
  } catch (e) {
    showError(e.message ?? String(e), e.name);
    return;
  }
  rows.get(content)?.el.scrollIntoView({ block: 'nearest' });
}

function onNetwork(e) {
  const el = $('#network');
  el.dataset.name = e.name;
  el.dataset.neighbours = String(e.neighbours);
  el.title = 'Another network: add ?network=<name> to the page address';
  el.textContent = e.neighbours > 0
    ? `Network “${e.name}” · ${plural(e.neighbours, 'neighbour')}`
    : `Network “${e.name}” · no other peer reached yet (searches reach peers as they connect)`;
}

function setUpSearchForm() {
  $('#search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    runSearch($('#search-input').value);
  });
}

// ---- events from the wasm peer -------------------------------------------------------------------------------

function onStats(e) {
  const row = rows.get(e.id);
  if (!row) return;
  const el = row.el;
  const now = performance.now();
  if (row.last) {
    const dt = (now - row.last.t) / 1000;
    if (dt > 0) {
      const down = Math.max(0, e.downloaded - row.last.down) / dt;
      const up = Math.max(0, e.uploaded - row.last.up) / dt;
      row.downSpeed += SPEED_SMOOTHING * (down - row.downSpeed);
      row.upSpeed += SPEED_SMOOTHING * (up - row.upSpeed);
    }
  }
  row.last = { t: now, down: e.downloaded, up: e.uploaded };
  el.dataset.uploadedBytes = String(e.uploaded);
  el.dataset.peers = String(e.peers);
  el.dataset.relayedPeers = String(e.relayed);
  el.dataset.tampered = String(e.tampered ?? 0);
  const up = `↑ ${formatBytes(row.upSpeed)}/s`;
  // "2 peers (1 through a relay)": a relayed peer's data goes through the site's TURN server, not straight across.
  // A connection that failed its proof was altered in between (the signaling server or the network): refused before
  // anything crossed it, and said on the row so the user knows someone tried.
  const peers =
    plural(e.peers, 'peer') +
    (e.relayed > 0 ? ` (${e.relayed} through a relay)` : '') +
    (e.tampered > 0 ? ` · refused ${plural(e.tampered, 'connection')} that someone in between tampered with` : '');
  if (row.role === 'share') {
    $('.stats', el).textContent = [peers, `${formatBytes(e.uploaded)} sent`, up].join(' · ');
    return;
  }
  const state = e.state === 'seeding' ? 'complete' : e.state;
  el.dataset.state = state;
  $('.pause', el).hidden = state !== 'downloading' && state !== 'waiting';
  $('.resume', el).hidden = state !== 'paused';
  if (state === 'error' || state === 'paused') {
    // Stopped or paused: nothing flows, so no speeds; a failure's reason is the row's state line.
    row.downSpeed = 0;
    row.upSpeed = 0;
    el.dataset.peers = '0';
    el.dataset.relayedPeers = '0';
    $('.stats', el).textContent = '';
    $('.state', el).textContent = row.failure ? `Stopped: ${row.failure.message}` : STATE_TEXT[state];
    $('.retry', el).hidden = !(row.failure && RETRYABLE.has(row.failure.kind));
    return;
  }
  row.failure = null;
  delete el.dataset.failure;
  $('.retry', el).hidden = true;
  el.dataset.downloadedBytes = String(e.downloaded);
  el.dataset.verifiedPieces = String(e.verified);
  el.dataset.totalPieces = String(e.total);
  if (!row.folder) showTree(row, e.id);
  // A folder counts the pieces of the files chosen.
  const { verified, wanted } = row.folder ? updateTree(row, e.id, state) : { verified: e.verified, wanted: e.total };
  const progress = $('.progress', el);
  progress.value = wanted > 0 ? verified / wanted : 0;
  $('.state', el).textContent = state === 'downloading' && wanted > 0
    ? `Downloading: ${verified} of ${wanted} pieces verified`
    : STATE_TEXT[state] ?? state;
  $('.choose', el).hidden = state !== 'choosing';
  $('.choose-hint', el).hidden = state !== 'choosing';
  const remaining = row.size == null ? NaN : row.size * (1 - progress.value);
  const eta = state === 'downloading' && row.downSpeed > 0 ? formatDuration(remaining / row.downSpeed) : '';
  const parts = [peers];
  if (state !== 'complete') parts.push(`↓ ${formatBytes(row.downSpeed)}/s`);
  parts.push(up);
  if (eta) parts.push(eta);
  $('.stats', el).textContent = parts.join(' · ');
  // A folder is saved whole (Save all) or file by file (its tree); one file with Save.
  $('.save', el).hidden = state !== 'complete' || Boolean(row.folder);
  $('.save-all', el).hidden = state !== 'complete' || !row.folder;
  if (state !== 'complete' || !row.drawnComplete) drawPieces(row, e.id);
  row.drawnComplete = state === 'complete';
}

function onEvent(e) {
  switch (e.type) {
    case 'signaling': {
      const status = $('#status');
      status.dataset.state = e.state;
      status.textContent = STATUS_TEXT[e.state] ?? e.state;
      break;
    }
    case 'hashing': {
      const el = hashing.get(e.token);
      if (el) $('.hashing', el).value = e.size > 0 ? e.hashed / e.size : 1;
      break;
    }
    case 'added':
      if (e.role === 'download') addDownloadRow(e.id, e.name, e.size);
      break;
    case 'manifest': {
      const row = rows.get(e.id);
      if (row && row.role === 'download') {
        row.name = e.name;
        row.size = e.size;
        describeDownload(row, e.id);
        if (e.files > 0) showTree(row, e.id);
      }
      break;
    }
    case 'stats':
      onStats(e);
      break;
    case 'listed':
      onListed(e);
      break;
    case 'complete':
      // A finished download may be listed in search, if its user wants.
      if (rows.get(e.id)?.role === 'download') $('.listing', rows.get(e.id).el).hidden = false;
      // Where the pieces went ('opfs-worker': written off this thread by storage-worker.js), for tests and bug
      // reports.
      document.documentElement.dataset.storage = client.storageKind();
      break;
    case 'removed': {
      rows.get(e.id)?.el.remove();
      rows.delete(e.id);
      $('#downloads-section').hidden = $('#downloads').children.length === 0;
      break;
    }
    case 'error': {
      // A download's failure is said once, in its row; other errors are banners.
      const row = e.id ? rows.get(e.id) : null;
      if (row && row.role === 'download' && FAILURES.has(e.kind)) {
        row.failure = { kind: e.kind, message: e.message };
        row.el.dataset.failure = e.kind;
        onStats({ id: e.id, state: 'error', downloaded: row.last?.down ?? 0, uploaded: row.last?.up ?? 0, verified: Number(row.el.dataset.verifiedPieces), total: Number(row.el.dataset.totalPieces), peers: 0, tampered: Number(row.el.dataset.tampered ?? 0) });
      } else {
        showError(e.message, e.kind);
      }
      break;
    }
    case 'network':
      onNetwork(e);
      break;
    case 'search-result':
      onSearchResult(e);
      break;
    default:
      break;
  }
}

// ---- start ---------------------------------------------------------------------------------------------------

function joinFromHash() {
  const raw = location.hash.slice(1);
  if (!raw) return;
  let fragment = raw;
  try {
    fragment = decodeURIComponent(raw);
  } catch {
    // Malformed percent-encoding: the raw text goes to the parser, which rejects it with a message.
  }
  try {
    client.join(fragment);
  } catch (e) {
    showError(`${e.message ?? e} (the link was: …/${location.hash.slice(0, 80)})`, e.name);
  }
}

function setUpDropZone() {
  const drop = $('#drop');
  const input = $('#file-input');
  input.addEventListener('change', () => {
    shareItems([...input.files].map((file) => ({ file })));
    input.value = '';
  });
  const folderInput = $('#folder-input');
  folderInput.addEventListener('change', () => {
    // A browser lists a folder's files, not the folder: an empty one comes as no file at all.
    if (folderInput.files.length === 0) showError('That folder has no file to share.', 'file');
    shareItems(itemsOfFolderInput(folderInput.files));
    folderInput.value = '';
  });
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  document.addEventListener('dragleave', (e) => {
    if (e.target === document.documentElement || e.relatedTarget === null) drop.classList.remove('over');
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    // Entries are taken during the event (the list is gone after it); a browser without them gets plain files.
    const items = [...(e.dataTransfer?.items ?? [])].filter((i) => i.kind === 'file');
    const entries = items.map((i) => i.webkitGetAsEntry?.());
    if (entries.length > 0 && entries.every(Boolean)) {
      itemsOfEntries(entries).then(shareItems, (err) => showError(`The dropped files cannot be read: ${err.message ?? err}`, 'file'));
    } else {
      shareItems([...(e.dataTransfer?.files ?? [])].map((file) => ({ file })));
    }
  });
}

function setUpJoinForm() {
  $('#join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('#link-input');
    try {
      client.join(input.value);
      input.value = '';
    } catch (err) {
      showError(err.message ?? String(err), err.name);
    }
  });
}

let qrLoading = null;

/**
 * The QR code module (peer-wasm/qr), loaded the first time a code is shown: most visits never show one, and the
 * encoder would be a tenth of the page's main module.
 */
function qrModule() {
  qrLoading ??= import('./pkg/peer_wasm_qr.js').then(async (qr) => {
    await qr.default({ module_or_path: new URL('./pkg/peer_wasm_qr_bg.wasm', import.meta.url) });
    return qr;
  });
  // A failed load is tried again on the next click.
  qrLoading.catch(() => (qrLoading = null));
  return qrLoading;
}

/** Where the upload limit the user picked is kept, for the next visit. */
const UPLOAD_LIMIT_KEY = 'p2p-upload-limit';

/** The upload limit control: applied at start from what was kept, and whenever the user changes it. */
function setUpUploadLimit() {
  const select = $('#upload-limit');
  let kept = null;
  try {
    kept = localStorage.getItem(UPLOAD_LIMIT_KEY);
  } catch {
    // Storage refused (a private window's policy): the limit lasts this visit.
  }
  if (kept && [...select.options].some((o) => o.value === kept)) select.value = kept;
  const apply = () => {
    const rate = Number(select.value);
    client.setUploadLimit(rate > 0 ? rate : undefined);
    try {
      localStorage.setItem(UPLOAD_LIMIT_KEY, select.value);
    } catch {
      // As above.
    }
    select.closest('.upload-limit').dataset.limit = select.value;
  };
  select.addEventListener('change', apply);
  apply();
}

async function main() {
  window.addEventListener('peer-panic', (e) => showError(String(e.detail), 'internal'));
  try {
    // Named explicitly: the generated module may have no default path (xtask runs wasm-bindgen as a library).
    await init({ module_or_path: new URL('./pkg/peer_wasm_bg.wasm', import.meta.url) });
  } catch (e) {
    showError(`This browser could not start the app (WebAssembly): ${e.message ?? e}`, 'internal');
    return;
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // `?network=<name>` picks the discovery network; the wasm checks the name and says so if it is not valid.
  const network = new URLSearchParams(location.search).get('network');
  // The browser tests lower the in-memory limit (`window.p2pTestSettings`, set before the page loads).
  const memoryLimit = window.p2pTestSettings?.memoryLimit;
  client = await Client.start(`${scheme}//${location.host}/ws`, onEvent, network ?? undefined, memoryLimit);
  // Restored downloads reported before `client` was set: their piece maps and folder trees are drawn now.
  for (const [id, row] of rows) {
    if (row.role !== 'download') continue;
    drawPieces(row, id);
    showTree(row, id);
    if (row.folder) updateTree(row, id, row.el.dataset.state);
  }
  if (client.storageKind() === 'memory') {
    showNotice(`This browser gives this page no private file system, so downloads are kept in memory (up to \
${formatBytes(client.memoryLimit())} a file) and are lost on reload.`);
  }
  removeOldZips();
  setUpUploadLimit();
  setUpDropZone();
  setUpJoinForm();
  setUpSearchForm();
  window.addEventListener('hashchange', joinFromHash);
  // A tab closing tells its peers at once (goodbyes, connections closed) instead of leaving them to time out; a
  // page kept in the back-forward cache (`persisted`) keeps its connections.
  window.addEventListener('pagehide', (e) => {
    if (!e.persisted) client.shutdown();
  });
  joinFromHash();
  document.documentElement.dataset.ready = '1';
}

main();
