#ifndef KBO_CLIENT_UI_UI_CMD_H_
#define KBO_CLIENT_UI_UI_CMD_H_

// `kbo ui [--listen ADDR:PORT]`, for the CLI's command table
// (client/cli/cli.cc). Kept here so that client/cli needs no httplib.

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "client/store.h"
#include "client/ui/ui_api.h"
#include "shared/status.h"

namespace kbo::client::ui {

// The synopsis after "kbo " and the one-line summary, for `kbo help`.
inline constexpr std::string_view kUiCommandUsage =
    "ui [--listen 127.0.0.1:8080]";
inline constexpr std::string_view kUiCommandSummary =
    "serve the mobile web UI on this device (port 0 picks a free port; an "
    "address other than loopback needs the PIN it prints)";

// Runs `kbo ui`. `args` are the words after "ui": "--listen ADDR:PORT" or
// "--listen=ADDR:PORT"; "--home DIR" is skipped (the caller opened `store`
// from it). Prints "listening on http://HOST:PORT" (and the PIN off
// loopback) to `out`, then serves until SIGINT or SIGTERM, and returns OK.
// kInvalidArgument for an unknown flag or a malformed address (nothing is
// served); kUnavailable if the address cannot be bound.
// `sync` is what the UI's sync button runs (see SyncHook); empty: the button
// reports "sync not available". `sync_own_store`: it syncs through a store
// of its own (OwnStoreSyncHookFor), so the screens are answered meanwhile.
Status RunUiCommand(ClientStore& store, const std::vector<std::string>& args,
                    std::ostream& out, SyncHook sync = nullptr,
                    bool sync_own_store = false);

}  // namespace kbo::client::ui

#endif  // KBO_CLIENT_UI_UI_CMD_H_
