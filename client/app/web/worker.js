// The phone app's worker (docs/phone-app.md): runs the client's core
// (kbo-core.wasm: the store, outbox, sync and the UI's JSON API, the same
// C++ as kbo) and answers the page's /api requests one at a time.
//
// Storage, all in the Origin-Private File System (OPFS) under kbo/:
//   field.db, field.db-journal   SQLite's files, read and written in place
//                                through sync access handles by the core's
//                                VFS (client/app/opfs_vfs.h): each commit
//                                is on disk before the action is answered;
//   home/...                     every other file of the client's home
//                                (device.key, blobs/ with the photos),
//                                written back from the core's memory file
//                                system after each request, before it is
//                                answered. A photo is written here before
//                                the core records its row. On start the
//                                small files are copied into memory; a
//                                larger one (a photo, a preview) only when
//                                the core reads it, and dropped from memory
//                                after the request (see makeLazy).
//
// Messages from the page: {id, method, path, query: [[k, v]...],
// contentType, body: Uint8Array?, parts: [{name, filename, type, data,
// head?}]?} (head: the first bytes of a photo as taken, data its copy).
// To the page: {ready} or {fatal: message, code: "other_tab" | "no_storage" |
// "start"} once; {id, status, type, body}
// for each request (and held: the bytes of the home's files in memory
// after it); {progress: JSON text} during a sync.
'use strict';

importScripts('kbo-core.js');

const HOME = '/kbo';
const DB_FILES = ['field.db', 'field.db-journal'];  // in OPFS kbo/, in the core HOME/

let core = null;
let homeDir = null;  // OPFS kbo/home
let dbHandles = [];  // the sync access handles of DB_FILES, the core's
// What OPFS holds of each home file: path under HOME -> "size:mtime" of the
// copy in memory when it was written (or read).
const persisted = new Map();
// Photos written to OPFS before the core saw them (prestorePhoto): path ->
// size. Content-addressed, so never written again; removed after the
// request if the core did not keep them (a refused photo).
const prestored = new Map();

function isDbFile(rel) { return DB_FILES.includes(rel); }

// Files larger than this are held in memory only while a request reads
// them: a phone's photos would otherwise all sit in the worker's memory
// (about 30 MB per 100), read on every start.
const LAZY_BYTES = 16 * 1024;
// Lazy files whose bytes are in memory now (dropped after the request).
const loaded = new Set();

// The bytes of a lazy file, read synchronously from its OPFS File (a photo
// is named by its SHA-256 and never changes, so the File stays valid).
function ensureLoaded(node) {
  if (!node.kboFile || node.contents) return;
  let bytes;
  try {
    bytes = new Uint8Array(new FileReaderSync().readAsArrayBuffer(node.kboFile));
  } catch (e) {
    console.warn('kbo: a stored file could not be read:', e);
    throw new core.FS.ErrnoError(29);  // EIO
  }
  if (bytes.length !== node.usedBytes) throw new core.FS.ErrnoError(29);
  node.contents = bytes;
  loaded.add(node);
}

// A lazy file changed in place becomes an ordinary file in memory again
// (persistHome writes it back and makes it lazy anew).
function unlazy(node) {
  if (!node.kboFile) return;
  ensureLoaded(node);
  delete node.kboFile;
  loaded.delete(node);
  node.stream_ops = node.kboBase.stream;
  node.node_ops = node.kboBase.node;
}

