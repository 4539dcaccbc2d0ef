/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one monotonic clock of the fetchers: fetch durations, deadlines and
 * the memory of an unreachable proxy are measured on it, so a wall-clock
 * step (NTP, an administrator) cannot stretch or cut a timeout.
 */
#include <time.h>

#include "internal.h"

double dsec_clock_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
