#ifndef MFA_CLINUX_SHIM_H
#define MFA_CLINUX_SHIM_H
// Linux system calls that glibc does not wrap, or wraps variadically (Swift cannot call C variadic
// functions).
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/// pidfd_open(2): a file descriptor that becomes readable when process `pid` exits; -1 and errno
/// on failure (kernels before 5.3 answer ENOSYS).
static inline int mfa_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}
#endif
