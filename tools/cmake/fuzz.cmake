# -DKBO_FUZZ=ON: libFuzzer targets under tools/fuzzers (docs/fuzzing.md).
# Clang only. Every library is compiled with -fsanitize=fuzzer-no-link (the
# coverage libFuzzer steers by) on top of KBO_SANITIZE (tools/fuzz passes
# address,undefined); the targets link -fsanitize=fuzzer. Off by default, so
# a normal (GCC) build is unaffected.
option(KBO_FUZZ "Build the libFuzzer targets under tools/fuzzers (Clang)" OFF)
if(KBO_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KBO_FUZZ needs Clang (e.g. -DCMAKE_CXX_COMPILER=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
