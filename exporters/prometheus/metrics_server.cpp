#include "exporters/prometheus/metrics_server.h"

#include <CivetServer.h>
#include <arpa/inet.h>
#include <civetweb.h>
#include <netdb.h>
#include <netinet/in.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace profilis {

namespace {

// ---- parsing ----

[[noreturn]] void bad_address(std::string_view text, std::string_view why) {
  throw std::invalid_argument(
      "invalid listen address \"" + std::string(text) + "\": " + std::string(why) +
      " (expected HOST:PORT, e.g. 127.0.0.1:9464, localhost:9464 or :9464)");
}

[[noreturn]] void no_ipv6(std::string_view text) {
  bad_address(text,
              "IPv6 is not supported: Debian's civetweb, which serves /metrics, is built without "
              "it; use an IPv4 address or a host name");
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

// ---- civetweb ----

constexpr const char* kMetricsPath = "/metrics";
constexpr const char* kHealthPath = "/healthz";
constexpr const char* kPlainText = "text/plain; charset=utf-8";
// Scrapes are rare and short, but a slow one (10 000 histogram series take ~0.25 s with gzip) must
// not hold up /healthz.
constexpr const char* kThreads = "4";
// How long a client may stall while sending its request or reading the answer. Long enough for a
// scrape over a congested link; stopping does not wait for it (civetweb checks every 2 s).
constexpr const char* kRequestTimeoutMs = "5000";

// What the civetweb callbacks of one server reach: they are plain functions.
struct Hooks {
  MetricsServer::Healthy healthy;
  const mg_context* context = nullptr;  // set while civetweb starts
  std::string startup_error;            // civetweb's first complaint while starting
};

// The server being started on this thread: civetweb calls init_context and log_message on the
// thread that starts it, before the constructor returns, and gives them no user data of ours.
thread_local Hooks* starting = nullptr;

void init_context(const mg_context* context) {
  if (starting != nullptr) starting->context = context;
}

int log_message(const mg_connection*, const char* message) {
  if (starting != nullptr && starting->startup_error.empty()) starting->startup_error = message;
  return 1;  // civetweb writes nothing itself; later messages (a client's bad request) are noise
}

void send_plain(mg_connection* conn, int status, std::string_view body, const char* allow,
                bool with_body) {
  mg_response_header_start(conn, status);
  mg_response_header_add(conn, "Content-Type", kPlainText, -1);
  if (allow != nullptr) mg_response_header_add(conn, "Allow", allow, -1);
  const std::string length = std::to_string(body.size());
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  mg_response_header_send(conn);
  if (with_body) mg_write(conn, body.data(), body.size());
}

// Runs before civetweb routes the request or asks for credentials. prometheus-cpp's handler
// answers GET only; other methods would get 404, and civetweb reads a POST's body (a 5 s wait
// when none comes) before any handler sees it. So they are answered here, at once. civetweb also
// routes by prefix (/metricsx would be served): only the exact paths reach the handlers.
int begin_request(mg_connection* conn) {
  const mg_request_info* request = mg_get_request_info(conn);
  const std::string_view path = request->local_uri != nullptr ? request->local_uri : "";
  const std::string_view method = request->request_method;
  const bool metrics = path == kMetricsPath;
  const bool health = path == kHealthPath;
  if (!metrics && !health) {
    if (!path.starts_with(kMetricsPath) && !path.starts_with(kHealthPath)) return 0;
    send_plain(conn, 404, "not found\n", nullptr, method != "HEAD");
    return 404;
  }
  if (method == "GET" || (health && method == "HEAD")) return 0;
  send_plain(conn, 405, "method not allowed\n", metrics ? "GET" : "GET, HEAD", method != "HEAD");
  return 405;
}

int serve_health(mg_connection* conn, void* data) {
  const Hooks& hooks = *static_cast<const Hooks*>(data);
  const bool ok = !hooks.healthy || hooks.healthy();
  const bool head = std::string_view(mg_get_request_info(conn)->request_method) == "HEAD";
  send_plain(conn, ok ? 200 : 503, ok ? "ok" : "unhealthy", nullptr, !head);
  return ok ? 200 : 503;
}

const CivetCallbacks kCallbacks = [] {
  CivetCallbacks callbacks{};
  callbacks.begin_request = begin_request;
  callbacks.log_message = log_message;
  callbacks.init_context = init_context;
  return callbacks;
}();

// ---- binding ----

std::string lowercase_first(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// civetweb cannot resolve a name to anything but IPv4 either, and says only "invalid port spec"
// when it cannot; resolving here gives the reason, and the address to wake the server at.
in_addr resolve_ipv4(const ListenAddress& address) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(address.host.c_str(), nullptr, &hints, &found); rc != 0) {
    throw std::runtime_error("cannot listen on " + to_string(address) +
                             ": cannot resolve host: " + lowercase_first(::gai_strerror(rc)));
  }
  const in_addr ip = reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr;
  ::freeaddrinfo(found);
  return ip;
}

std::string dotted(in_addr ip) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &ip, text, sizeof text);
  return text;
}

