# Strict warnings for our own targets only; third-party headers come in
# through imported targets and are SYSTEM, so -Wpedantic stays on our code.
function(kbo_strict target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
  set_target_properties(${target} PROPERTIES COMPILE_WARNING_AS_ERROR ON)
endfunction()

# Test code (not the libraries it tests) is compiled for compile speed: the
# work a test measures runs in the libraries, built as the build type says.
# Catch2's assertion macros make every test file slow to compile (the test
# files are 40 % of the build from empty): in optimised builds -Og and line
# tables only (the largest file 17.5 s at -O1, 12 s at -Og); in Debug builds
# (the sanitizer pass) line tables only, and no libFuzzer coverage (KBO_FUZZ
# instruments the libraries the fuzz targets link; the tests need none of it:
# a third of a test file's compile time). Backtraces still name file and line.
function(kbo_test_code target)
  target_compile_options(${target} PRIVATE
    $<$<CONFIG:RelWithDebInfo,Release>:-Og -g1>
    $<$<AND:$<CONFIG:Debug>,$<CXX_COMPILER_ID:Clang>>:-gline-tables-only>
    $<$<AND:$<CONFIG:Debug>,$<CXX_COMPILER_ID:GNU>>:-g1>)
  if(KBO_FUZZ)
    target_compile_options(${target} PRIVATE -fno-sanitize=fuzzer-no-link)
  endif()
endfunction()
