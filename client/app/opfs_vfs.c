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
// How many handles the worker opened (0 if none).
EM_JS(int, kbo_opfs_count, (), {
  return Module.kboOpfs && Module.kboOpfs.handles ? Module.kboOpfs.handles.length : 0;
})
// clang-format on

typedef struct OpfsFile {
  sqlite3_file base;
  int id;
} OpfsFile;

// Every call on a sync access handle costs about a millisecond in Chromium
// (measured here: write, read and getSize alike, whatever the size), so
// the VFS makes few of them:
// - each file's size is known here (nothing else writes the handles while
//   the core has them);
// - writes that follow one another in the file (a commit writes its
//   journal, then its pages, in order) are gathered into one buffer and
//   written with one call: before the file is synced, truncated, read from
//   the handle, unlocked (the end of a transaction) or closed. SQLite's
//   order of durability is kept: nothing it wrote before a sync is left
//   unwritten after it;
// - a file of up to kImageMaxBytes is read whole, once, on its first read,
//   and its image in memory kept up to date by every write: later reads
//   (the first tap on a screen reads tens of pages SQLite's cache has not
//   seen) cost no call. A file that outgrows it is read from the handle.
// After a failed call, what is known here is forgotten and asked again.
// At most kMaxFiles handles (the app has two, the benchmark four).
// (The limits are smaller in tests/wasm/opfs_vfs_test.cc, to cross them.)
#ifndef KBO_OPFS_GATHER_BYTES
#define KBO_OPFS_GATHER_BYTES (1 << 20)
#endif
#ifndef KBO_OPFS_IMAGE_MAX_BYTES
#define KBO_OPFS_IMAGE_MAX_BYTES (32 << 20)
#endif
enum {
  kMaxFiles = 8,
  kGatherBytes = KBO_OPFS_GATHER_BYTES,
  kImageMaxBytes = KBO_OPFS_IMAGE_MAX_BYTES
};

typedef struct OpfsState {
  int size_known;
  sqlite3_int64 size;     // the file's size, gathered bytes included
  unsigned char* buf;     // gathered bytes (kGatherBytes, made on first use)
  sqlite3_int64 at;       // where they go
  int len;
  unsigned char* image;   // the whole file (`size` bytes; zero after), or NULL
  sqlite3_int64 image_capacity;
  int image_refused;      // too large when last tried
  int journal;            // opened as SQLite's rollback journal
  int lost;               // see WriteGathered
} OpfsState;

static OpfsState g_files[kMaxFiles];

// (kbo_opfs_vfs_register refused more handles than kMaxFiles.)
static OpfsState* StateOf(int id) { return &g_files[id]; }

static void DropImage(OpfsState* st) {
  sqlite3_free(st->image);
  st->image = NULL;
  st->image_capacity = 0;
}

static void Forget(OpfsState* st) {
  st->size_known = 0;
  st->len = 0;
  DropImage(st);
  st->image_refused = 0;
}

// Writes what is gathered. SQLITE_OK, SQLITE_FULL or SQLITE_IOERR_WRITE.
//
// On a failure the gathered bytes are gone, though SQLite was told they
// were written. For the database file that is mended by the rollback that
// follows the error (every page it gathered is in the journal). For the
// journal it is not: the rollback would find an empty journal, restore
// nothing, and leave the refused transaction's pages in SQLite's cache as
// if committed (shown, and synced, until the app is reopened: a phone
// whose storage was full). So the journal is marked lost: until SQLite
// closes it at the end of the transaction, asking its size, reading,
// writing or syncing it fails, the rollback fails with it, and SQLite
// drops its cache and reads the database file again, which the failed
// commit never touched. (This relies on SQLite closing the journal at the
// end of each transaction: journal_mode DELETE, the default, and no
// exclusive locking; the app sets neither.)
static int WriteGathered(int id) {
  OpfsState* st = StateOf(id);
  if (st->len == 0) return SQLITE_OK;
  const int len = st->len;
  st->len = 0;
  const double put = kbo_opfs_write(id, st->buf, len, (double)st->at);
  if (put == len) return SQLITE_OK;
  Forget(st);
  if (st->journal) st->lost = 1;
  return put == -2 ? SQLITE_FULL : SQLITE_IOERR_WRITE;
}

