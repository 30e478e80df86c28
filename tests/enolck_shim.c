// LD_PRELOAD shim for a test: lock requests (fcntl's and flock, which HDF5 uses) fail
// with ENOLCK, as on a file system without locks (NFS without lockd); every other
// request is passed on.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/file.h>

int flock(int fd, int operation) {
  if (!(operation & LOCK_UN)) {
    errno = ENOLCK;
    return -1;
  }
  int (*real)(int, int) = (int (*)(int, int))dlsym(RTLD_NEXT, "flock");
  return real(fd, operation);
}

static int lock_or_forward(const char* name, int fd, int cmd, void* arg) {
  if (cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW) {
    errno = ENOLCK;
    return -1;
  }
  int (*real)(int, int, ...) = (int (*)(int, int, ...))dlsym(RTLD_NEXT, name);
  return real(fd, cmd, arg);
}

// Every fcntl command takes at most one argument, an int or a pointer: passed on as a pointer, as
// glibc does. fcntl64 is the name large-file builds call.
#define NETSWEEP_SHIM(name)                      \
  int name(int fd, int cmd, ...) {               \
    va_list ap;                                  \
    va_start(ap, cmd);                           \
    void* arg = va_arg(ap, void*);               \
    va_end(ap);                                  \
    return lock_or_forward(#name, fd, cmd, arg); \
  }
NETSWEEP_SHIM(fcntl)
NETSWEEP_SHIM(fcntl64)
