/* pi_mutex.h - mutexes that packet workers share with real-time threads. */
#ifndef LANRAGE_UTIL_PI_MUTEX_H
#define LANRAGE_UTIL_PI_MUTEX_H

#include <pthread.h>

/*
 * A real-time thread that waits on a lock held by an ordinary thread it took
 * the CPU from would wait until the kernel's guard for ordinary threads gave
 * the holder a turn (a second, with a spinlock).  With priority inheritance
 * the holder runs at the waiter's priority until it lets go: no spinlock
 * between threads of different priorities, these instead.
 */
static inline void pi_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
}

#endif
