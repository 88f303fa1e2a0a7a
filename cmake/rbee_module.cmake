# rbee_module(NAME SOURCES ... DEPS ... TESTS ...)
# One static library per module (rbee_<NAME>) and, when it has tests, one GoogleTest
# binary (rbee_<NAME>_tests) labelled "unit".
function(rbee_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;TESTS" ${ARGN})
  add_library(rbee_${name} STATIC ${ARG_SOURCES})
  target_link_libraries(rbee_${name} PUBLIC ${ARG_DEPS})
  if(RBEE_BUILD_TESTS AND ARG_TESTS)
    add_executable(rbee_${name}_tests ${ARG_TESTS})
    target_link_libraries(rbee_${name}_tests PRIVATE rbee_${name} GTest::gtest_main GTest::gmock)
    gtest_discover_tests(rbee_${name}_tests PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
