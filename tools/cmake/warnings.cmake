# Strict warnings for our own targets only; third-party headers come in
# through imported targets and are SYSTEM, so -Wpedantic stays on our code.
function(kbo_strict target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
  set_target_properties(${target} PROPERTIES COMPILE_WARNING_AS_ERROR ON)
endfunction()
