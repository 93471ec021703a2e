#include "client/ui/ui_cmd.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <memory>
#include <ostream>
#include <thread>
#include <utility>

#include "client/sync_client.h"
#include "client/ui/ui_server.h"

namespace kbo::client::ui {
namespace {

// Blocks SIGINT and SIGTERM in this thread and every thread it starts from
// now on (httplib's pool), and restores the old mask on destruction, so that
// one watcher thread can take them with sigtimedwait and stop the server
// cleanly: the store is closed normally, not torn down mid-request.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    blocked_ = pthread_sigmask(SIG_BLOCK, &set_, &old_) == 0;
  }
  ~StopSignals() {
    if (blocked_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool blocked() const { return blocked_; }
  // True if a stop signal arrived within ~200 ms.
  bool Wait() const {
    timespec timeout{0, 200L * 1000 * 1000};
    return sigtimedwait(&set_, nullptr, &timeout) > 0;
  }

 private:
  sigset_t set_{};
  sigset_t old_{};
  bool blocked_ = false;
};

}  // namespace

Status RunUiCommand(ClientStore& store, const std::vector<std::string>& args,
                    std::ostream& out, SyncHook sync, bool sync_own_store) {
  UiOptions opts;
  opts.out = &out;
  opts.sync = std::move(sync);
  opts.sync_own_store = sync_own_store;
  opts.enrol = EnrolHookFor(store);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--listen" || arg == "--home") {
      if (i + 1 >= args.size()) {
        return Status::InvalidArgument(arg + " needs a value");
      }
      if (arg == "--listen") opts.listen = args[i + 1];
      ++i;
    } else if (arg.rfind("--listen=", 0) == 0) {
      opts.listen = arg.substr(9);
    } else if (arg.rfind("--home=", 0) == 0) {
      continue;
    } else {
      return Status::InvalidArgument("unexpected argument '" + arg +
                                     "' (usage: kbo " +
                                     std::string(kUiCommandUsage) + ")");
    }
  }
  StopSignals signals;
  Result<std::unique_ptr<UiServer>> server = UiServer::Bind(store, opts);
  if (!server.ok()) return server.status();
  PrintBanner(**server, out);
  std::atomic<bool> done{false};
  UiServer* raw = server->get();
  std::thread watcher([&signals, &done, raw] {
    if (!signals.blocked()) return;
    while (!done) {
      if (signals.Wait()) {
        raw->Stop();
        return;
      }
    }
  });
  Status served = raw->Serve();
  done = true;
  watcher.join();
  return served;
}

}  // namespace kbo::client::ui
