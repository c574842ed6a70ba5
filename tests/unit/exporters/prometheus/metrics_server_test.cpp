#include "exporters/prometheus/metrics_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "exporters/prometheus/prometheus_sink.h"
#include "exporters/prometheus/prometheus_text.h"

namespace profilis {
namespace {

// ---- parse_listen_address ----

std::string parse_error(std::string_view text) {
  try {
    parse_listen_address(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ParseListenAddress, shouldParseAnIpv4Address) {
  const ListenAddress a = parse_listen_address("127.0.0.1:9464");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9464);
  EXPECT_EQ(parse_listen_address("0.0.0.0:80").host, "0.0.0.0");
}

TEST(ParseListenAddress, shouldTakeAnEmptyHostAsAllInterfaces) {
  const ListenAddress a = parse_listen_address(":9464");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 9464);
}

TEST(ParseListenAddress, shouldParseTheDefaultAsLoopback) {
  EXPECT_EQ(parse_listen_address(kDefaultListenAddress).host, "127.0.0.1");
}

TEST(ParseListenAddress, shouldParseABracketedIpv6Address) {
  const ListenAddress a = parse_listen_address("[::1]:9464");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 9464);
  EXPECT_EQ(parse_listen_address("[::]:1").host, "::");
}

TEST(ParseListenAddress, shouldParseAHostName) {
  const ListenAddress a = parse_listen_address("localhost:65535");
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, 65535);
  EXPECT_EQ(parse_listen_address("metrics-1.example.com:9464").host, "metrics-1.example.com");
}

TEST(ParseListenAddress, shouldRejectAnEmptyAddress) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
}

TEST(ParseListenAddress, shouldRejectAMissingPort) {
  EXPECT_NE(parse_error("127.0.0.1").find("missing port"), std::string::npos);
  EXPECT_NE(parse_error("127.0.0.1:").find("missing port"), std::string::npos);
  EXPECT_NE(parse_error("[::1]").find("missing port"), std::string::npos);
}

TEST(ParseListenAddress, shouldRejectPortsOutOfRange) {
  EXPECT_NE(parse_error(":0").find("1-65535"), std::string::npos);
  EXPECT_NE(parse_error(":65536").find("1-65535"), std::string::npos);
  EXPECT_NE(parse_error(":99999999999999999999").find("1-65535"), std::string::npos);
}

TEST(ParseListenAddress, shouldRejectANonNumericPort) {
  EXPECT_NE(parse_error(":http").find("not a number"), std::string::npos);
  EXPECT_NE(parse_error(":-1").find("not a number"), std::string::npos);
  EXPECT_NE(parse_error(":+80").find("not a number"), std::string::npos);
  EXPECT_NE(parse_error(":80 ").find("not a number"), std::string::npos);
}

TEST(ParseListenAddress, shouldRejectGarbageHosts) {
  EXPECT_NE(parse_error("::1:9464").find("brackets"), std::string::npos);
  EXPECT_NE(parse_error("[::1:9464").find("']'"), std::string::npos);
  EXPECT_NE(parse_error("[nonsense]:9464").find("IPv6"), std::string::npos);
  EXPECT_NE(parse_error("256.0.0.1:9464").find("malformed host"), std::string::npos);
  EXPECT_NE(parse_error("bad host:9464").find("malformed host"), std::string::npos);
  EXPECT_NE(parse_error("-bad:9464").find("malformed host"), std::string::npos);
  EXPECT_NE(parse_error("a..b:9464").find("malformed host"), std::string::npos);
}

TEST(ParseListenAddress, shouldNameTheInputInItsMessage) {
  EXPECT_NE(parse_error("nonsense").find("\"nonsense\""), std::string::npos);
}

TEST(ListenAddressToString, shouldBracketIpv6Hosts) {
  EXPECT_EQ(to_string({"::1", 9464}), "[::1]:9464");
  EXPECT_EQ(to_string({"127.0.0.1", 9464}), "127.0.0.1:9464");
}

// ---- MetricsServer ----

class MetricsServerTest : public ::testing::Test {
 protected:
  MetricsServerTest()
      : server_(
            {"127.0.0.1", 0}, [this] { return "page " + std::to_string(++renders_) + "\n"; },
            [this] { return healthy_.load(); }),
        client_("127.0.0.1", server_.port()) {}

  std::atomic<int> renders_{0};
  std::atomic<bool> healthy_{true};
  MetricsServer server_;
  httplib::Client client_;
};

TEST_F(MetricsServerTest, shouldBindAnEphemeralPortForPortZero) { EXPECT_GT(server_.port(), 0); }

TEST_F(MetricsServerTest, shouldServeMetricsWithTheTextFormatContentType) {
  const auto res = client_.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(res->body, "page 1\n");
}

TEST_F(MetricsServerTest, shouldRenderAtEveryScrape) {
  ASSERT_TRUE(client_.Get("/metrics"));
  const auto res = client_.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "page 2\n");
}

TEST_F(MetricsServerTest, shouldAnswerHealthzWithOkWhileHealthy) {
  const auto res = client_.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok");
}

