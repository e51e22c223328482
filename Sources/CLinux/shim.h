#ifndef MFA_CLINUX_SHIM_H
#define MFA_CLINUX_SHIM_H
// Linux system calls that glibc does not wrap, or wraps variadically (Swift cannot call C variadic
// functions).
#include <fcntl.h>
#include <stdint.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
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
/// CPUID of `leaf` and `subleaf` into `registers` (EAX, EBX, ECX, EDX); 0, or -1 when the leaf is
/// above the CPU's highest one or the machine is not x86-64 (the registers are then zero).
static inline int mfa_cpuid(unsigned leaf, unsigned subleaf, unsigned registers[4]) {
    registers[0] = registers[1] = registers[2] = registers[3] = 0;
#if defined(__x86_64__)
    if (__get_cpuid_count(leaf, subleaf, &registers[0], &registers[1], &registers[2], &registers[3]) == 0) return -1;
    return 0;
#else
    return -1;
#endif
}
/// XGETBV(0): the register states the operating system saves (XCR0). Only call it when CPUID
/// reports OSXSAVE (leaf 1, ECX bit 27); 0 on other machines.
static inline uint64_t mfa_xcr0(void) {
#if defined(__x86_64__)
    uint32_t low = 0, high = 0;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return ((uint64_t)high << 32) | low;
#else
    return 0;
#endif
}
/// getcpu(2): the CPU the calling thread runs on now, or -1.
static inline int mfa_current_cpu(void) {
    unsigned cpu = 0;
    return syscall(SYS_getcpu, &cpu, (void *)0, (void *)0) == 0 ? (int)cpu : -1;
}
#endif
