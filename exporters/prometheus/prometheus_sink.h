// Events into the metric families of DESIGN §6, with the profilis names and labels:
//   REQ -> profilis_http_requests_total, profilis_http_request_duration_seconds
//          {service, instance, worker, route, status}
//   FN  -> profilis_function_calls_total, profilis_function_duration_seconds
//          {service, instance, worker, function}
//   DB  -> profilis_db_queries_total, profilis_db_query_duration_seconds
//          {service, instance, worker, db_vendor}
// plus profilis_build_info{version} 1. The health families (dropped events, queue depth, export
// errors) belong to the agent, which registers them as callbacks on the same registry.
#pragma once

#include <string>

#include "exporters/common/sink.h"
#include "exporters/prometheus/prometheus_registry.h"

namespace profilis {

struct PrometheusSinkOptions {
  std::string instance;
  std::string worker;  // empty: each event's pid
  std::string version = "unknown";
};

class PrometheusSink : public Sink {
 public:
  // Registers every family now, so HELP and TYPE are served before the first event. `registry`
  // must outlive the sink.
  PrometheusSink(Registry& registry, PrometheusSinkOptions options);

  std::string_view name() const override { return "prometheus"; }
  void write(std::span<const Event> batch) override;
  void finalize() override {}

 private:
  // A calls counter and a duration histogram sharing one label set.
  struct Pair {
    Family<Counter>& calls;
    Family<Histogram>& durations;
    void observe(std::initializer_list<std::string_view> labels, std::uint64_t dur_ns);
  };

  void observe(const Event& event);

  PrometheusSinkOptions options_;
  Pair http_;
  Pair functions_;
  Pair db_;
};

}  // namespace profilis