// Makes the file at `path` in the memory file system lazy: its bytes are
// `file`'s (the OPFS copy, just written or found on start), read when the
// core reads them. Its size and times stay, so persistHome sees no change.
function makeLazy(path, file) {
  const node = core.FS.lookupPath(path).node;
  if (node.usedBytes !== file.size) return;  // not the same bytes: keep them
  if (!node.kboBase) node.kboBase = { stream: node.stream_ops, node: node.node_ops };
  const base = node.kboBase;
  node.kboFile = file;
  node.contents = null;
  loaded.delete(node);
  node.stream_ops = Object.assign({}, base.stream, {
    read(stream, ...rest) { ensureLoaded(stream.node); return base.stream.read(stream, ...rest); },
    write(stream, ...rest) { unlazy(stream.node); return base.stream.write(stream, ...rest); },
    allocate(stream, ...rest) { unlazy(stream.node); return base.stream.allocate(stream, ...rest); },
    mmap(stream, ...rest) { unlazy(stream.node); return base.stream.mmap(stream, ...rest); },
  });
  node.node_ops = Object.assign({}, base.node, {
    setattr(n, attr) {
      if (attr.size !== undefined) unlazy(n);
      return base.node.setattr(n, attr);
    },
  });
}

// Drops the bytes the last request read: they stay in OPFS.
function dropLoaded() {
  for (const node of loaded) node.contents = null;
  loaded.clear();
}

// Bytes of the home's files held in memory now.
function heldBytes(files) {
  let n = 0;
  for (const st of files.values()) if (st.node.contents) n += st.node.usedBytes;
  return n;
}

async function opfsFile(rel) {
  const parts = rel.split('/');
  const name = parts.pop();
  const dir = await opfsDir(parts, false);
  return (await dir.getFileHandle(name)).getFile();
}

async function opfsDir(path, create) {
  let dir = homeDir;
  for (const part of path) dir = await dir.getDirectoryHandle(part, { create });
  return dir;
}

async function writeOpfs(rel, bytes) {
  const parts = rel.split('/');
  const name = parts.pop();
  const dir = await opfsDir(parts, true);
  const fh = await dir.getFileHandle(name, { create: true });
  const h = await fh.createSyncAccessHandle();
  try {
    h.truncate(0);
    let at = 0;
    while (at < bytes.length) at += h.write(bytes.subarray(at), { at });
    h.flush();
  } finally {
    h.close();
  }
  return fh;
}

async function removeOpfs(rel) {
  const parts = rel.split('/');
  const name = parts.pop();
  try {
    const dir = await opfsDir(parts, false);
    await dir.removeEntry(name);
  } catch (e) {
    if (!(e && e.name === 'NotFoundError')) throw e;
  }
}

function stamp(st) { return `${st.size}:${st.mtime.getTime()}`; }

// Every file under HOME in the core's memory: rel path -> stat (and .node).
function memFiles() {
  const out = new Map();
  const walk = (dir, rel) => {
    for (const name of core.FS.readdir(dir)) {
      if (name === '.' || name === '..') continue;
      const path = `${dir}/${name}`;
      const r = rel ? `${rel}/${name}` : name;
      const node = core.FS.lookupPath(path).node;
      const st = node.node_ops.getattr(node);  // as FS.stat
      st.node = node;
      if (core.FS.isDir(st.mode)) walk(path, r);
      else if (!isDbFile(r)) out.set(r, st);
    }
  };
  walk(HOME, '');
  return out;
}

// Copies OPFS kbo/home into the memory file system.
async function restoreHome() {
  const walk = async (dir, rel) => {
    for await (const [name, entry] of dir.entries()) {
      const r = rel ? `${rel}/${name}` : name;
      const path = `${HOME}/${r}`;
      if (entry.kind === 'directory') {
        core.FS.mkdirTree(path);
        await walk(entry, r);
      } else {
        const file = await entry.getFile();
        if (file.size > LAZY_BYTES) {
          // Its size now, its bytes when read.
          core.FS.writeFile(path, new Uint8Array(0));
          core.FS.lookupPath(path).node.usedBytes = file.size;
          makeLazy(path, file);
        } else {
          core.FS.writeFile(path, new Uint8Array(await file.arrayBuffer()));
        }
        if (r.endsWith('device.key')) core.FS.chmod(path, 0o600);
        persisted.set(r, stamp(core.FS.stat(path)));
      }
    }
  };
  await walk(homeDir, '');
}

