# Installs the build tree into a scratch prefix, then builds examples/ as an
# outside project against it with find_package(shmbus) and shmbus::shmbus,
# with -Wall -Wextra -Werror (the README's code included), and runs every
# README example it built.
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BIN} --prefix ${WORK}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC}/examples -B ${WORK}/build
                        -DCMAKE_PREFIX_PATH=${WORK}/prefix -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "configuring examples/ with find_package(shmbus) failed:\n${out}${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/build
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "building examples/ against the installed shmbus failed:\n${out}${err}")
endif()
file(GLOB examples ${SRC}/examples/readme_*.c)
foreach(ex ${examples})
  get_filename_component(name ${ex} NAME_WE)
  execute_process(COMMAND ${WORK}/build/${name} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(rc)
    message(FATAL_ERROR "${name} (built against the installed shmbus) failed: ${rc}\n${out}${err}")
  endif()
  message(STATUS "${name}: ${out}")
endforeach()
