# Strict warnings for our own targets only; third-party headers come in
# through imported targets and are SYSTEM, so -Wpedantic stays on our code.
function(kbo_strict target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
  set_target_properties(${target} PROPERTIES COMPILE_WARNING_AS_ERROR ON)
endfunction()

# Test code (not the libraries it tests) is compiled with -O1 and line tables
# only in optimised builds: Catch2's assertion macros make every test file
# slow to compile at -O2 -g (25 s against 12 s for the largest), and the
# work a test measures runs in the -O2 libraries anyway. Backtraces still
# name file and line. Debug builds (the sanitizer pass) are left as they are.
function(kbo_test_code target)
  target_compile_options(${target} PRIVATE
    $<$<CONFIG:RelWithDebInfo,Release>:-O1 -g1>)
endfunction()
