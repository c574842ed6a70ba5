// A loop of calls to one traced function, timed, for bench/fn_returns.sh. Two functions, both with
// the same trivial body:
//   bench_leaf    calls nothing: `--fn-returns auto` times it by uretprobe;
//   bench_caller  calls bench_helper (not traced): in a C++ object, where an exception could pass
//                 through it, `auto` times it at its exit instructions.
// C++ (this file refers to the C++ personality routine: see keep_cxx_unwinding) so that auto
// chooses per function, as in any C++ program.
// Usage: fn_returns_loop ITERATIONS leaf|caller [--cpu N] [--wait]
//   --cpu N   pin to CPU N (a tracer started with us, bpftrace -c, can keep to another CPU);
//   --wait    print "ready" and wait for a line on stdin before the timed loop, so a tracer given
//             our pid can attach first.
// Prints "ns_per_iter W cpu_ns_per_iter C": W from CLOCK_MONOTONIC, C from this thread's CPU time
// (which keeps what a probe hit costs in the kernel, on this thread, and leaves out other tasks).
#include <sched.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

extern "C" {

__attribute__((noinline)) unsigned bench_helper(unsigned x) {
  asm volatile("" : "+r"(x));
  return x + 1;
}

// Both traced functions begin with the same `nop`, which the kernel emulates at a uprobe (as it
// does `push %rbp` and `call`), so that their entry probes cost the same and the table compares the
// ways returns are seen: an entry on an instruction the kernel must single-step instead (the leaf's
// `imul`, without the nop) costs as much as an exit instruction's single-step.
__attribute__((noinline)) unsigned bench_leaf(unsigned x) {
  asm volatile("nop" : "+r"(x));
  return x * 2654435761u + 1;
}

__attribute__((noinline)) unsigned bench_caller(unsigned x) {
  asm volatile("nop" : "+r"(x));
  return bench_helper(x) * 2654435761u + 1;
}

}  // extern "C"

namespace {

// Makes this a C++ object with unwinding (a try/catch refers to __gxx_personality_v0), as every
// C++ program with an exception anywhere is.
int keep_cxx_unwinding(const char* text) {
  try {
    return std::stoi(text);
  } catch (const std::exception&) {
    return -1;
  }
}

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s ITERATIONS leaf|caller [--cpu N] [--wait]\n", argv0);
  std::exit(2);
}

double elapsed_ns(const timespec& from, const timespec& to) {
  return double(to.tv_sec - from.tv_sec) * 1e9 + double(to.tv_nsec - from.tv_nsec);
}

// noinline: the same loop, in a function of its own, whichever function it calls.
__attribute__((noinline)) unsigned run(unsigned long iterations, unsigned (*fn)(unsigned)) {
  unsigned x = 1;
  for (unsigned long i = 0; i < iterations; ++i) x = fn(x);
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || keep_cxx_unwinding(argv[1]) <= 0) usage(argv[0]);
  const unsigned long iterations = std::strtoul(argv[1], nullptr, 10);
  unsigned (*fn)(unsigned) = nullptr;
  if (std::strcmp(argv[2], "leaf") == 0) fn = bench_leaf;
  if (std::strcmp(argv[2], "caller") == 0) fn = bench_caller;
  if (fn == nullptr) usage(argv[0]);
  bool wait = false;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "--wait") == 0) {
      wait = true;
    } else if (std::strcmp(argv[i], "--cpu") == 0 && i + 1 < argc) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(std::atoi(argv[++i]), &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) {
        std::perror("sched_setaffinity");
        return 1;
      }
    } else {
      usage(argv[0]);
    }
  }
  if (wait) {
    std::printf("ready\n");
    std::fflush(stdout);
    char line[64];
    if (std::fgets(line, sizeof line, stdin) == nullptr) return 1;
  }
  timespec start{}, stop{}, cpu_start{}, cpu_stop{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_start);
  const unsigned x = run(iterations, fn);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_stop);
  clock_gettime(CLOCK_MONOTONIC, &stop);
  std::printf("ns_per_iter %.4f cpu_ns_per_iter %.4f (%u)\n",
              elapsed_ns(start, stop) / double(iterations),
              elapsed_ns(cpu_start, cpu_stop) / double(iterations), x);
  return 0;
}
