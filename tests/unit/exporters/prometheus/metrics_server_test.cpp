#include "exporters/prometheus/metrics_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/http_client.h"
#include "tests/common/promtool.h"

namespace profilis {
namespace {

using testutil::http_get;
using testutil::http_request;
using testutil::HttpRequest;
using namespace std::chrono_literals;

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

// Debian's civetweb is built without IPv6 (mg_check_feature(8) is 0): said at once, not as a
// failure to bind.
TEST(ParseListenAddress, shouldRefuseIpv6Addresses) {
  EXPECT_NE(parse_error("[::1]:9464").find("IPv6 is not supported"), std::string::npos);
  EXPECT_NE(parse_error("[::]:1").find("IPv6 is not supported"), std::string::npos);
  EXPECT_NE(parse_error("::1:9464").find("IPv6 is not supported"), std::string::npos);
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
  EXPECT_NE(parse_error("9464").find("127.0.0.1:9464 for this machine only, :9464 for every"),
            std::string::npos);
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

TEST(ListenAddressToString, shouldJoinHostAndPort) {
  EXPECT_EQ(to_string({"127.0.0.1", 9464}), "127.0.0.1:9464");
}

// ---- MetricsServer ----

// A collectable that counts its collections, so tests see when a scrape reached it.
class CountingCollectable : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily family{
        "test_scrapes_total", "Scrapes seen.", prometheus::MetricType::Counter, {}};
    family.metric.emplace_back();
    family.metric.back().counter.value = ++collections_;
    return {family};
  }
  int collections() const { return collections_; }

 private:
  mutable std::atomic<int> collections_{0};
};

class MetricsServerTest : public ::testing::Test {
 protected:
  MetricsServerTest()
      : collectable_(std::make_shared<CountingCollectable>()),
        server_({"127.0.0.1", 0}, {collectable_}, [this] { return healthy_.load(); }) {}

