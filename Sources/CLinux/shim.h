#ifndef MFA_CLINUX_SHIM_H
#define MFA_CLINUX_SHIM_H
// Linux system calls that glibc does not wrap, or wraps variadically (Swift cannot call C variadic
// functions).
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/// pidfd_open(2): a file descriptor that becomes readable when process `pid` exits; -1 and errno
/// on failure (kernels before 5.3 answer ENOSYS).
static inline int mfa_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}
/// pipe2(2) with O_CLOEXEC (glibc declares pipe2 only under _GNU_SOURCE): both ends close on
/// exec, so no child inherits them unless they are dup2'ed into it; -1 and errno on failure.
static inline int mfa_pipe_cloexec(int fds[2]) {
    return (int)syscall(SYS_pipe2, fds, O_CLOEXEC);
}
#endif