// The file's size: asked of the handle once, then kept.
static int KnownSize(int id, sqlite3_int64* size) {
  OpfsState* st = StateOf(id);
  if (!st->size_known) {
    const double n = kbo_opfs_size(id);
    if (n < 0) return SQLITE_IOERR_FSTAT;
    st->size = (sqlite3_int64)n;
    st->size_known = 1;
  }
  *size = st->size;
  return SQLITE_OK;
}

// Room in the image for `need` bytes, the new ones zero (so the bytes past
// the file's end are always zero); 0 if the file is now too large for one
// (the image is dropped).
static int ImageReserve(OpfsState* st, sqlite3_int64 need) {
  if (need > kImageMaxBytes) {
    DropImage(st);
    st->image_refused = 1;
    return 0;
  }
  if (need > st->image_capacity) {
    sqlite3_int64 capacity = st->image_capacity * 2;
    if (capacity < need) capacity = need;
    if (capacity < 65536) capacity = 65536;
    if (capacity > kImageMaxBytes) capacity = kImageMaxBytes;
    unsigned char* grown =
        (unsigned char*)sqlite3_realloc64(st->image, (sqlite3_uint64)capacity);
    if (grown == NULL) {
      DropImage(st);
      return 0;
    }
    memset(grown + st->image_capacity, 0,
           (size_t)(capacity - st->image_capacity));
    st->image = grown;
    st->image_capacity = capacity;
  }
  return 1;
}

// The image after a write of [offset, offset + amount) (a gap before it
// reads as zero, as in the file).
static void ImagePut(OpfsState* st, const void* buf, int amount,
                     sqlite3_int64 offset) {
  if (st->image != NULL && ImageReserve(st, offset + amount)) {
    memcpy(st->image + offset, buf, (size_t)amount);
  }
}

// Reads the whole file into its image, with one call. 0 if it stays
// without one (too large, no memory, or the read failed); then *rc is the
// error of writing what was gathered first, which the caller must report
// (else SQLite would read the file without the bytes it wrote), or
// SQLITE_OK.
static int ImageLoad(int id, OpfsState* st, int* rc) {
  *rc = SQLITE_OK;
  if (st->image != NULL) return 1;
  if (st->image_refused) return 0;
  sqlite3_int64 size = 0;
  *rc = WriteGathered(id);
  if (*rc != SQLITE_OK || KnownSize(id, &size) != SQLITE_OK) return 0;
  if (!ImageReserve(st, size)) return 0;
  sqlite3_int64 got = 0;
  while (got < size) {
    const double n = kbo_opfs_read(id, st->image + got, (int)(size - got), (double)got);
    if (n <= 0) {
      Forget(st);
      return 0;
    }
    got += (sqlite3_int64)n;
  }
  return 1;
}

// The VFS this one stands in front of (temporary files, time, randomness).
static sqlite3_vfs* g_next = NULL;

static int OpfsClose(sqlite3_file* file) {
  // The handles stay open for the worker's life.
  const int id = ((const OpfsFile*)file)->id;
  const int rc = WriteGathered(id);
  StateOf(id)->lost = 0;  // the next transaction's journal starts afresh
  return rc;
}

