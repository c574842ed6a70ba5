// The bundled demo workload: a pretend service that handles "requests" in a loop, each one calling
// a few functions with realistic, varying latencies. Run it and point the agent at its pid.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <thread>

namespace demo {

// noinline keeps each function a real call (and so a real symbol) at -O2.
// Plain parameter types keep the demangled names short in the demo's output.
[[gnu::noinline]] std::uint64_t checksum(std::string_view payload) {
  std::uint64_t h = 1469598103934665603ull;
  for (int round = 0; round < 200; ++round) {
    for (unsigned char c : payload) h = (h ^ c) * 1099511628211ull;
  }
  return h;
}

[[gnu::noinline]] std::string fetch_user(int id, unsigned jitter) {
  std::this_thread::sleep_for(std::chrono::microseconds(500 + jitter % 3000));  // a "database"
  return "user-" + std::to_string(id);
}

[[gnu::noinline]] int handle_request(int id, unsigned jitter) {
  const std::string user = fetch_user(id % 100, jitter);
  const auto sum = checksum(user + std::string(256, 'x'));
  return static_cast<int>(sum % 2 == 0 ? 200 : 404);
}

}  // namespace demo

int main(int argc, char** argv) {
  // Optional argument: how many requests to serve (default: until killed).
  const long limit = argc > 1 ? std::strtol(argv[1], nullptr, 10) : -1;
  std::printf("demo_service: pid %d serving requests\n", static_cast<int>(getpid()));
  std::fflush(stdout);
  std::mt19937 rng(42);
  for (long i = 0; limit < 0 || i < limit; ++i) {
    demo::handle_request(static_cast<int>(i), static_cast<unsigned>(rng()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}
