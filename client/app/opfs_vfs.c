// SQLite over OPFS sync access handles: see opfs_vfs.h.

#include "client/app/opfs_vfs.h"

#include <emscripten.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

// clang-format off
// The handle's index in Module.kboOpfs.names for `path`, or -1.
EM_JS(int, kbo_opfs_find, (const char* path), {
  const o = Module.kboOpfs;
  return o ? o.names.indexOf(UTF8ToString(path)) : -1;
})
EM_JS(double, kbo_opfs_size, (int id), {
  try { return Module.kboOpfs.handles[id].getSize(); } catch (e) { Module.kboOpfs.error = String(e); return -1; }
})
// Bytes read (fewer at the end of the file), or -1.
EM_JS(double, kbo_opfs_read, (int id, void* buf, int n, double at), {
  try {
    return Module.kboOpfs.handles[id].read(HEAPU8.subarray(buf, buf + n), {at: at});
  } catch (e) { Module.kboOpfs.error = String(e); return -1; }
})
// Bytes written, -1 on an error, -2 when the browser's quota is used up.
EM_JS(double, kbo_opfs_write, (int id, const void* buf, int n, double at), {
  try {
    return Module.kboOpfs.handles[id].write(HEAPU8.subarray(buf, buf + n), {at: at});
  } catch (e) {
    Module.kboOpfs.error = String(e);
    return e && e.name === "QuotaExceededError" ? -2 : -1;
  }
})
EM_JS(int, kbo_opfs_truncate, (int id, double size), {
  try { Module.kboOpfs.handles[id].truncate(size); return 0; } catch (e) {
    Module.kboOpfs.error = String(e);
    return e && e.name === "QuotaExceededError" ? -2 : -1;
  }
})
EM_JS(int, kbo_opfs_flush, (int id), {
  try { Module.kboOpfs.handles[id].flush(); return 0; } catch (e) { Module.kboOpfs.error = String(e); return -1; }
})
EM_JS(int, kbo_opfs_ready, (), {
  return Module.kboOpfs && Module.kboOpfs.handles && Module.kboOpfs.handles.length > 0 ? 1 : 0;
})
// clang-format on

typedef struct OpfsFile {
  sqlite3_file base;
  int id;
} OpfsFile;

// Every call on a sync access handle costs about a millisecond in Chromium
// (measured here: write, read and getSize alike, whatever the size), so
// the VFS makes few of them. Each file's size is known here (nothing else
// writes the handles while the core has them), and writes that follow one
// another in the file (a commit writes its journal, then its pages, in
// order) are gathered into one buffer and written with one call: before
// the file is synced, truncated, read where the buffer would be, unlocked
// (the end of a transaction) or closed. SQLite's order of durability is
// kept: nothing it wrote before a sync is left unwritten after it.
enum { kMaxFiles = 8, kGatherBytes = 1 << 20 };

typedef struct OpfsState {
  int size_known;
  sqlite3_int64 size;    // the file's size, gathered bytes included
  unsigned char* buf;    // gathered bytes (kGatherBytes, made on first use)
  sqlite3_int64 at;      // where they go
  int len;
} OpfsState;

static OpfsState g_files[kMaxFiles];

static OpfsState* StateOf(int id) {
  return id >= 0 && id < kMaxFiles ? &g_files[id] : NULL;
}

// Writes what is gathered. SQLITE_OK, SQLITE_FULL or SQLITE_IOERR_WRITE.
static int WriteGathered(int id) {
  OpfsState* st = StateOf(id);
  if (st == NULL || st->len == 0) return SQLITE_OK;
  const int len = st->len;
  st->len = 0;
  const double put = kbo_opfs_write(id, st->buf, len, (double)st->at);
  if (put == -2) return SQLITE_FULL;
  return put == len ? SQLITE_OK : SQLITE_IOERR_WRITE;
}

// The file's size: asked of the handle once, then kept.
static int KnownSize(int id, sqlite3_int64* size) {
  OpfsState* st = StateOf(id);
  if (st != NULL && st->size_known) {
    *size = st->size;
    return SQLITE_OK;
  }
  const double n = kbo_opfs_size(id);
  if (n < 0) return SQLITE_IOERR_FSTAT;
  *size = (sqlite3_int64)n;
  if (st != NULL) {
    st->size = *size;
    st->size_known = 1;
  }
  return SQLITE_OK;
}

// The VFS this one stands in front of (temporary files, time, randomness).
static sqlite3_vfs* g_next = NULL;

static int OpfsClose(sqlite3_file* file) {
  // The handles stay open for the worker's life.
  return WriteGathered(((const OpfsFile*)file)->id);
}