  std::shared_ptr<CountingCollectable> collectable_;
  std::atomic<bool> healthy_{true};
  MetricsServer server_;
};

TEST_F(MetricsServerTest, shouldBindAnEphemeralPortForPortZero) { EXPECT_GT(server_.port(), 0); }

TEST_F(MetricsServerTest, shouldServeTheCollectablesAtEveryScrape) {
  const auto first = http_get(server_.port(), "/metrics");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_NE(first->body.find("test_scrapes_total 1\n"), std::string::npos) << first->body;
  const auto second = http_get(server_.port(), "/metrics");
  ASSERT_TRUE(second);
  EXPECT_NE(second->body.find("test_scrapes_total 2\n"), std::string::npos) << second->body;
}

TEST_F(MetricsServerTest, shouldPassPromtoolCheckMetrics) {
  ASSERT_TRUE(http_get(server_.port(), "/metrics"));  // the exposer's summary has samples now
  const auto res = http_get(server_.port(), "/metrics");
  ASSERT_TRUE(res);
  const auto result = testutil::promtool_check(res->body);
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n--- input ---\n" << res->body;
}

TEST_F(MetricsServerTest, shouldGzipWhenTheScraperAsksForIt) {
  const auto res = http_get(server_.port(), "/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->header("Content-Encoding"), "gzip");
  EXPECT_NE(testutil::gunzip(res->body).find("test_scrapes_total 1\n"), std::string::npos);
  const auto plain = http_get(server_.port(), "/metrics");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->header("Content-Encoding"), "");
}

TEST_F(MetricsServerTest, shouldAnswerHealthzWithOkWhileHealthy) {
  const auto res = http_get(server_.port(), "/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok");
  const auto head = http_request(server_.port(), {.method = "HEAD", .target = "/healthz"});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(collectable_->collections(), 0);
}

TEST_F(MetricsServerTest, shouldAnswerHealthzWith503WhenUnhealthy) {
  healthy_ = false;
  const auto res = http_get(server_.port(), "/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
}

TEST_F(MetricsServerTest, shouldAnswer404ForOtherPaths) {
  for (const char* path : {"/", "/metricsx", "/metrics/", "/healthzx", "/favicon.ico"}) {
    const auto res = http_get(server_.port(), path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
  }
  const auto post =
      http_request(server_.port(), {.method = "POST", .target = "/other", .body = "x"});
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 404);
}

TEST_F(MetricsServerTest, shouldAnswer405WithAllowForOtherMethods) {
  for (const char* path : {"/metrics", "/healthz"}) {
    for (const char* method : {"POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
      const auto res =
          http_request(server_.port(), {.method = method, .target = path, .body = "x"});
      ASSERT_TRUE(res) << method << " " << path;
      EXPECT_EQ(res->status, 405) << method << " " << path;
      EXPECT_EQ(res->header("Allow"), std::string(path) == "/metrics" ? "GET" : "GET, HEAD")
          << method << " " << path;
    }
  }
  const auto head = http_request(server_.port(), {.method = "HEAD", .target = "/metrics"});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 405);
  EXPECT_EQ(collectable_->collections(), 0);
}

// civetweb would wait up to its request timeout for a body that never comes.
TEST_F(MetricsServerTest, shouldAnswerAPostWithoutABodyAtOnce) {
  const auto start = std::chrono::steady_clock::now();
  const auto res = http_request(server_.port(), {.method = "POST", .target = "/metrics"}, 2s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(MetricsServerTest, shouldRefuseAPortAlreadyInUse) {
  try {
    MetricsServer second({"127.0.0.1", server_.port()}, {}, {});
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
    MetricsServer server({"192.0.2.1", 0}, {}, {});
    FAIL() << "bound an address this host does not have";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on 192.0.2.1:0: cannot assign"),
              std::string::npos)
        << e.what();
  }
}

TEST(MetricsServer, shouldSayWhenAHostCannotBeResolved) {
  try {
    MetricsServer server({"nosuchhost.invalid", 0}, {}, {});
    FAIL() << "resolved a .invalid name";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on nosuchhost.invalid:0: cannot resolve"),
              std::string::npos)
        << e.what();
  }
}

TEST(MetricsServer, shouldListenOnAHostName) {
  MetricsServer server({"localhost", 0}, {std::make_shared<CountingCollectable>()}, {});
  const auto res = http_get(server.port(), "/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(MetricsServer, shouldAskForCredentialsWhenAuthIsOn) {
  MetricsServer server({"127.0.0.1", 0}, {std::make_shared<CountingCollectable>()}, {},
                       [](const std::string& user, const std::string& password) {
                         return user == "prometheus" && password == "s3cret";
                       });
  const auto anonymous = http_get(server.port(), "/metrics");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_NE(anonymous->header("WWW-Authenticate").find("Basic"), std::string::npos);
  EXPECT_EQ(anonymous->body.find("test_scrapes_total"), std::string::npos);
  const auto wrong =
      http_get(server.port(), "/metrics",
               {{"Authorization", testutil::basic_authorization("prometheus", "x")}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  const auto right =
      http_get(server.port(), "/metrics",
               {{"Authorization", testutil::basic_authorization("prometheus", "s3cret")}});
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  EXPECT_NE(right->body.find("test_scrapes_total 1\n"), std::string::npos);
  // A liveness probe carries no credentials.
  const auto health = http_get(server.port(), "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// The agent binds the port before it attaches, and adds what it serves once the pipeline runs.
TEST(MetricsServer, shouldServeCollectablesAddedLaterAfterTheFirst) {
  MetricsServer server({"127.0.0.1", 0}, {}, {});
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("app_calls_total").Help("Calls.").Register(*registry).Add({});
  server.add(std::make_shared<CountingCollectable>());
  server.add(registry);
  const auto res = http_get(server.port(), "/metrics");
  ASSERT_TRUE(res);
  const auto scrapes = res->body.find("test_scrapes_total 1\n");
  const auto calls = res->body.find("app_calls_total 0\n");
  ASSERT_NE(scrapes, std::string::npos) << res->body;
  ASSERT_NE(calls, std::string::npos) << res->body;
  EXPECT_LT(scrapes, calls);
}

TEST(MetricsServer, shouldStopWithinMilliseconds) {
  auto server = std::make_unique<MetricsServer>(
      ListenAddress{"127.0.0.1", 0}, std::vector<std::shared_ptr<prometheus::Collectable>>{},
      MetricsServer::Healthy{});
  ASSERT_TRUE(http_get(server->port(), "/healthz"));
  const auto start = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
}

TEST(MetricsServer, shouldStopWithinTwoSecondsWithAnIdleConnectionOpen) {
  auto server = std::make_unique<MetricsServer>(
      ListenAddress{"127.0.0.1", 0}, std::vector<std::shared_ptr<prometheus::Collectable>>{},
      MetricsServer::Healthy{});
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::this_thread::sleep_for(50ms);  // accepted, waiting for a request
  const auto start = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  ::close(fd);
}

// What a scrape returns is the registry's own rendering, which prometheus_sink_test pipes through
// promtool, after the exposer's own families.
TEST(MetricsServer, shouldServeARegistry) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter()
      .Name("app_calls_total")
      .Help("Calls.")
      .Register(*registry)
      .Add({})
      .Increment(3);
  MetricsServer server({"127.0.0.1", 0}, {registry}, {});
  const auto res = http_get(server.port(), "/metrics");
  ASSERT_TRUE(res);
  const std::string own = prometheus::TextSerializer().Serialize(registry->Collect());
  ASSERT_GE(res->body.size(), own.size());
  EXPECT_EQ(res->body.substr(res->body.size() - own.size()), own);
}

}  // namespace
}  // namespace profilis
