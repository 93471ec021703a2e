// The app's batch benchmark (client/app/bench_main.cc) under Node, for
// quick iterations and profiles: the same WebAssembly code as kbo-bench.js,
// built for Node with its function names (kbo-bench-node.js, target
// kbo_app_bench_node, built on request), its four files held in memory in
// place of OPFS handles. The browser's storage is left out, so the ratio is
// the CPU of the two sides.
//
//   ninja -C build-wasm kbo_app_bench_node
//   node --no-experimental-fetch build-wasm/bench/bench-node.js [N]
//   node --no-experimental-fetch --cpu-prof build-wasm/bench/bench-node.js
//   node --no-experimental-fetch build-wasm/bench/bench-node.js 10000 --cpu
// --cpu: each side is timed in the process's CPU time (process.cpuUsage)
// instead of elapsed time: steadier on a machine that is busy with other
// work (the clock the module reads, through process.hrtime, is replaced).
'use strict';
const path = require('path');

class MemoryHandle {
  constructor() { this.data = new Uint8Array(0); this.size = 0; }
  reserve(n) {
    if (n <= this.data.length) return;
    const grown = new Uint8Array(Math.max(n, this.data.length * 2, 4096));
    grown.set(this.data.subarray(0, this.size));
    this.data = grown;
  }
  read(view, { at }) {
    const n = Math.max(0, Math.min(view.length, this.size - at));
    view.set(this.data.subarray(at, at + n));
    return n;
  }
  write(view, { at }) {
    this.reserve(at + view.length);
    if (at > this.size) this.data.fill(0, this.size, at);
    this.data.set(view, at);
    this.size = Math.max(this.size, at + view.length);
    return view.length;
  }
  truncate(n) {
    this.reserve(n);
    if (n > this.size) this.data.fill(0, this.size, n);
    this.size = n;
  }
  getSize() { return this.size; }
  flush() {}
  close() {}
}

const PATHS = ['/bench/store/field.db', '/bench/store/field.db-journal',
               '/bench/floor.db', '/bench/floor.db-journal'];
const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) || 10000);
if (args.includes('--cpu')) {
  process.hrtime = () => {
    const { user, system } = process.cpuUsage();
    const us = user + system;
    return [Math.floor(us / 1e6), (us % 1e6) * 1e3];
  };
}
const KboBench = require(path.join(__dirname, 'kbo-bench-node.js'));
KboBench({ kboOpfs: { names: PATHS, handles: PATHS.map(() => new MemoryHandle()) } })
  .then((core) => {
    core.FS.mkdirTree('/bench/store');
    console.log(core.UTF8ToString(core._kbo_bench_batch(n)));
  });
