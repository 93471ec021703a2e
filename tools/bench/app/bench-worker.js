// The app's batch benchmark in a worker (client/app/bench_main.cc): opens
// the OPFS handles of its two databases (kbo-bench/ in OPFS, emptied after),
// runs kbo_bench_batch, posts its JSON back.
'use strict';
importScripts('kbo-bench.js');

const FILES = ['store-field.db', 'store-field.db-journal', 'floor.db', 'floor.db-journal'];
const PATHS = ['/bench/store/field.db', '/bench/store/field.db-journal', '/bench/floor.db', '/bench/floor.db-journal'];

self.onmessage = async (event) => {
  let handles = [];
  let dir = null;
  try {
    const root = await navigator.storage.getDirectory();
    dir = await root.getDirectoryHandle('kbo-bench', { create: true });
    for (const name of FILES) {
      handles.push(await (await dir.getFileHandle(name, { create: true })).createSyncAccessHandle());
    }
    const core = await KboBench({ kboOpfs: { names: PATHS, handles } });
    core.FS.mkdirTree('/bench/store');
    const json = core.UTF8ToString(core._kbo_bench_batch(event.data.n));
    self.postMessage(JSON.parse(json));
  } catch (e) {
    self.postMessage({ error: String(e && e.message ? e.message : e) });
  } finally {
    handles.forEach((h) => h.close());
    if (dir) for (const name of FILES) await dir.removeEntry(name).catch(() => {});
  }
};
