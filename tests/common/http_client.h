// A small HTTP/1.1 client for the tests: one request per connection, the answer read to the end.
// Enough for the agent's /metrics and /healthz and for Prometheus's query API, and it shows the
// raw answer (Content-Encoding, a body that is still gzip) that a full client would hide.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace profilis::testutil {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string body;                                          // de-chunked, not decompressed

  // The first header of that name, compared case-insensitively; "" when there is none.
  std::string header(std::string_view name) const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";  // path and query
  std::vector<std::pair<std::string, std::string>> headers = {};
  std::optional<std::string> body = {};  // sent with Content-Length when set
};

// Sends `request` to 127.0.0.1:port and reads the answer until the server closes. nullopt on a
// transport error or when `timeout` passes first; `error` then says which.
std::optional<HttpResponse> http_request(
    int port, const HttpRequest& request,
    std::chrono::milliseconds timeout = std::chrono::seconds(5), std::string* error = nullptr);

std::optional<HttpResponse> http_get(int port, const std::string& target,
                                     std::vector<std::pair<std::string, std::string>> headers = {});

// "Basic <base64 of user:password>".
std::string basic_authorization(std::string_view user, std::string_view password);

// Percent-encodes everything but unreserved characters, for a query parameter.
std::string url_encode(std::string_view text);

// Inflates a gzip stream; throws std::runtime_error when it is not one.
std::string gunzip(std::string_view data);

}  // namespace profilis::testutil
