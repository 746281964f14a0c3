/*
 * unwinder_loading.c - libunwind loaded when it is first needed: at the
 * first call that needs a stack (interpose.c), or at the program's first
 * pthread_create, whichever comes first. Why, and when it is loaded at
 * start-up instead: backtrace.c.
 *
 * pthread_create is interposed for this only: the thread that creates the
 * program's first thread is, at that moment, the only one, and outside any
 * signal handler; after it, another thread could be inside dlopen while a
 * later mmap's caller holds a lock that thread waits for.
 *
 * Layer: hooks. Calls the engine (room for the loader) and the platform
 * (the load).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include "hooks.h"
#include "include/mapwarden_engine.h"
#include "include/platform/backtrace.h"

#define EXPORT __attribute__((visibility("default")))

/* Every signal stays blocked meanwhile: a handler's own mmap would take the
 * room, or map where a placeholder is about to go, and a handler would
 * find the loader's and malloc's state half changed. */
void mw_load_unwinder(int at_thread_start) {
    if (!mw_backtrace_claim_loading(at_thread_start)) return;
    sigset_t all, before;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &before);
    if (mw_engine_make_room_for_unwinder())
        mw_backtrace_load_claimed();
    else
        mw_backtrace_give_up("libunwind was not loaded: no room for its code that is not a hole the program made "
                             "(more free ranges above mapwarden's area than it covers, or the kernel refused a "
                             "placeholder); MAPWARDEN_LIBUNWIND=libunwind.so.8 loads it at start-up");
    mw_engine_unwinder_loaded();
    pthread_sigmask(SIG_SETMASK, &before, NULL);
}

typedef int create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg) {
    static _Atomic(create_fn *) next;
    create_fn *create = atomic_load_explicit(&next, memory_order_acquire);
    if (!create) {
        create = (create_fn *)dlsym(RTLD_NEXT, "pthread_create");
        atomic_store_explicit(&next, create, memory_order_release);
    }
    if (mw_backtrace_pending()) mw_load_unwinder(1);
    return create(thread, attr, start, arg);
}