// civetweb says "cannot bind to 127.0.0.1:9464: 98 (Address already in use)"; the reason is the
// part in parentheses.
std::string bind_failure_reason(const std::string& message) {
  const auto open = message.rfind(" (");
  if (message.starts_with("cannot bind to ") && open != std::string::npos &&
      message.ends_with(")")) {
    return lowercase_first(message.substr(open + 2, message.size() - open - 3));
  }
  return message.empty() ? "the HTTP server did not start" : message;
}

}  // namespace

ListenAddress parse_listen_address(std::string_view text) {
  if (text.empty()) bad_address(text, "empty");
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) bad_address(text, "missing ']' after the IPv6 address");
    if (!is_ip(AF_INET6, text.substr(1, close - 1))) {
      bad_address(text, "not an IPv6 address in the brackets");
    }
    no_ipv6(text);
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    // A port alone does not say which interfaces may scrape: the user chooses, not a default.
    if (text.find_first_not_of("0123456789") == std::string_view::npos) {
      bad_address(text, "a port needs a host: 127.0.0.1:" + std::string(text) +
                            " for this machine only, :" + std::string(text) +
                            " for every interface");
    }
    bad_address(text, "missing port");
  }
  const std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.find(':') != std::string_view::npos) no_ipv6(text);
  if (!host.empty() && !is_host(host)) bad_address(text, "malformed host");
  return {host.empty() ? "0.0.0.0" : std::string(host), parse_port(text, port)};
}

std::string to_string(const ListenAddress& address) {
  return address.host + ":" + std::to_string(address.port);
}

struct MetricsServer::Impl {
  Hooks hooks;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  sockaddr_in wake{};  // where a connection reaches the listening socket
  std::unique_ptr<prometheus::Exposer> exposer;

  // civetweb's acceptor notices a stop only when poll() on the listening socket returns, after up
  // to 2 s; connections wake it while the exposer is torn down, so stopping takes milliseconds.
  void stop() {
    std::mutex mutex;
    std::condition_variable stopped_cv;
    bool stopped = false;
    std::thread waker([&] {
      std::unique_lock lock(mutex);
      while (!stopped_cv.wait_for(lock, std::chrono::milliseconds(10), [&] { return stopped; })) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        (void)::connect(fd, reinterpret_cast<const sockaddr*>(&wake), sizeof wake);
        ::close(fd);
      }
    });
    exposer.reset();
    {
      std::lock_guard lock(mutex);
      stopped = true;
    }
    stopped_cv.notify_one();
    waker.join();
  }
};

MetricsServer::MetricsServer(const ListenAddress& address,
                             std::vector<std::shared_ptr<prometheus::Collectable>> collectables,
                             Healthy healthy, Authorize authorize)
    : impl_(std::make_unique<Impl>()) {
  impl_->hooks.healthy = std::move(healthy);
  impl_->collectables = std::move(collectables);
  const in_addr ip = resolve_ipv4(address);
  const std::string listening = dotted(ip) + ":" + std::to_string(address.port);
  starting = &impl_->hooks;
  try {
    // Without keep-alive (civetweb's default) an idle scraper holds no thread between scrapes.
    impl_->exposer = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", listening, "num_threads", kThreads,
                                 "request_timeout_ms", kRequestTimeoutMs},
        &kCallbacks);
  } catch (const std::exception&) {
    starting = nullptr;
    throw std::runtime_error("cannot listen on " + to_string(address) + ": " +
                             bind_failure_reason(impl_->hooks.startup_error));
  }
  starting = nullptr;
  const std::vector<int> ports = impl_->exposer->GetListeningPorts();
  impl_->wake.sin_family = AF_INET;
  impl_->wake.sin_port = htons(static_cast<std::uint16_t>(ports.empty() ? 0 : ports.front()));
  impl_->wake.sin_addr = ip.s_addr == htonl(INADDR_ANY) ? in_addr{htonl(INADDR_LOOPBACK)} : ip;
  if (impl_->hooks.context == nullptr || ports.empty()) {
    impl_->stop();
    throw std::runtime_error("cannot listen on " + to_string(address) +
                             ": civetweb started without a context or a port");
  }
  // init_context hands out the context as const; registering a handler is what civetweb's own C++
  // wrapper does with the same context.
  mg_set_request_handler(const_cast<mg_context*>(impl_->hooks.context), kHealthPath, serve_health,
                         &impl_->hooks);
  if (authorize) impl_->exposer->RegisterAuth(std::move(authorize), "profilis-agent", kMetricsPath);
  for (const auto& collectable : impl_->collectables) {
    impl_->exposer->RegisterCollectable(collectable, kMetricsPath);
  }
}

void MetricsServer::add(std::shared_ptr<prometheus::Collectable> collectable) {
  impl_->exposer->RegisterCollectable(collectable, kMetricsPath);
  impl_->collectables.push_back(std::move(collectable));
}

MetricsServer::~MetricsServer() { impl_->stop(); }

std::uint16_t MetricsServer::port() const { return ntohs(impl_->wake.sin_port); }

}  // namespace profilis
