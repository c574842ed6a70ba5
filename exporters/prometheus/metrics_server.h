// The HTTP endpoint of --prometheus: prometheus-cpp's Exposer (civetweb) with what the agent adds.
//   GET /metrics  200, the text format from the collectables, gzip-compressed when the scraper
//                 sends Accept-Encoding: gzip; 401 without valid credentials when auth is on
//   GET /healthz  200 "ok" while healthy() is true, else 503; never asks for credentials, so a
//                 liveness probe needs none
//   other methods on those two paths: 405 at once, with Allow; any other path: 404.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Collectable;
}  // namespace prometheus

namespace profilis {

// Loopback, so metrics are not exposed to the network unless asked for.
inline constexpr std::string_view kDefaultListenAddress = "127.0.0.1:9464";

struct ListenAddress {
  std::string host;        // IPv4 address or host name
  std::uint16_t port = 0;  // 0 asks the kernel for a free port (tests); users cannot write it
};

// Parses HOST:PORT: "127.0.0.1:9464", "0.0.0.0:9464", "localhost:9464", or ":9464". An empty host
// (":9464") means all IPv4 interfaces, 0.0.0.0, as the convention goes (Go's net.Listen,
// Prometheus's own --web.listen-address); only the default address is loopback. Throws
// std::invalid_argument naming the input and what is wrong with it: empty, no port, a port that is
// not a number or not in 1-65535, a malformed host, or an IPv6 address (Debian's civetweb is built
// without IPv6).
ListenAddress parse_listen_address(std::string_view text);

// "127.0.0.1:9464".
std::string to_string(const ListenAddress& address);

class MetricsServer {
 public:
  using Healthy = std::function<bool()>;
  // Basic auth for /metrics: true lets the request through. Runs on the server's threads.
  using Authorize = std::function<bool(const std::string& user, const std::string& password)>;

  // Binds now and serves on threads of its own; the collectables (collected at every scrape, in
  // this order), healthy and authorize run on those threads, concurrently. An empty authorize
  // serves /metrics to anyone. Throws std::runtime_error("cannot listen on HOST:PORT: REASON"),
  // e.g. "... address already in use"; the port is never shared with another listener.
  MetricsServer(const ListenAddress& address,
                std::vector<std::shared_ptr<prometheus::Collectable>> collectables, Healthy healthy,
                Authorize authorize = {});
  // Lets requests in progress finish and joins the threads; within milliseconds, or up to 2 s while
  // a client holds a connection without sending its request.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The bound port: the one asked for, or the one the kernel chose for port 0.
  std::uint16_t port() const;

  // One more collectable, collected after the others from the next scrape on; the server keeps it
  // alive. Not thread-safe against another add().
  void add(std::shared_ptr<prometheus::Collectable> collectable);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace profilis
