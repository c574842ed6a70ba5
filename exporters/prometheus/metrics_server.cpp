#include "exporters/prometheus/metrics_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "exporters/prometheus/prometheus_text.h"

namespace profilis {

namespace {

// ---- parsing ----

[[noreturn]] void bad_address(std::string_view text, std::string_view why) {
  throw std::invalid_argument("invalid listen address \"" + std::string(text) +
                              "\": " + std::string(why) +
                              " (expected HOST:PORT, e.g. 127.0.0.1:9464, [::1]:9464 or :9464)");
}

std::uint16_t parse_port(std::string_view text, std::string_view port) {
  if (port.empty()) bad_address(text, "missing port");
  for (char c : port) {
    if (c < '0' || c > '9') bad_address(text, "port \"" + std::string(port) + "\" is not a number");
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || value == 0 || value > 65535) bad_address(text, "port must be 1-65535");
  return static_cast<std::uint16_t>(value);
}

bool is_ip(int family, std::string_view host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(family, std::string(host).c_str(), buf) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
bool is_host_name(std::string_view host) {
  if (host.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    const char c = i < host.size() ? host[i] : '.';
    if (c == '.') {
      if (label == 0 || host[i - 1] == '-' || host[i - label] == '-') return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      ++label;
    } else {
      return false;
    }
  }
  return true;
}

bool is_host(std::string_view host) {
  const bool dotted = host.find_first_not_of("0123456789.") == std::string_view::npos;
  return dotted ? is_ip(AF_INET, host) : is_host_name(host);
}

// ---- binding ----

// Only SO_REUSEADDR (restart while old connections linger in TIME_WAIT), not httplib's default
// SO_REUSEPORT, with which a second agent would silently share the port.
void reuse_address_only(socket_t sock) {
  int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

std::string lowercase_first(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

int try_bind(const addrinfo& ai) {
  const int fd = ::socket(ai.ai_family, ai.ai_socktype, ai.ai_protocol);
  if (fd < 0) return errno;
  reuse_address_only(fd);
  const int err = ::bind(fd, ai.ai_addr, ai.ai_addrlen) == 0 && ::listen(fd, 1) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

// httplib reports a failed bind as `false` only; redo the bind the way it does to learn why.
std::string bind_failure_reason(const ListenAddress& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (const int rc = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return "cannot resolve host: " + lowercase_first(::gai_strerror(rc));
  }
  int err = 0;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    err = try_bind(*ai);
    if (err == 0) break;
  }
  ::freeaddrinfo(found);
  if (err == 0) return "bind failed";  // free again by now: a race with another listener
  return lowercase_first(std::system_category().message(err));
}

std::uint16_t bind_server(httplib::Server& server, const ListenAddress& address) {
  int port = address.port;
  if (port == 0) {
    port = server.bind_to_any_port(address.host);  // the port the kernel chose, or -1
  } else if (!server.bind_to_port(address.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    throw std::runtime_error("cannot listen on " + to_string(address) + ": " +
                             bind_failure_reason(address));
  }
  return static_cast<std::uint16_t>(port);
}

// ---- routes ----

constexpr const char* kPlainText = "text/plain; charset=utf-8";

void method_not_allowed(const httplib::Request&, httplib::Response& res) {
  res.status = 405;
  res.set_header("Allow", "GET, HEAD");
  res.set_content("method not allowed\n", kPlainText);
}

void add_routes(httplib::Server& server, MetricsServer::Render render,
                MetricsServer::Healthy healthy) {
  server.Get("/metrics",
             [render = std::move(render)](const httplib::Request&, httplib::Response& res) {
               res.body = render();  // moved, not copied: the page can be megabytes
               res.set_header("Content-Type", std::string(kTextContentType));
             });
  server.Get("/healthz",
             [healthy = std::move(healthy)](const httplib::Request&, httplib::Response& res) {
               const bool ok = !healthy || healthy();
               res.status = ok ? 200 : 503;
               res.set_content(ok ? "ok" : "unhealthy", kPlainText);
             });
  for (const char* path : {"/metrics", "/healthz"}) {
    server.Post(path, method_not_allowed);
    server.Put(path, method_not_allowed);
    server.Patch(path, method_not_allowed);
    server.Delete(path, method_not_allowed);
    server.Options(path, method_not_allowed);
  }
}

}  // namespace

ListenAddress parse_listen_address(std::string_view text) {
  if (text.empty()) bad_address(text, "empty");
  std::string_view host;
  std::string_view port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) bad_address(text, "missing ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    if (close + 1 == text.size() || text[close + 1] != ':') bad_address(text, "missing port");
    port = text.substr(close + 2);
    if (!is_ip(AF_INET6, host)) bad_address(text, "not an IPv6 address in the brackets");
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) bad_address(text, "missing port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      bad_address(text, "an IPv6 address needs brackets, as in [::1]:9464");
    }
    if (!host.empty() && !is_host(host)) bad_address(text, "malformed host");
  }
  return {host.empty() ? "0.0.0.0" : std::string(host), parse_port(text, port)};
}

std::string to_string(const ListenAddress& address) {
  const bool ipv6 = address.host.find(':') != std::string::npos;
  const std::string host = ipv6 ? "[" + address.host + "]" : address.host;
  return host + ":" + std::to_string(address.port);
}

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  std::uint16_t port = 0;
};

MetricsServer::MetricsServer(const ListenAddress& address, Render render, Healthy healthy)
    : impl_(std::make_unique<Impl>()) {
  httplib::Server& server = impl_->server;
  server.set_socket_options(reuse_address_only);
  // A few workers: scrapes are rare, but a slow one must not block /healthz.
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  // Scrapes are seconds apart, so keep-alive buys nothing; without it an idle scraper holds no
  // worker, and stopping waits at most a second for one that connected but has not asked yet.
  server.set_keep_alive_max_count(1);
  server.set_keep_alive_timeout(1);
  add_routes(server, std::move(render), std::move(healthy));
  impl_->port = bind_server(server, address);
  impl_->thread = std::thread([impl = impl_.get()] {
    impl->server.listen_after_bind();
    impl->listen_returned = true;
  });
  // stop() is a no-op until the server runs, so the destructor could otherwise hang in join().
  while (!server.is_running() && !impl_->listen_returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

MetricsServer::~MetricsServer() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t MetricsServer::port() const { return impl_->port; }

}  // namespace profilis
