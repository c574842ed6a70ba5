#include "tests/common/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace profilis::testutil {

namespace {

using Clock = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Waits for `events` on fd until `deadline`; false when it passes.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd pfd{fd, events, 0};
  return ::poll(&pfd, 1, static_cast<int>(left.count())) > 0;
}

std::optional<std::string> dechunk(std::string_view data) {
  std::string out;
  while (true) {
    const auto eol = data.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    const std::size_t size = std::stoul(std::string(data.substr(0, eol)), nullptr, 16);
    data.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (data.size() < size + 2) return std::nullopt;
    out.append(data.substr(0, size));
    data.remove_prefix(size + 2);
  }
}

std::optional<HttpResponse> parse(std::string_view raw, bool head, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<HttpResponse> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  const auto end = raw.find("\r\n\r\n");
  if (end == std::string_view::npos || !raw.starts_with("HTTP/1.")) return fail("no HTTP header");
  HttpResponse response;
  std::string_view head_text = raw.substr(0, end);
  const auto first_eol = head_text.find("\r\n");
  const std::string_view status_line = head_text.substr(0, first_eol);
  if (status_line.size() < 12) return fail("short status line");
  response.status = std::stoi(std::string(status_line.substr(9, 3)));
  head_text.remove_prefix(first_eol == std::string_view::npos ? head_text.size() : first_eol + 2);
  while (!head_text.empty()) {
    const auto eol = head_text.find("\r\n");
    const std::string_view line = head_text.substr(0, eol);
    head_text.remove_prefix(eol == std::string_view::npos ? head_text.size() : eol + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  const std::string_view body = raw.substr(end + 4);
  if (head) return response;
  if (iequals(response.header("Transfer-Encoding"), "chunked")) {
    auto dechunked = dechunk(body);
    if (!dechunked) return fail("bad chunked body");
    response.body = std::move(*dechunked);
  } else if (const std::string length = response.header("Content-Length"); !length.empty()) {
    const std::size_t n = std::stoul(length);
    if (body.size() < n) return fail("body shorter than Content-Length");
    response.body = std::string(body.substr(0, n));
  } else {
    response.body = std::string(body);
  }
  return response;
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return "";
}

std::optional<HttpResponse> http_request(int port, const HttpRequest& request,
                                         std::chrono::milliseconds timeout, std::string* error) {
  const auto deadline = Clock::now() + timeout;
  auto fail = [&](const std::string& why) -> std::optional<HttpResponse> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  Socket sock;
  if (sock.fd() < 0) return fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(sock.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return fail(std::string("connect: ") + std::strerror(errno));
  }
  std::string out = request.method + " " + request.target +
                    " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n";
  for (const auto& [name, value] : request.headers) out += name + ": " + value + "\r\n";
  if (request.body) out += "Content-Length: " + std::to_string(request.body->size()) + "\r\n";
  out += "\r\n";
  if (request.body) out += *request.body;
  for (std::size_t sent = 0; sent < out.size();) {
    if (!wait_for(sock.fd(), POLLOUT, deadline)) return fail("timed out sending");
    const ssize_t n = ::send(sock.fd(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0) return fail(std::string("send: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buffer[65536];
  while (true) {
    if (!wait_for(sock.fd(), POLLIN, deadline)) return fail("timed out reading the answer");
    const ssize_t n = ::recv(sock.fd(), buffer, sizeof buffer, 0);
    if (n < 0) {
      // A server that answers before reading the whole request may reset the connection once
      // the answer is out; what arrived still counts.
      if (errno == ECONNRESET && !raw.empty()) break;
      return fail(std::string("recv: ") + std::strerror(errno));
    }
    if (n == 0) break;
    raw.append(buffer, static_cast<std::size_t>(n));
  }
  return parse(raw, request.method == "HEAD", error);
}

std::optional<HttpResponse> http_get(int port, const std::string& target,
                                     std::vector<std::pair<std::string, std::string>> headers) {
  return http_request(port, HttpRequest{.target = target, .headers = std::move(headers)});
}

std::string basic_authorization(std::string_view user, std::string_view password) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = std::string(user) + ":" + std::string(password);
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t chunk = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) chunk |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) chunk |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[chunk & 63] : '=';
  }
  return "Basic " + out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string gunzip(std::string_view data) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof buffer;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - zs.avail_out);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("not a complete gzip stream");
  return out;
}

}  // namespace profilis::testutil
