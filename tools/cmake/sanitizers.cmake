# -DKBO_SANITIZE=address,undefined builds everything with ASan+UBSan;
# any report aborts the test (no recovery).
set(KBO_SANITIZE "" CACHE STRING "Sanitizers to enable, e.g. address,undefined")
if(KBO_SANITIZE)
  add_compile_options(-fsanitize=${KBO_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${KBO_SANITIZE})
endif()
