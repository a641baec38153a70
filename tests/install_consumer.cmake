# Installs the build tree into a scratch prefix, then builds a tiny program
# outside the tree against it through pkg-config, and runs it.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/src)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BIN} --prefix ${WORK}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
foreach(f lib/x86_64-linux-gnu/pkgconfig/shmbus.pc lib/pkgconfig/shmbus.pc)
  if(EXISTS ${WORK}/prefix/${f})
    get_filename_component(pcdir ${WORK}/prefix/${f} DIRECTORY)
  endif()
endforeach()
if(NOT pcdir)
  message(FATAL_ERROR "shmbus.pc was not installed")
endif()
if(NOT EXISTS ${WORK}/prefix/bin/shmbus)
  message(FATAL_ERROR "the shmbus tool was not installed")
endif()
# The installed tool finds the installed libshmbus.so on its own (its RUNPATH
# is relative to itself), with no LD_LIBRARY_PATH and the build tree unused.
execute_process(COMMAND ldd ${WORK}/prefix/bin/shmbus OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(rc OR NOT out MATCHES "libshmbus\\.so[^\n]*=> ${WORK}/prefix/")
  message(FATAL_ERROR "the installed tool does not use the installed libshmbus.so:\n${out}")
endif()
execute_process(COMMAND ${WORK}/prefix/bin/shmbus ls RESULT_VARIABLE rc OUTPUT_QUIET
                ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "the installed tool does not run: ${rc} ${err}")
endif()
file(WRITE ${WORK}/src/consumer.c [=[
#include <shmbus/shmbus.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void)
{
	struct shmbus_block *b;
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "sbt_install_%d", (int)getpid());
	rc = shmbus_block_create(&b, name, 4096, 0);
	if (rc) {
		fprintf(stderr, "create: %s\n", shmbus_strerror(rc));
		return 1;
	}
	if (shmbus_block_write(b, 0, "hi", 2) || shmbus_block_size(b) != 4096)
		return 1;
	shmbus_block_close(b);
	if (shmbus_block_unlink(name))
		return 1;
	puts("installed library works");
	return 0;
}
]=])
set(ENV{PKG_CONFIG_PATH} ${pcdir})
execute_process(COMMAND pkg-config --cflags --libs shmbus OUTPUT_VARIABLE flags
                RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(rc)
  message(FATAL_ERROR "pkg-config --cflags --libs shmbus failed")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
execute_process(COMMAND cc -std=c11 -D_GNU_SOURCE -Wall -Werror ${WORK}/src/consumer.c ${flags}
                        -Wl,-rpath,${pcdir}/.. -o ${WORK}/consumer
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "building against the installed library failed: ${err}")
endif()
execute_process(COMMAND ${WORK}/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "the consumer failed: ${rc} ${out} ${err}")
endif()
message(STATUS "${out}")