static int OpfsRead(sqlite3_file* file, void* buf, int amount,
                    sqlite3_int64 offset) {
  const OpfsFile* f = (const OpfsFile*)file;
  const OpfsState* st = StateOf(f->id);
  // A read reaching the gathered bytes (or the gap before them) sees them
  // written first.
  if (st != NULL && st->len > 0 && offset + amount > st->at) {
    const int rc = WriteGathered(f->id);
    if (rc != SQLITE_OK) return rc;
  }
  const double got = kbo_opfs_read(f->id, buf, amount, (double)offset);
  if (got < 0) return SQLITE_IOERR_READ;
  if (got < amount) {
    // SQLite requires the rest zero-filled on a short read.
    memset((char*)buf + (int)got, 0, (size_t)(amount - (int)got));
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

static int OpfsWrite(sqlite3_file* file, const void* buf, int amount,
                     sqlite3_int64 offset) {
  const OpfsFile* f = (const OpfsFile*)file;
  OpfsState* st = StateOf(f->id);
  if (st != NULL && amount < kGatherBytes) {
    sqlite3_int64 size = 0;
    int rc = KnownSize(f->id, &size);
    if (rc != SQLITE_OK) return rc;
    if (st->len > 0 &&
        (offset != st->at + st->len || st->len + amount > kGatherBytes)) {
      rc = WriteGathered(f->id);
      if (rc != SQLITE_OK) return rc;
    }
    if (st->buf == NULL) {
      st->buf = (unsigned char*)sqlite3_malloc(kGatherBytes);
      if (st->buf == NULL) return SQLITE_NOMEM;
    }
    if (st->len == 0) st->at = offset;
    memcpy(st->buf + st->len, buf, (size_t)amount);
    st->len += amount;
    if (offset + amount > st->size) st->size = offset + amount;
    return SQLITE_OK;
  }
  int rc = WriteGathered(f->id);
  if (rc != SQLITE_OK) return rc;
  const double put = kbo_opfs_write(f->id, buf, amount, (double)offset);
  if (put == -2) return SQLITE_FULL;
  if (put != amount) return SQLITE_IOERR_WRITE;
  if (st != NULL && st->size_known && offset + amount > st->size) {
    st->size = offset + amount;
  }
  return SQLITE_OK;
}

static int OpfsTruncate(sqlite3_file* file, sqlite3_int64 size) {
  const OpfsFile* f = (const OpfsFile*)file;
  OpfsState* st = StateOf(f->id);
  int rc = WriteGathered(f->id);
  if (rc != SQLITE_OK) return rc;
  rc = kbo_opfs_truncate(f->id, (double)size);
  if (st != NULL) st->size_known = 0;  // asked again after a failure
  if (rc == -2) return SQLITE_FULL;
  if (rc != 0) return SQLITE_IOERR_TRUNCATE;
  if (st != NULL) {
    st->size = size;
    st->size_known = 1;
  }
  return SQLITE_OK;
}

static int OpfsSync(sqlite3_file* file, int flags) {
  (void)flags;
  const OpfsFile* f = (const OpfsFile*)file;
  const int rc = WriteGathered(f->id);
  if (rc != SQLITE_OK) return rc;
  return kbo_opfs_flush(f->id) == 0 ? SQLITE_OK : SQLITE_IOERR_FSYNC;
}

static int OpfsFileSize(sqlite3_file* file, sqlite3_int64* size) {
  return KnownSize(((const OpfsFile*)file)->id, size);
}

static int OpfsLock(sqlite3_file* file, int level) {
  (void)file;
  (void)level;
  return SQLITE_OK;
}

// The end of a transaction (or of a read): what is gathered is written, so
// that with synchronous = OFF too a commit is in the browser's hands when
// the action is answered.
static int OpfsUnlock(sqlite3_file* file, int level) {
  (void)level;
  return WriteGathered(((const OpfsFile*)file)->id);
}

static int OpfsCheckReservedLock(sqlite3_file* file, int* reserved) {
  (void)file;
  *reserved = 0;
  return SQLITE_OK;
}

static int OpfsFileControl(sqlite3_file* file, int op, void* arg) {
  (void)file;
  (void)op;
  (void)arg;
  return SQLITE_NOTFOUND;
}

static int OpfsSectorSize(sqlite3_file* file) {
  (void)file;
  return 4096;
}

static int OpfsDeviceCharacteristics(sqlite3_file* file) {
  (void)file;
  return 0;
}

static const sqlite3_io_methods kOpfsMethods = {
    1,  // iVersion: no shared memory, no mmap
    OpfsClose,
    OpfsRead,
    OpfsWrite,
    OpfsTruncate,
    OpfsSync,
    OpfsFileSize,
    OpfsLock,
    OpfsUnlock,
    OpfsCheckReservedLock,
    OpfsFileControl,
    OpfsSectorSize,
    OpfsDeviceCharacteristics,
    NULL, NULL, NULL, NULL, NULL, NULL};

static int OpfsOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* file,
                    int flags, int* out_flags) {
  (void)vfs;
  const int id = name ? kbo_opfs_find(name) : -1;
  if (id < 0) return g_next->xOpen(g_next, name, file, flags, out_flags);
  OpfsFile* f = (OpfsFile*)file;
  memset(f, 0, sizeof(*f));
  f->base.pMethods = &kOpfsMethods;
  f->id = id;
  if (out_flags) *out_flags = flags;
  return SQLITE_OK;
}

// "Deleting" a journal truncates it: a handle stays open, and SQLite takes
// a journal of size 0 for none.
static int OpfsDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  (void)vfs;
  const int id = kbo_opfs_find(name);
  if (id < 0) return g_next->xDelete(g_next, name, sync_dir);
  OpfsState* st = StateOf(id);
  if (st != NULL) {
    st->len = 0;  // what was gathered is deleted with the rest
    st->size_known = 0;
  }
  if (kbo_opfs_truncate(id, 0) != 0) return SQLITE_IOERR_DELETE;
  if (kbo_opfs_flush(id) != 0) return SQLITE_IOERR_DELETE;
  if (st != NULL) {
    st->size = 0;
    st->size_known = 1;
  }
  return SQLITE_OK;
}

