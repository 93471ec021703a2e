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

// The VFS this one stands in front of (temporary files, time, randomness).
static sqlite3_vfs* g_next = NULL;

static int OpfsClose(sqlite3_file* file) {
  (void)file;  // the handles stay open for the worker's life
  return SQLITE_OK;
}

static int OpfsRead(sqlite3_file* file, void* buf, int amount,
                    sqlite3_int64 offset) {
  const OpfsFile* f = (const OpfsFile*)file;
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
  const double put = kbo_opfs_write(f->id, buf, amount, (double)offset);
  if (put == -2) return SQLITE_FULL;
  if (put != amount) return SQLITE_IOERR_WRITE;
  return SQLITE_OK;
}

static int OpfsTruncate(sqlite3_file* file, sqlite3_int64 size) {
  const OpfsFile* f = (const OpfsFile*)file;
  const int rc = kbo_opfs_truncate(f->id, (double)size);
  if (rc == -2) return SQLITE_FULL;
  return rc == 0 ? SQLITE_OK : SQLITE_IOERR_TRUNCATE;
}

static int OpfsSync(sqlite3_file* file, int flags) {
  (void)flags;
  const OpfsFile* f = (const OpfsFile*)file;
  return kbo_opfs_flush(f->id) == 0 ? SQLITE_OK : SQLITE_IOERR_FSYNC;
}

static int OpfsFileSize(sqlite3_file* file, sqlite3_int64* size) {
  const OpfsFile* f = (const OpfsFile*)file;
  const double n = kbo_opfs_size(f->id);
  if (n < 0) return SQLITE_IOERR_FSTAT;
  *size = (sqlite3_int64)n;
  return SQLITE_OK;
}

static int OpfsLock(sqlite3_file* file, int level) {
  (void)file;
  (void)level;
  return SQLITE_OK;
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
    OpfsLock,  // xUnlock
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
  if (kbo_opfs_truncate(id, 0) != 0) return SQLITE_IOERR_DELETE;
  if (kbo_opfs_flush(id) != 0) return SQLITE_IOERR_DELETE;
  return SQLITE_OK;
}

static int OpfsAccess(sqlite3_vfs* vfs, const char* name, int flags,
                      int* result) {
  (void)vfs;
  const int id = kbo_opfs_find(name);
  if (id < 0) return g_next->xAccess(g_next, name, flags, result);
  const double n = kbo_opfs_size(id);
  if (n < 0) return SQLITE_IOERR_ACCESS;
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
