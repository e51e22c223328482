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
/// sched_getaffinity(2) of the calling thread: the CPUs it may run on, as a bit mask written to
/// `mask` (`bytes` long, a multiple of 8); the bytes written, or -1 and errno.
static inline int mfa_thread_affinity(unsigned char *mask, int bytes) {
    return (int)syscall(SYS_sched_getaffinity, 0, bytes, mask);
}
/// sched_setaffinity(2): binds the calling thread to CPU `cpu` (0...1023); 0, or -1 and errno.
static inline int mfa_bind_current_thread(int cpu) {
    unsigned long mask[16] = {0};
    if (cpu < 0 || cpu >= 1024) return -1;
    mask[cpu / 64] = 1UL << (cpu % 64);
    return (int)syscall(SYS_sched_setaffinity, 0, sizeof mask, mask);
}
/// getcpu(2): the CPU the calling thread runs on now, or -1.
static inline int mfa_current_cpu(void) {
    unsigned cpu = 0;
    return syscall(SYS_getcpu, &cpu, (void *)0, (void *)0) == 0 ? (int)cpu : -1;
}
#endif