static int OpfsAccess(sqlite3_vfs* vfs, const char* name, int flags,
                      int* result) {
  (void)vfs;
  const int id = kbo_opfs_find(name);
  if (id < 0) return g_next->xAccess(g_next, name, flags, result);
  sqlite3_int64 n = 0;
  if (KnownSize(id, &n) != SQLITE_OK) return SQLITE_IOERR_ACCESS;
  *result = n > 0;
  return SQLITE_OK;
}

static int OpfsFullPathname(sqlite3_vfs* vfs, const char* name, int n,
                            char* out) {
  (void)vfs;
  return g_next->xFullPathname(g_next, name, n, out);
}

static int OpfsRandomness(sqlite3_vfs* vfs, int n, char* out) {
  (void)vfs;
  return g_next->xRandomness(g_next, n, out);
}

static int OpfsSleep(sqlite3_vfs* vfs, int micros) {
  (void)vfs;
  return g_next->xSleep(g_next, micros);
}

static int OpfsCurrentTime(sqlite3_vfs* vfs, double* now) {
  (void)vfs;
  return g_next->xCurrentTime(g_next, now);
}

static int OpfsGetLastError(sqlite3_vfs* vfs, int n, char* out) {
  (void)vfs;
  return g_next->xGetLastError(g_next, n, out);
}

static sqlite3_vfs g_opfs = {
    1,     // iVersion
    0,     // szOsFile: set on registration
    1024,  // mxPathname
    NULL,  // pNext
    "kbo-opfs",
    NULL,  // pAppData
    OpfsOpen,
    OpfsDelete,
    OpfsAccess,
    OpfsFullPathname,
    NULL,  // xDlOpen
    NULL,  // xDlError
    NULL,  // xDlSym
    NULL,  // xDlClose
    OpfsRandomness,
    OpfsSleep,
    OpfsCurrentTime,
    OpfsGetLastError,
    NULL, NULL, NULL, NULL};

int kbo_opfs_vfs_register(void) {
  if (g_next != NULL) return SQLITE_OK;
  if (!kbo_opfs_ready()) return SQLITE_CANTOPEN;
  const int rc = sqlite3_initialize();
  if (rc != SQLITE_OK) return rc;
  sqlite3_vfs* next = sqlite3_vfs_find(NULL);
  if (next == NULL) return SQLITE_ERROR;
  g_opfs.szOsFile = next->szOsFile > (int)sizeof(OpfsFile)
                        ? next->szOsFile
                        : (int)sizeof(OpfsFile);
  g_next = next;
  return sqlite3_vfs_register(&g_opfs, 1);
}

int kbo_opfs_clear(const char* path) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(NULL);
  if (vfs == NULL) return SQLITE_ERROR;
  char journal[1100];
  if (snprintf(journal, sizeof journal, "%s-journal", path) >=
      (int)sizeof journal) {
    return SQLITE_CANTOPEN;
  }
  int rc = vfs->xDelete(vfs, path, 0);
  if (rc != SQLITE_OK && rc != SQLITE_IOERR_DELETE_NOENT) return rc;
  rc = vfs->xDelete(vfs, journal, 0);
  return rc == SQLITE_IOERR_DELETE_NOENT ? SQLITE_OK : rc;
}
