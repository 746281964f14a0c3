/*
 * mapwarden_constants.h - the kernel's constants mapwarden names, from the
 * system headers.
 *
 * Layer: platform. Included by the engine (module.modulemap) and by the
 * hooks. Declares nothing but constants; calls nothing.
 *
 * Every flag, advice, command and magic number mapwarden passes to the
 * kernel or reads from it is named here by the system header that defines
 * it (never written as a number in C or Swift): <sys/mman.h> and
 * <linux/mman.h> (MAP_TYPE, MAP_HUGE_SHIFT, MAP_32BIT, MADV_*, PROT_SEM),
 * <fcntl.h> (F_OFD_SETLK, with _GNU_SOURCE: the Makefile defines it for C
 * and Swift alike), <sys/stat.h> (S_IF*), <linux/magic.h> (HUGETLBFS_MAGIC),
 * <sys/prctl.h> (PR_SET_VMA). Swift imports these macros as constants.
 * The fallbacks below are for older system headers only.
 */
#ifndef MAPWARDEN_CONSTANTS_H
#define MAPWARDEN_CONSTANTS_H

#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/mman.h> /* after <sys/mman.h>: PROT_SEM, MAP_HUGE_* */
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <linux/audit.h>
#include <linux/seccomp.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif

#ifndef SA_RESTORER /* the action names its sa_restorer (<asm/signal.h>; glibc reports it, never defines it) */
#define SA_RESTORER 0x04000000
#endif

#ifndef SYS_SECCOMP /* si_code of a seccomp SIGSYS (<asm-generic/siginfo.h>) */
#define SYS_SECCOMP 1
#endif

/* MAP_32BIT exists on x86-64 only; elsewhere no flag means it. */
#ifdef MAP_32BIT
#define MW_MAP_32BIT MAP_32BIT
#else
#define MW_MAP_32BIT 0
#endif

/* MAPWARDEN_RAW_SYSCALLS=trap (RawSyscallFilter): the audit value of this
 * ABI (seccomp_data.arch) and the numbers of the mmap family, as constants
 * the engine imports (the headers' own are expressions of other macros). */
#if defined(__x86_64__)
static const unsigned mw_audit_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
static const unsigned mw_audit_arch = AUDIT_ARCH_AARCH64;
#endif
static const unsigned mw_nr_mmap = SYS_mmap, mw_nr_munmap = SYS_munmap, mw_nr_mprotect = SYS_mprotect,
                      mw_nr_pkey_mprotect = SYS_pkey_mprotect, mw_nr_mremap = SYS_mremap, mw_nr_madvise = SYS_madvise,
                      mw_nr_mlock = SYS_mlock, mw_nr_mlock2 = SYS_mlock2, mw_nr_munlock = SYS_munlock,
                      mw_nr_msync = SYS_msync, mw_nr_mincore = SYS_mincore;
static const unsigned mw_seccomp_ret_allow = SECCOMP_RET_ALLOW, mw_seccomp_ret_trap = SECCOMP_RET_TRAP;

#endif