// Writes to OPFS what changed in memory since the last call; returns the
// files it found (memFiles).
async function persistHome() {
  const now = memFiles();
  for (const [rel, size] of prestored) {
    const st = now.get(rel);
    if (st && st.size === size) {
      persisted.set(rel, stamp(st));
      if (size > LAZY_BYTES) makeLazy(`${HOME}/${rel}`, await opfsFile(rel));
    } else if (!st) {
      await removeOpfs(rel);
    }
    prestored.delete(rel);
  }
  for (const [rel, st] of now) {
    const s = stamp(st);
    if (persisted.get(rel) === s) continue;
    const fh = await writeOpfs(rel, core.FS.readFile(`${HOME}/${rel}`));
    persisted.set(rel, s);
    if (st.size > LAZY_BYTES) makeLazy(`${HOME}/${rel}`, await fh.getFile());
  }
  for (const rel of Array.from(persisted.keys())) {
    if (!now.has(rel)) {
      await removeOpfs(rel);
      persisted.delete(rel);
    }
  }
  return now;
}

// A photo on its way in: kept in OPFS under the name the core's blob
// store gives it (blobs/<aa>/<sha256>) before the core records its row, so
// a row is never on disk without its photo.
async function prestorePhoto(bytes) {
  if (!bytes || bytes.length === 0) return;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  const sha = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  const rel = `blobs/${sha.slice(0, 2)}/${sha}`;
  if (persisted.has(rel)) return;  // held already: never rewritten
  await writeOpfs(rel, bytes);
  prestored.set(rel, bytes.length);
}

function cString(s) {
  const n = core.lengthBytesUTF8(s) + 1;
  const p = core._malloc(n);
  core.stringToUTF8(s, p, n);
  return p;
}

function withStrings(strings, fn) {
  const ptrs = strings.map((s) => cString(s == null ? '' : String(s)));
  try { return fn(...ptrs); } finally { ptrs.forEach((p) => core._free(p)); }
}

function withBytes(bytes, fn) {
  const n = bytes ? bytes.length : 0;
  const p = core._malloc(Math.max(n, 1));
  if (n) core.HEAPU8.set(bytes, p);
  try { return fn(p, n); } finally { core._free(p); }
}

// The bytes the app keeps in OPFS: the database and its journal (their
// handles' sizes: everything gathered is written before a request is
// answered) and every file of the home (the photos, the device key).
// GET /api/storage answers it here, not the core. The browser's own count
// (navigator.storage.estimate) is no measure of it: Chromium grants an open
// sync access handle room ahead of its writes (1 MiB at least, then the
// next power of two of the largest size the file reached, in steps of
// 128 MiB above that) and counts that room as used until the handle is
// closed, and the handles here stay open for the worker's life.
async function storedBytes() {
  let n = 0;
  for (const h of dbHandles) n += h.getSize();
  const walk = async (dir) => {
    for await (const entry of dir.values()) {
      if (entry.kind === 'directory') await walk(entry);
      else n += (await entry.getFile()).size;
    }
  };
  await walk(homeDir);
  return n;
}

