# kbo_embed(OUT_CC NAMESPACE ns SYMBOL sym HEADER h FILES f1 f2 ...)
# Generates a .cc defining
#   const kbo::EmbeddedFile ns::sym[]; const size_t ns::sym_count;
# which header h (included first) must declare extern.
# with each file's bytes, name (basename) in the order given. Regenerated when
# any input changes. Bytes are emitted as hex so no file content can break
# the generated source.
function(kbo_embed out_cc)
  cmake_parse_arguments(E "" "NAMESPACE;SYMBOL;HEADER" "FILES" ${ARGN})
  add_custom_command(
    OUTPUT ${out_cc}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_cc} -DNS=${E_NAMESPACE}
            -DSYM=${E_SYMBOL} -DHEADER=${E_HEADER} "-DFILES=${E_FILES}"
            -P ${PROJECT_SOURCE_DIR}/tools/cmake/embed_run.cmake
    DEPENDS ${E_FILES} ${PROJECT_SOURCE_DIR}/tools/cmake/embed_run.cmake
    COMMENT "Embedding ${E_SYMBOL}"
    VERBATIM)
endfunction()
