# Copies the app's web files into OUT and writes OUT/sw.js from SW with
# @VERSION@ set to a hash of every file the app is made of (the core's .js
# and .wasm included), @HASHES@ to each file's SHA-256 (the service worker
# stores a version only if every file it fetched is that version's), and
# OUT/version.txt. Run by client/app/CMakeLists.txt.
set(_all "")
set(_hashes "")
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  configure_file(${f} ${OUT}/${name} COPYONLY)
  file(SHA256 ${f} h)
  string(APPEND _all "${name} ${h}\n")
  string(APPEND _hashes "  '${name}': '${h}',\n")
endforeach()
foreach(ext js wasm)
  file(SHA256 ${CORE}.${ext} h)
  string(APPEND _all "kbo-core.${ext} ${h}\n")
  string(APPEND _hashes "  'kbo-core.${ext}': '${h}',\n")
endforeach()
set(HASHES "{\n${_hashes}}")
file(SHA256 ${SW} h)
string(APPEND _all "sw.js ${h}\n")
string(SHA256 _version "${_all}")
string(SUBSTRING "${_version}" 0 16 VERSION)
configure_file(${SW} ${OUT}/sw.js @ONLY)
file(WRITE ${OUT}/version.txt "${VERSION}\n")