TEST_F(MetricsServerTest, shouldAnswerHealthzWith503WhenUnhealthy) {
  healthy_ = false;
  const auto res = client_.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
}

TEST_F(MetricsServerTest, shouldAnswer404ForOtherPaths) {
  for (const char* path : {"/", "/metrics/", "/metricsx", "/favicon.ico"}) {
    const auto res = client_.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
  const auto post = client_.Post("/other", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 404);
}

TEST_F(MetricsServerTest, shouldAnswer405WithAllowForOtherMethods) {
  for (const char* path : {"/metrics", "/healthz"}) {
    std::vector<httplib::Result> results;
    results.push_back(client_.Post(path, "x", "text/plain"));
    results.push_back(client_.Put(path, "x", "text/plain"));
    results.push_back(client_.Patch(path, "x", "text/plain"));
    results.push_back(client_.Delete(path));
    results.push_back(client_.Options(path));
    for (const auto& res : results) {
      ASSERT_TRUE(res) << path;
      EXPECT_EQ(res->status, 405) << path;
      EXPECT_EQ(res->get_header_value("Allow"), "GET, HEAD") << path;
    }
  }
  EXPECT_EQ(renders_, 0);
}

TEST_F(MetricsServerTest, shouldServeHeadLikeGetWithoutABody) {
  const auto res = client_.Head("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_TRUE(res->body.empty());
}

TEST_F(MetricsServerTest, shouldRefuseAPortAlreadyInUse) {
  try {
    MetricsServer second(
        {"127.0.0.1", server_.port()}, [] { return ""; }, [] { return true; });
    FAIL() << "bound a port that is in use";
  } catch (const std::runtime_error& e) {
    const std::string expected =
        "cannot listen on 127.0.0.1:" + std::to_string(server_.port()) + ": address already in use";
    EXPECT_EQ(std::string(e.what()), expected);
  }
}

TEST(MetricsServer, shouldSayWhyAnAddressCannotBeBound) {
  // 192.0.2.1 (TEST-NET-1) is not an address of this host.
  try {
    MetricsServer server(
        {"192.0.2.1", 0}, [] { return ""; }, [] { return true; });
    FAIL() << "bound an address this host does not have";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on 192.0.2.1:0: cannot assign"),
              std::string::npos)
        << e.what();
  }
}

TEST(MetricsServer, shouldServeIpv6Loopback) {
  std::optional<MetricsServer> server;
  try {
    server.emplace(
        ListenAddress{"::1", 0}, [] { return "v6\n"; }, [] { return true; });
  } catch (const std::runtime_error& e) {
    // Some containers have no IPv6 at all; CI machines do, so there a failure to bind is a failure.
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true")
      FAIL() << "no IPv6 loopback (CI=true): " << e.what();
    GTEST_SKIP() << "no IPv6 loopback here (skipped outside CI; with CI=true this fails): "
                 << e.what();
  }
  httplib::Client client("::1", server->port());
  const auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "v6\n");
}

TEST(MetricsServer, shouldAnswer500AndKeepServingWhenRenderingThrows) {
  std::atomic<bool> fail{true};
  MetricsServer server(
      {"127.0.0.1", 0},
      [&]() -> std::string {
        if (fail) throw std::runtime_error("render failed");
        return "fine\n";
      },
      [] { return true; });
  httplib::Client client("127.0.0.1", server.port());
  const auto failed = client.Get("/metrics");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 500);
  fail = false;
  const auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "fine\n");
}

TEST(MetricsServer, shouldStopPromptlyWithAKeepAliveClientConnected) {
  auto server = std::make_unique<MetricsServer>(
      ListenAddress{"127.0.0.1", 0}, [] { return "x\n"; }, [] { return true; });
  httplib::Client client("127.0.0.1", server->port());
  client.set_keep_alive(true);
  ASSERT_TRUE(client.Get("/metrics"));
  const auto start = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(MetricsServer, shouldStopPromptlyWithAnIdleConnectionOpen) {
  auto server = std::make_unique<MetricsServer>(
      ListenAddress{"127.0.0.1", 0}, [] { return "x\n"; }, [] { return true; });
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // accepted, waiting for a request
  const auto start = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ::close(fd);
}

// What a scrape returns is exactly the registry's rendering, which prometheus_text_test pipes
// through promtool.
TEST(MetricsServer, shouldServeTheRenderedRegistry) {
  Registry registry;
  PrometheusSink sink(registry, {.instance = "host-1", .worker = "w1"});
  registry.add_callback_gauge("profilis_queue_depth", "Events queued.", {}, {}, [] { return 5.0; });
  Event event;
  event.kind = EventKind::kFn;
  event.fn = "f";
  event.dur_ns = 1000;
  const std::vector<Event> events = {event};
  sink.write(events);
  MetricsServer server(
      {"127.0.0.1", 0}, [&] { return render_text(registry); }, [] { return true; });
  httplib::Client client("127.0.0.1", server.port());
  const auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, render_text(registry));
  EXPECT_NE(res->body.find("profilis_queue_depth 5\n"), std::string::npos);
}

}  // namespace
}  // namespace profilis
