# The WebAssembly build (docs/phone-app.md, "Building"): included by the top
# CMakeLists.txt when configured with emscripten's toolchain
#   emcmake cmake -S . -B build-wasm -DKBO_WASM_SOURCES=DIR
# where DIR was filled by tools/wasm/fetch-sources (Debian's source packages,
# checksummed). It compiles libsodium, zstd and SQLite from those sources and
# gives them the target names the native build gets from pkg-config and
# find_package, so that shared/ builds unchanged. Header-only libraries
# (nlohmann-json, Catch2, cereal) are Debian's, seen through a folder of
# links (the whole of /usr/include would bring the host's C library).
set(KBO_WASM_SOURCES "" CACHE PATH "folder filled by tools/wasm/fetch-sources")
if(NOT EXISTS "${KBO_WASM_SOURCES}/.complete")
  message(FATAL_ERROR "KBO_WASM_SOURCES (${KBO_WASM_SOURCES}) holds no fetched "
    "sources: run tools/wasm/fetch-sources DIR and configure with "
    "-DKBO_WASM_SOURCES=DIR")
endif()

# Every object is compiled with C++ exceptions on (the core reports with
# Status, but the standard library, nlohmann::json and Catch2 throw), as
# WebAssembly's own exception handling (Chrome 95+, Node 17+). Emscripten's
# other kind, -fexceptions, runs every call that has a destructor to undo
# through a JavaScript trampoline: the store's batch write ran 2.4x slower
# (docs/decisions.md, "WebAssembly exceptions").
set(KBO_WASM_EXCEPTIONS "wasm" CACHE STRING "wasm (-fwasm-exceptions) or js (-fexceptions)")
if(KBO_WASM_EXCEPTIONS STREQUAL "js")
  add_compile_options(-fexceptions)
  add_link_options(-fexceptions)
else()
  add_compile_options(-fwasm-exceptions)
  add_link_options(-fwasm-exceptions)
endif()

# --- libsodium 1.0.18 (Debian's source package) ----------------------------
set(_sodium ${KBO_WASM_SOURCES}/libsodium/src/libsodium)
file(GLOB_RECURSE _sodium_sources CONFIGURE_DEPENDS ${_sodium}/*.c)
set(_sodium_gen ${CMAKE_BINARY_DIR}/wasm-gen/sodium)
set(VERSION 1.0.18)
set(SODIUM_LIBRARY_VERSION_MAJOR 10)
set(SODIUM_LIBRARY_VERSION_MINOR 3)
set(SODIUM_LIBRARY_MINIMAL_DEF "")
# The headers, copied beside the version.h configure would write.
file(COPY ${_sodium}/include/ DESTINATION ${_sodium_gen} PATTERN "*.in" EXCLUDE)
configure_file(${_sodium}/include/sodium/version.h.in
  ${_sodium_gen}/sodium/version.h @ONLY)
add_library(kbo_wasm_sodium STATIC ${_sodium_sources})
target_include_directories(kbo_wasm_sodium SYSTEM PUBLIC ${_sodium_gen})
target_include_directories(kbo_wasm_sodium PRIVATE ${_sodium_gen}/sodium)
# What libsodium's configure decides for emscripten (dist-build/
# emscripten.sh): no assembly, no threads, a little-endian target, and
# emscripten's musl has explicit_bzero (configure's AC_CHECK_FUNCS finds
# it), which sodium_memzero then uses to wipe secrets instead of its
# fallback of one volatile byte store at a time (docs/performance.md, "The
# phone app in Chromium").
target_compile_definitions(kbo_wasm_sodium PRIVATE
  CONFIGURED=1 NATIVE_LITTLE_ENDIAN=1 HAVE_C_VARARRAYS=1
  HAVE_CATCHABLE_SEGV=0 HAVE_CATCHABLE_ABRT=0 HAVE_EXPLICIT_BZERO=1)
target_compile_options(kbo_wasm_sodium PRIVATE -O2 -w)
add_library(PkgConfig::SODIUM ALIAS kbo_wasm_sodium)

# --- zstd 1.5.4 (Debian's source package) ----------------------------------
set(_zstd ${KBO_WASM_SOURCES}/zstd/lib)
file(GLOB _zstd_sources CONFIGURE_DEPENDS
  ${_zstd}/common/*.c ${_zstd}/compress/*.c ${_zstd}/decompress/*.c)
add_library(kbo_wasm_zstd STATIC ${_zstd_sources})
target_include_directories(kbo_wasm_zstd SYSTEM PUBLIC ${_zstd})
target_compile_definitions(kbo_wasm_zstd PRIVATE
  ZSTD_DISABLE_ASM=1 ZSTD_MULTITHREAD=0 ZSTD_LEGACY_SUPPORT=0)
target_compile_options(kbo_wasm_zstd PRIVATE -O2 -w)
add_library(PkgConfig::ZSTD ALIAS kbo_wasm_zstd)

# --- SQLite 3.40.1 (the amalgamation fetch-sources generates) --------------
add_library(kbo_wasm_sqlite STATIC ${KBO_WASM_SOURCES}/sqlite/sqlite3.c)
target_include_directories(kbo_wasm_sqlite SYSTEM PUBLIC ${KBO_WASM_SOURCES}/sqlite)
# One thread; no loadable extensions; the features the schema uses.
target_compile_definitions(kbo_wasm_sqlite PRIVATE
  SQLITE_THREADSAFE=0 SQLITE_OMIT_LOAD_EXTENSION=1 SQLITE_ENABLE_JSON1=1
  SQLITE_DEFAULT_FOREIGN_KEYS=0 SQLITE_DQS=0 SQLITE_USE_URI=1)
target_compile_options(kbo_wasm_sqlite PRIVATE -O2 -w)
add_library(SQLite::SQLite3 ALIAS kbo_wasm_sqlite)

# --- header-only libraries, Debian's --------------------------------------
set(_hostinc ${CMAKE_BINARY_DIR}/wasm-gen/host-include)
file(MAKE_DIRECTORY ${_hostinc})
foreach(dir nlohmann catch2 cereal)
  if(EXISTS /usr/include/${dir} AND NOT EXISTS ${_hostinc}/${dir})
    file(CREATE_LINK /usr/include/${dir} ${_hostinc}/${dir} SYMBOLIC)
  endif()
endforeach()
add_library(kbo_wasm_headers INTERFACE)
target_include_directories(kbo_wasm_headers SYSTEM INTERFACE ${_hostinc})
add_library(nlohmann_json::nlohmann_json ALIAS kbo_wasm_headers)
add_library(Catch2::Catch2 ALIAS kbo_wasm_headers)
add_library(cereal::cereal ALIAS kbo_wasm_headers)
