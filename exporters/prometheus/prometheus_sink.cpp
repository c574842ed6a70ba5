#include "exporters/prometheus/prometheus_sink.h"

#include <charconv>

namespace profilis {

namespace {

constexpr double kNsPerSecond = 1e9;

std::vector<std::string> labels_with(std::string last) {
  return {"service", "instance", "worker", std::move(last)};
}

}  // namespace

void PrometheusSink::Pair::observe(std::initializer_list<std::string_view> labels,
                                   std::uint64_t dur_ns) {
  calls.labels(labels).inc();
  durations.labels(labels).observe(static_cast<double>(dur_ns) / kNsPerSecond);
}

PrometheusSink::PrometheusSink(Registry& registry, PrometheusSinkOptions options)
    : options_(std::move(options)),
      http_{registry.add_counter("profilis_http_requests_total", "HTTP requests served.",
                                 {"service", "instance", "worker", "route", "status"}),
            registry.add_histogram("profilis_http_request_duration_seconds",
                                   "Duration of HTTP requests in seconds.",
                                   {"service", "instance", "worker", "route", "status"})},
      functions_{registry.add_counter("profilis_function_calls_total", "Completed function calls.",
                                      labels_with("function")),
                 registry.add_histogram("profilis_function_duration_seconds",
                                        "Duration of function calls in seconds.",
                                        labels_with("function"))},
      db_{registry.add_counter("profilis_db_queries_total", "Completed database queries.",
                               labels_with("db_vendor")),
          registry.add_histogram("profilis_db_query_duration_seconds",
                                 "Duration of database queries in seconds.",
                                 labels_with("db_vendor"))} {
  registry.add_gauge("profilis_build_info", "The profilis-agent build; always 1.", {"version"})
      .labels({options_.version})
      .set(1);
}

void PrometheusSink::write(std::span<const Event> batch) {
  for (const Event& event : batch) observe(event);
}

void PrometheusSink::observe(const Event& event) {
  char pid[16];
  std::string_view worker = options_.worker;
  if (worker.empty()) worker = {pid, std::to_chars(pid, pid + sizeof pid, event.pid).ptr};
  const std::string_view service = event.service;
  const std::string_view instance = options_.instance;
  switch (event.kind) {
    case EventKind::kReq: {
      char status[16];
      const std::string_view status_text{
          status, std::to_chars(status, status + sizeof status, event.status).ptr};
      http_.observe({service, instance, worker, event.route, status_text}, event.dur_ns);
      return;
    }
    case EventKind::kFn:
      functions_.observe({service, instance, worker, event.fn}, event.dur_ns);
      return;
    case EventKind::kDb:
      db_.observe({service, instance, worker, event.db_vendor}, event.dur_ns);
      return;
  }
}

}  // namespace profilis
