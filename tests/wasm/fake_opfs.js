// OPFS sync access handles for tests/wasm/opfs_vfs_test.cc under Node, which
// has no OPFS: in memory, with the semantics the VFS relies on (read returns
// what there is, write extends with zeros, truncate, getSize, flush). Each
// handle keeps two states: `data`, what was written (what a killed tab
// leaves), and `durable`, what was flushed (what a power cut leaves).
// Every call is counted, and the test can take and restore both states.
class FakeSyncAccessHandle {
  constructor() {
    this.data = new Uint8Array(0);
    this.size = 0;
    this.durable = new Uint8Array(0);
  }
  reserve(n) {
    if (n <= this.data.length) return;
    const grown = new Uint8Array(Math.max(n, this.data.length * 2, 4096));
    grown.set(this.data.subarray(0, this.size));
    this.data = grown;
  }
  read(view, { at }) {
    Module.fakeOpfs.calls++;
    const n = Math.max(0, Math.min(view.length, this.size - at));
    view.set(this.data.subarray(at, at + n));
    return n;
  }
  // A file may not grow past Module.fakeOpfs.quota bytes: as the browser,
  // the call throws QuotaExceededError and changes nothing.
  checkQuota(n) {
    if (n > this.size && n > Module.fakeOpfs.quota) {
      throw new DOMException('the origin is out of storage', 'QuotaExceededError');
    }
  }
  write(view, { at }) {
    Module.fakeOpfs.calls++;
    this.checkQuota(at + view.length);
    this.reserve(at + view.length);
    if (at > this.size) this.data.fill(0, this.size, at);
    this.data.set(view, at);
    this.size = Math.max(this.size, at + view.length);
    Module.fakeOpfs.afterWrite();
    return view.length;
  }
  truncate(n) {
    Module.fakeOpfs.calls++;
    this.checkQuota(n);
    this.reserve(n);
    if (n > this.size) this.data.fill(0, this.size, n);
    this.size = n;
    Module.fakeOpfs.afterWrite();
  }
  getSize() {
    Module.fakeOpfs.calls++;
    return this.size;
  }
  flush() {
    Module.fakeOpfs.calls++;
    this.durable = this.data.slice(0, this.size);
    Module.fakeOpfs.afterFlush();
  }
  close() {}
}

Module.kboOpfs = {
  names: ['/opfs/field.db', '/opfs/field.db-journal'],
  handles: [new FakeSyncAccessHandle(), new FakeSyncAccessHandle()],
};
Module.fakeOpfs = {
  calls: 0,
  quota: Infinity,
  recording: false,
  written: [],  // the files as written, after each write or truncate
  flushed: [],  // the files as flushed, after each flush
  state(which) {
    return Module.kboOpfs.handles.map((h) =>
      which === 'durable' ? h.durable.slice() : h.data.slice(0, h.size));
  },
  afterWrite() { if (this.recording) this.written.push(this.state('written')); },
  afterFlush() { if (this.recording) this.flushed.push(this.state('durable')); },
  // Puts the files back as they were in `files` (both states).
  restore(files) {
    Module.kboOpfs.handles.forEach((h, i) => {
      h.data = files[i].slice();
      h.size = files[i].length;
      h.durable = files[i].slice();
    });
  },
};
