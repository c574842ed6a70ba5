/*
 * A loop of FN_BEGIN/FN_END marker pairs, timed, for bench/usdt_overhead.sh. One source, built in
 * three variants that differ only in what a marker is (USDT_LOOP_MARKERS):
 *   0  no marker: the empty loop every other cost is measured against;
 *   1  include/profilis/usdt.h (5-byte NOP site);
 *   2  Debian's <sys/sdt.h> with the same provider, names, semaphores and arguments (1-byte NOP).
 * Usage: usdt_marker_loop ITERATIONS [--cpu N] [--wait] [--raise-semaphores]
 *   --cpu N               pin to CPU N: a tracer that starts us (bpftrace -c) can then keep to
 *                         another CPU without dragging us along;
 *   --wait                print "ready" and wait for a line on stdin before the timed loop, so a
 *                         tracer given our pid can attach first;
 *   --raise-semaphores    set the markers' semaphores ourselves, for a tracer that probes the site
 *                         by address (a plain uprobe), which does not raise them.
 * Prints "ns_per_iter W cpu_ns_per_iter C": W from CLOCK_MONOTONIC, C from this thread's CPU
 * time. C leaves out the time other tasks held the CPU (a busy machine) but keeps what a hit costs
 * in the kernel, which runs on this thread: the trap or trampoline call, the BPF program, and (with
 * no IRQ time accounting, as here) the interrupts a hit raises on this CPU, such as a ring-buffer
 * wakeup.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if USDT_LOOP_MARKERS == 1
#include <profilis/usdt.h>
#define LOOP_FN_BEGIN(name) PROFILIS_FN_BEGIN(name)
#define LOOP_FN_END(name, error) PROFILIS_FN_END(name, error)
#define LOOP_RAISE_SEMAPHORES() (PROFILIS__SEMAPHORE(fn_begin) = 1, PROFILIS__SEMAPHORE(fn_end) = 1)

#elif USDT_LOOP_MARKERS == 2
/* What `dtrace -h` generates for a provider with semaphores, except volatile like ours: with the
 * loop's memory clobber both are reloaded every iteration anyway, and this keeps the off cost of
 * the two variants identical by construction. */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
__extension__ volatile unsigned short profilis_fn_begin_semaphore
    __attribute__((unused, section(".probes")));
__extension__ volatile unsigned short profilis_fn_end_semaphore
    __attribute__((unused, section(".probes")));
/* The same argument types as ours (a pointer, a signed 64-bit 0/1), so the agent reads both the
 * same way. */
#define LOOP_FN_BEGIN(name)                                                     \
  do {                                                                          \
    if (__builtin_expect(profilis_fn_begin_semaphore != 0, 0))                  \
      STAP_PROBE1(profilis, fn_begin, (unsigned long long)(const void*)(name)); \
  } while (0)
#define LOOP_FN_END(name, error)                                             \
  do {                                                                       \
    if (__builtin_expect(profilis_fn_end_semaphore != 0, 0))                 \
      STAP_PROBE2(profilis, fn_end, (unsigned long long)(const void*)(name), \
                  (long long)((error) != 0));                                \
  } while (0)
#define LOOP_RAISE_SEMAPHORES() (profilis_fn_begin_semaphore = 1, profilis_fn_end_semaphore = 1)

#else
#define LOOP_FN_BEGIN(name) ((void)0)
#define LOOP_FN_END(name, error) ((void)0)
#define LOOP_RAISE_SEMAPHORES() ((void)0)
#endif

static void usage(const char* argv0) {
  fprintf(stderr, "usage: %s ITERATIONS [--cpu N] [--wait] [--raise-semaphores]\n", argv0);
  exit(2);
}

/* noinline so that every variant times the same shape of code, a loop of its own in a function of
 * its own, whatever the compiler decides for main. */
__attribute__((noinline)) static void run(unsigned long iterations) {
  for (unsigned long i = 0; i < iterations; i++) {
    LOOP_FN_BEGIN("usdt_marker_loop");
    /* The body: without it the empty variant's loop would be deleted. */
    __asm__ __volatile__("" ::: "memory");
    LOOP_FN_END("usdt_marker_loop", 0);
  }
}

static double elapsed_ns(const struct timespec* from, const struct timespec* to) {
  return (double)(to->tv_sec - from->tv_sec) * 1e9 + (double)(to->tv_nsec - from->tv_nsec);
}

int main(int argc, char** argv) {
  if (argc < 2) usage(argv[0]);
  char* end = NULL;
  unsigned long iterations = strtoul(argv[1], &end, 10);
  if (*argv[1] == '\0' || *end != '\0' || iterations == 0) usage(argv[0]);
  int wait = 0;
  int raise = 0;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--wait") == 0) {
      wait = 1;
    } else if (strcmp(argv[i], "--raise-semaphores") == 0) {
      raise = 1;
    } else if (strcmp(argv[i], "--cpu") == 0 && i + 1 < argc) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(atoi(argv[++i]), &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) {
        perror("sched_setaffinity");
        return 1;
      }
    } else {
      usage(argv[0]);
    }
  }
  if (raise) LOOP_RAISE_SEMAPHORES();
  if (wait) {
    printf("ready\n");
    fflush(stdout);
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL) {
      fprintf(stderr, "%s: stdin closed before the go line\n", argv[0]);
      return 1;
    }
  }
  struct timespec start, stop, cpu_start, cpu_stop;
  clock_gettime(CLOCK_MONOTONIC, &start);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_start);
  run(iterations);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_stop);
  clock_gettime(CLOCK_MONOTONIC, &stop);
  printf("ns_per_iter %.4f cpu_ns_per_iter %.4f\n", elapsed_ns(&start, &stop) / (double)iterations,
         elapsed_ns(&cpu_start, &cpu_stop) / (double)iterations);
  return 0;
}