async function call(msg) {
  if (msg.method === 'GET' && msg.path === '/api/storage') {
    const body = new TextEncoder().encode(JSON.stringify({ bytes: await storedBytes() })).buffer;
    return { status: 200, type: 'application/json', body };
  }
  const photos = [];
  for (const part of msg.parts || []) if (part.filename) photos.push(part.data);
  if (msg.method === 'POST' && msg.path === '/api/photo' && msg.body) photos.push(msg.body);
  for (const bytes of photos) await prestorePhoto(bytes);

  withStrings([msg.method, msg.path, msg.contentType || ''], (m, p, t) => core._kbo_app_begin(m, p, t));
  for (const [k, v] of msg.query || []) withStrings([k, v], (a, b) => core._kbo_app_query(a, b));
  for (const part of msg.parts || []) {
    withStrings([part.name, part.filename || '', part.type || ''], (n, f, t) =>
      withBytes(part.data, (p, len) => withBytes(part.head, (hp, hlen) =>
        core._kbo_app_part(n, f, t, p, len, hp, hlen))));
  }
  const status = withBytes(msg.body, (p, n) => core._kbo_app_send(p, n));
  const type = core.UTF8ToString(core._kbo_app_reply_type());
  const at = core._kbo_app_reply_data();
  const size = core._kbo_app_reply_size();
  const body = core.HEAPU8.slice(at, at + size).buffer;
  // The core's answer stands (its commit is on disk): a failure to copy the
  // other home files is retried after the next request, never reported as
  // the action's failure (the person would record it twice).
  let files = null;
  try {
    files = await persistHome();
  } catch (e) {
    console.warn('kbo: home files not yet written to storage, retried next time:', e);
  }
  dropLoaded();
  return { status, type, body, held: heldBytes(files || memFiles()) };
}

// A reloaded page's worker may start before the old one let go of the
// handles: a few tries over three seconds before "open elsewhere".
async function openHandle(fh) {
  for (let wait = 100; ; wait *= 2) {
    try {
      return await fh.createSyncAccessHandle();
    } catch (e) {
      if (!(e && e.name === 'NoModificationAllowedError') || wait > 1600) throw e;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

async function start() {
  if (!navigator.storage || !navigator.storage.getDirectory) {
    throw Object.assign(new Error('this browser has no Origin-Private File System: the app cannot keep records here'),
      { code: 'no_storage' });
  }
  const root = await navigator.storage.getDirectory();
  const dir = await root.getDirectoryHandle('kbo', { create: true });
  homeDir = await dir.getDirectoryHandle('home', { create: true });
  const handles = [];
  for (const name of DB_FILES) {
    const fh = await dir.getFileHandle(name, { create: true });
    try {
      handles.push(await openHandle(fh));
    } catch (e) {
      handles.forEach((h) => h.close());
      if (e && e.name === 'NoModificationAllowedError') {
        throw Object.assign(new Error('KBO Field is already open in another tab or window: use that one'),
          { code: 'other_tab' });
      }
      throw e;
    }
  }
  dbHandles = handles;
  core = await KboCore({
    kboOpfs: { names: DB_FILES.map((f) => `${HOME}/${f}`), handles },
    kboProgress: (json) => self.postMessage({ progress: json }),
    print: (s) => console.log(s),
    printErr: (s) => console.warn(s),
  });
  core.FS.mkdirTree(HOME);
  await restoreHome();
}

// Requests wait their turn: the core answers one at a time.
let queue = null;
const started = (async () => {
  try {
    await start();
    // The device key is in OPFS before the device row is committed: a
    // first start cut short never leaves a device that cannot sign.
    if (withStrings([HOME], (h) => core._kbo_app_prepare_key(h)) !== 0) {
      throw new Error(core.UTF8ToString(core._kbo_app_open_error()));
    }
    await persistHome();
    const rc = withStrings([HOME], (h) => core._kbo_app_open(h));
    if (rc !== 0) throw new Error(core.UTF8ToString(core._kbo_app_open_error()));
    await persistHome();
    self.postMessage({ ready: true });
  } catch (e) {
    self.postMessage({ fatal: e && e.message ? e.message : String(e), code: (e && e.code) || 'start' });
    throw e;
  }
})();
// (Reported to the page above; each request then answers the failure.)
started.catch(() => {});
queue = started;

self.onmessage = (event) => {
  const msg = event.data;
  queue = queue.then(() => call(msg)).then(
    (reply) => self.postMessage({ id: msg.id, ...reply }, [reply.body]),
    (e) => {
      const text = JSON.stringify({ error: 'internal', message: String(e && e.message ? e.message : e) });
      const body = new TextEncoder().encode(text).buffer;
      self.postMessage({ id: msg.id, status: 500, type: 'application/json', body }, [body]);
    });
};
