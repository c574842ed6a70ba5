// The HTTP endpoint of --prometheus (cpp-httplib):
//   GET /metrics  200, text format 0.0.4 from the render callback
//   GET /healthz  200 "ok" while healthy() is true, else 503
//   other methods on those two paths: 405 with `Allow: GET, HEAD` (HEAD is served like GET);
//   any other path: 404.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace profilis {

// Loopback, so metrics are not exposed to the network unless asked for.
inline constexpr std::string_view kDefaultListenAddress = "127.0.0.1:9464";

struct ListenAddress {
  std::string host;        // IPv4 address, IPv6 address (no brackets) or host name
  std::uint16_t port = 0;  // 0 asks the kernel for a free port (tests); users cannot write it
};

// Parses HOST:PORT: "127.0.0.1:9464", "0.0.0.0:9464", "[::1]:9464", "localhost:9464", or ":9464".
// An empty host (":9464") means all IPv4 interfaces, 0.0.0.0, as the convention goes (Go's
// net.Listen, Prometheus's own --web.listen-address); only the default address is loopback.
// Throws std::invalid_argument naming the input and what is wrong with it: empty, no port, a port
// that is not a number or not in 1-65535, an IPv6 address without brackets, a malformed host.
ListenAddress parse_listen_address(std::string_view text);

// "127.0.0.1:9464", "[::1]:9464".
std::string to_string(const ListenAddress& address);

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  using Healthy = std::function<bool()>;

  // Binds now and serves on threads of its own; both callbacks run on those threads, concurrently.
  // Throws std::runtime_error("cannot listen on HOST:PORT: REASON"), e.g. "... address already in
  // use", when the address cannot be bound; the port is never shared with another listener.
  MetricsServer(const ListenAddress& address, Render render, Healthy healthy);
  // Stops accepting, lets requests in progress finish, joins the threads.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The bound port: the one asked for, or the one the kernel chose for port 0.
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace profilis