static int OpfsRead(sqlite3_file* file, void* buf, int amount,
                    sqlite3_int64 offset) {
  const OpfsFile* f = (const OpfsFile*)file;
  OpfsState* st = StateOf(f->id);
  if (st->lost) return SQLITE_IOERR_READ;
  int rc = SQLITE_OK;
  if (ImageLoad(f->id, st, &rc)) {
    const sqlite3_int64 have = st->size > offset ? st->size - offset : 0;
    const int got = have >= amount ? amount : (int)have;
    memcpy(buf, st->image + offset, (size_t)(got > 0 ? got : 0));
    if (got < amount) {
      memset((char*)buf + got, 0, (size_t)(amount - got));
      return SQLITE_IOERR_SHORT_READ;
    }
    return SQLITE_OK;
  }
  if (rc != SQLITE_OK) return rc;
  // From the handle, which must hold what was gathered first.
  if (st->len > 0 && offset + amount > st->at) {
    rc = WriteGathered(f->id);
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
  if (st->lost) return SQLITE_IOERR_WRITE;
  sqlite3_int64 size = 0;
  int rc = KnownSize(f->id, &size);
  if (rc != SQLITE_OK) return rc;
  ImagePut(st, buf, amount, offset);
  if (offset + amount > size) st->size = offset + amount;
  if (amount < kGatherBytes) {
    if (st->len > 0 &&
        (offset != st->at + st->len || st->len + amount > kGatherBytes)) {
      rc = WriteGathered(f->id);
      if (rc != SQLITE_OK) return rc;
    }
    if (st->buf == NULL) {
      st->buf = (unsigned char*)sqlite3_malloc(kGatherBytes);
      if (st->buf == NULL) {
        Forget(st);
        return SQLITE_NOMEM;
      }
    }
    if (st->len == 0) st->at = offset;
    memcpy(st->buf + st->len, buf, (size_t)amount);
    st->len += amount;
    return SQLITE_OK;
  }
  rc = WriteGathered(f->id);
  if (rc != SQLITE_OK) return rc;
  const double put = kbo_opfs_write(f->id, buf, amount, (double)offset);
  if (put == amount) return SQLITE_OK;
  Forget(st);
  if (st->journal) st->lost = 1;  // as in WriteGathered
  return put == -2 ? SQLITE_FULL : SQLITE_IOERR_WRITE;
}

static int OpfsTruncate(sqlite3_file* file, sqlite3_int64 size) {
  const OpfsFile* f = (const OpfsFile*)file;
  OpfsState* st = StateOf(f->id);
  int rc = WriteGathered(f->id);
  if (rc != SQLITE_OK) return rc;
  rc = kbo_opfs_truncate(f->id, (double)size);
  if (rc != 0) {
    Forget(st);
    return rc == -2 ? SQLITE_FULL : SQLITE_IOERR_TRUNCATE;
  }
  if (st->image != NULL && size > st->size) {
    ImageReserve(st, size);  // the new bytes are zero
  } else if (st->image != NULL && size < st->size) {
    memset(st->image + size, 0, (size_t)(st->size - size));
  }
  st->size = size;
  st->size_known = 1;
  return SQLITE_OK;
}

static int OpfsSync(sqlite3_file* file, int flags) {
  (void)flags;
  const OpfsFile* f = (const OpfsFile*)file;
  if (StateOf(f->id)->lost) return SQLITE_IOERR_FSYNC;
  const int rc = WriteGathered(f->id);
  if (rc != SQLITE_OK) return rc;
  return kbo_opfs_flush(f->id) == 0 ? SQLITE_OK : SQLITE_IOERR_FSYNC;
}

static int OpfsFileSize(sqlite3_file* file, sqlite3_int64* size) {
  const int id = ((const OpfsFile*)file)->id;
  // (A rollback asks the journal's size before reading it: an empty one
  // would be "nothing to undo".)
  if (StateOf(id)->lost) return SQLITE_IOERR_FSTAT;
  return KnownSize(id, size);
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
  StateOf(id)->journal = (flags & SQLITE_OPEN_MAIN_JOURNAL) != 0;
  StateOf(id)->lost = 0;
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
  Forget(st);  // what was gathered is deleted with the rest
  if (kbo_opfs_truncate(id, 0) != 0) return SQLITE_IOERR_DELETE;
  if (kbo_opfs_flush(id) != 0) return SQLITE_IOERR_DELETE;
  st->size = 0;
  st->size_known = 1;
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
  const int handles = kbo_opfs_count();
  if (handles <= 0 || handles > kMaxFiles) return SQLITE_CANTOPEN;
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

void kbo_opfs_forget(void) {
  for (int id = 0; id < kMaxFiles; ++id) {
    Forget(&g_files[id]);
    sqlite3_free(g_files[id].buf);
    g_files[id].buf = NULL;
    g_files[id].journal = 0;
    g_files[id].lost = 0;
  }
}
