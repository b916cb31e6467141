# Included by tests/CMakeLists.txt in a fuzz build (-DEMOLAB_FUZZ=ON, clang) after every area:
# collects the libFuzzer targets of all areas (executables named fuzz_*, but not the fuzz_*_replay
# programs of the normal build), makes `fuzz_all` build
# them, and writes ${CMAKE_BINARY_DIR}/fuzz_targets.txt, one line per target:
#   NAME<TAB>BINARY<TAB>SEED_DIR
# which tests/fuzz/smoke.sh (the ctest smoke run) and tests/fuzz/run_long.sh read.
# A target's seed corpus: its EMOLAB_FUZZ_SEEDS property, else tests/fuzz/seeds/<NAME minus
# fuzz_>, else <area>/fuzz_seeds/<NAME minus fuzz_>, else <area>/corpus. A target without seeds
# is a configure error: commit a few small inputs with it.
set(EMOLAB_FUZZ_SEED_TABLE
  fuzz_tokenize_json ${CMAKE_SOURCE_DIR}/tests/hf/fuzz_seeds/json
  fuzz_tokenize_text ${CMAKE_SOURCE_DIR}/tests/hf/fuzz_seeds/text)

function(emolab_fuzz_manifest dirs)
  set(lines "")
  set(all)
  foreach(dir ${dirs})
    get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(t ${targets})
      get_target_property(type ${t} TYPE)
      if(NOT t MATCHES "^fuzz_" OR t MATCHES "_replay$" OR NOT type STREQUAL "EXECUTABLE")
        continue()
      endif()
      string(REGEX REPLACE "^fuzz_" "" stem ${t})
      get_target_property(seeds ${t} EMOLAB_FUZZ_SEEDS)
      list(FIND EMOLAB_FUZZ_SEED_TABLE ${t} at)
      if(seeds)
      elseif(NOT at EQUAL -1)
        math(EXPR at "${at} + 1")
        list(GET EMOLAB_FUZZ_SEED_TABLE ${at} seeds)
      elseif(IS_DIRECTORY ${CMAKE_SOURCE_DIR}/tests/fuzz/seeds/${stem})
        set(seeds ${CMAKE_SOURCE_DIR}/tests/fuzz/seeds/${stem})
      elseif(IS_DIRECTORY ${dir}/fuzz_seeds/${stem})
        set(seeds ${dir}/fuzz_seeds/${stem})
      elseif(IS_DIRECTORY ${dir}/corpus)
        set(seeds ${dir}/corpus)
      else()
        message(FATAL_ERROR "fuzz target ${t} has no seed corpus: commit a few small inputs in "
                            "tests/fuzz/seeds/${stem}/")
      endif()
      string(APPEND lines "${t}\t$<TARGET_FILE:${t}>\t${seeds}\n")
      list(APPEND all ${t})
    endforeach()
  endforeach()
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/fuzz_targets.txt CONTENT "${lines}")
  add_custom_target(fuzz_all ALL DEPENDS ${all})
  list(LENGTH all n)
  message(STATUS "fuzz targets (${n}): ${all}")
endfunction()
