# Installs the build tree into a scratch prefix and checks the Python package
# there: in PYDIR/shmbus under the prefix, its module finding the installed
# libshmbus.so on its own, importable and working with only that directory
# on PYTHONPATH.  -DBIN= build dir, -DWORK= scratch dir, -DPY= interpreter,
# -DPYDIR= the package's directory relative to the prefix, -DPRELOAD= the
# sanitizer runtime the interpreter needs (sanitized builds), or empty.
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BIN} --prefix ${WORK}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
set(pkg ${WORK}/prefix/${PYDIR})
file(GLOB so ${pkg}/shmbus/_shmbus*.so)
if(NOT so OR NOT EXISTS ${pkg}/shmbus/__init__.py)
  message(FATAL_ERROR "the shmbus package was not installed in ${pkg}/shmbus")
endif()
execute_process(COMMAND ldd ${so} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(rc OR NOT out MATCHES "libshmbus\\.so[^\n]*=> ${WORK}/prefix/")
  message(FATAL_ERROR "the installed module does not use the installed libshmbus.so:\n${out}")
endif()
set(ENV{PYTHONPATH} ${pkg})
if(PRELOAD)
  set(ENV{LD_PRELOAD} ${PRELOAD})   # a sanitized build: its runtime first
endif()
execute_process(COMMAND ${PY} -c [=[
import os, shmbus
assert os.path.dirname(shmbus.__file__).startswith(os.environ["PYTHONPATH"]), shmbus.__file__
n = "shmbus_t_py_install_%d" % os.getpid()
with shmbus.SPSC(n, "producer", create=True, capacity=256) as tx, \
        shmbus.SPSC(n, "consumer") as rx:
    tx.send(b"installed")
    assert rx.recv() == b"installed"
    tx.unlink()
print("ok", shmbus.__version__)
]=] RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc OR NOT out MATCHES "^ok ")
  message(FATAL_ERROR "the installed package does not work: ${rc}\n${out}\n${err}")
endif()
