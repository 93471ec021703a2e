#ifndef KBO_CLIENT_APP_OPFS_VFS_H_
#define KBO_CLIENT_APP_OPFS_VFS_H_

// SQLite on the browser's Origin-Private File System (OPFS), for the phone
// app's worker (docs/phone-app.md, "Storage"). A small SQLite VFS whose
// files are OPFS sync access handles, which a dedicated worker may read,
// write, truncate and flush synchronously: every commit of the client's
// store is flushed to the browser's disk before the action is answered, as
// natively. client/app/web/worker.js opens the handles before the core
// starts (opening one is asynchronous) and lists them in Module.kboOpfs:
//   { names: ["/kbo/field.db", "/kbo/field.db-journal"], handles: [...] }
// A file SQLite opens whose path is listed is that handle; any other
// (temporary files) goes to the default VFS, in memory. Calls on a handle
// are slow in Chromium (~1 ms each), so writes are gathered and a database
// of up to 32 MiB is read once and kept in memory (opfs_vfs.c).
//
// No shared memory (xShm*), so the database runs with a rollback journal,
// not WAL: `PRAGMA journal_mode = WAL` keeps DELETE, whose journal
// "deletion" here is truncating it to nothing (the commit point; a journal
// of size 0 does not exist for SQLite). Locks are no-ops: a sync access
// handle is exclusive, so one tab at most holds the database (a second
// tab's worker fails to open the handles and says so). The no-op locks also
// assume ONE connection per database (Db::Open makes one): a second would
// take the first one's live journal for a hot one and roll it back.

// What the app runs on its database after opening it, and so the
// benchmark's floor too (tools/bench/app.js): a page cache of 32 MiB. With
// a rollback journal, a transaction whose changed pages outgrow the cache
// must write and flush the journal before it may spill them into the
// database (WAL, natively, appends instead): SQLite's default 2 MiB spilled
// in a 10,000-mark roll-call or import and made it 1.6x slower.
#define KBO_APP_SQLITE_PRAGMAS "PRAGMA cache_size = -32768"

#ifdef __cplusplus
extern "C" {
#endif

// Registers the VFS as SQLite's default. 0 (SQLITE_OK) on success, or a
// SQLite error code (SQLITE_CANTOPEN if the worker listed no handles, or
// more than eight). Calling it again is harmless.
int kbo_opfs_vfs_register(void);

// Empties the database at `path` and its journal (a listed file is
// truncated, any other deleted), for the benchmark's rounds. 0 or a SQLite
// error code.
int kbo_opfs_clear(const char* path);

// Forgets what the VFS knows of the files (sizes, what it gathered, their
// images), as a new worker starts: for tests, with no database open.
void kbo_opfs_forget(void);

#ifdef __cplusplus
}
#endif

#endif  // KBO_CLIENT_APP_OPFS_VFS_H_
