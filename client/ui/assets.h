#ifndef KBO_CLIENT_UI_ASSETS_H_
#define KBO_CLIENT_UI_ASSETS_H_

#include <cstddef>

#include "shared/embedded.h"

// The web UI's files (client/ui/assets/), embedded at build time by
// kbo_embed in client/CMakeLists.txt: index.html, app.js, style.css,
// th.json, en.json, icon.svg.
namespace kbo::client::ui {

extern const kbo::EmbeddedFile kUiAssets[];
extern const size_t kUiAssets_count;

}  // namespace kbo::client::ui

#endif  // KBO_CLIENT_UI_ASSETS_H_
