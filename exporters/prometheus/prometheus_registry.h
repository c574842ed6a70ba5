// The metrics model of DESIGN §6: a registry of families; a family maps a label-value tuple to a
// stable series object; collection produces plain snapshot structs that prometheus_text.h turns
// into text.
//
// Concurrency: observing an existing series is lock-free (relaxed atomics; series never move or
// die while the registry lives). A family's lock is taken only to look up or create a series and to
// list series, never while a series is read, so any number of threads may collect while events
// are observed.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace profilis {

// Upper bounds in seconds of every duration histogram (DESIGN §6); +Inf is implicit.
inline constexpr std::array<double, 11> kDurationBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1,    2,     5,    10};

// The label value every label of a series takes once its family is full.
inline constexpr std::string_view kOverflowLabelValue = "__other__";
// Counter family, labelled `family`, counting the lookups folded into the __other__ series.
inline constexpr std::string_view kSeriesOverflowFamily = "profilis_series_overflow_total";

enum class MetricType { kCounter, kGauge, kHistogram };

// ---- snapshots: what collection produces ----

struct FamilyDesc {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;  // histograms only, ascending; +Inf implicit
};

struct HistogramData {
  std::vector<std::uint64_t> cumulative;  // one per bound, then the +Inf bucket
  double sum = 0;
  std::uint64_t count = 0;  // always equals cumulative.back()
};

struct SeriesSnapshot {
  std::vector<std::string> label_values;  // valid UTF-8, one per label name
  double value = 0;                       // counters and gauges
  HistogramData histogram;                // histograms
};

struct FamilySnapshot {
  FamilyDesc desc;
  std::vector<SeriesSnapshot> series;
};

// ---- series objects ----

class Counter {
 public:
  // Negative or NaN increments are ignored: a counter only goes up.
  void inc(double amount = 1) {
    if (amount >= 0) value_.fetch_add(amount, std::memory_order_relaxed);
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void inc(double amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void dec(double amount = 1) { value_.fetch_sub(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds` must outlive the histogram (its family owns them).
  explicit Histogram(std::span<const double> bounds);

  void observe(double value) {
    std::size_t i = 0;
    // `!(value <= bound)` rather than `value > bound` sends NaN to +Inf, as client_golang does.
    while (i < bounds_.size() && !(value <= bounds_[i])) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }
  // The count is derived from the bucket counts read, so it always equals the +Inf bucket even
  // while another thread observes.
  HistogramData collect() const;

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0};
};

// ---- families ----

// What every family shares: its description and a way to be collected.
class FamilyBase {
 public:
  explicit FamilyBase(FamilyDesc desc) : desc_(std::move(desc)) {}
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const FamilyDesc& desc() const { return desc_; }
  virtual FamilySnapshot collect() const = 0;

 protected:
  FamilyDesc desc_;
};

// Series of one metric type. T is Counter, Gauge or Histogram.
template <typename T>
class Family final : public FamilyBase {
 public:
  // `overflow` counts folds into __other__ once `max_series` label sets exist; null for none.
  Family(FamilyDesc desc, std::size_t max_series, Counter* overflow);

  // The series for these label values (one per label name, else std::invalid_argument), created
  // on first use. Invalid UTF-8 in a value becomes U+FFFD. The reference stays valid as long as the
  // registry does.
  T& labels(std::span<const std::string_view> values);
  T& labels(std::initializer_list<std::string_view> values) {
    return labels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  std::size_t size() const;
  FamilySnapshot collect() const override;

 private:
  struct Series {
    template <typename... Args>
    explicit Series(std::vector<std::string> values, Args&&... args)
        : label_values(std::move(values)), metric(std::forward<Args>(args)...) {}
    std::vector<std::string> label_values;
    T metric;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const {
      return std::hash<std::string_view>{}(key);
    }
  };

  T& lookup(std::span<const std::string_view> values);
  T& create(std::string key, std::span<const std::string_view> values);  // mutex_ held
  T& fold();                                                             // mutex_ held

  const std::size_t max_series_;
  Counter* const overflow_;
  const std::string other_key_;  // the key of the all-__other__ label set
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Series*, KeyHash, std::equal_to<>> index_;
  std::vector<std::unique_ptr<Series>> series_;  // in creation order, for stable output
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// Counters or gauges whose values are read from callbacks at collection time.
class CallbackFamily final : public FamilyBase {
 public:
  using Read = std::function<double()>;
  explicit CallbackFamily(FamilyDesc desc) : FamilyBase(std::move(desc)) {}
  // Throws std::invalid_argument on a wrong number of values or a label set already added.
  void add(std::vector<std::string> label_values, Read read);
  FamilySnapshot collect() const override;

 private:
  struct Series {
    std::vector<std::string> label_values;
    Read read;
  };
  mutable std::mutex mutex_;
  std::vector<Series> series_;
};

struct RegistryOptions {
  // DESIGN §6; smaller in tests.
  std::size_t max_series_per_family = 10000;
};

class Registry {
 public:
  explicit Registry(RegistryOptions options = {});
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Adding a name again returns the same family when type, labels and bounds match; otherwise,
  // and for names that break the format's rules, throws std::invalid_argument.
  Family<Counter>& add_counter(std::string name, std::string help,
                               std::vector<std::string> label_names);
  Family<Gauge>& add_gauge(std::string name, std::string help,
                           std::vector<std::string> label_names);
  Family<Histogram>& add_histogram(std::string name, std::string help,
                                   std::vector<std::string> label_names,
                                   std::vector<double> bounds = {kDurationBuckets.begin(),
                                                                 kDurationBuckets.end()});

  // One series of a callback family; call again with other label values for more series of the
  // same family. `read` runs on the scraping thread at every collection, so it must be
  // thread-safe; if it throws, the sample reads NaN.
  void add_callback_counter(std::string name, std::string help,
                            std::vector<std::string> label_names,
                            std::vector<std::string> label_values, CallbackFamily::Read read);
  void add_callback_gauge(std::string name, std::string help, std::vector<std::string> label_names,
                          std::vector<std::string> label_values, CallbackFamily::Read read);

  // Every family in registration order, each series in creation order.
  std::vector<FamilySnapshot> collect() const;

 private:
  template <typename T>
  Family<T>& add_family(FamilyDesc desc);
  FamilyBase* find(std::string_view name) const;  // mutex_ held
  void add_callback(FamilyDesc desc, std::vector<std::string> label_values,
                    CallbackFamily::Read read);

  RegistryOptions options_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  Family<Counter>* overflow_family_ = nullptr;
};

}  // namespace profilis
