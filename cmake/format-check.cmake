# Fails when any C source or header is not in the project's clang-format style.
file(GLOB_RECURSE files ${SOURCE_DIR}/src/*.c ${SOURCE_DIR}/src/*.h
     ${SOURCE_DIR}/tests/*.c ${SOURCE_DIR}/tests/*.h ${SOURCE_DIR}/bench/*.c)
set(bad "")
foreach(f ${files})
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${f}
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    list(APPEND bad ${f})
  endif()
endforeach()
list(LENGTH files n)
if(bad)
  string(REPLACE ";" "\n  " badlist "${bad}")
  message(FATAL_ERROR "not in clang-format style (run scripts/format):\n  ${badlist}")
endif()
message(STATUS "format: ${n} files in style")
