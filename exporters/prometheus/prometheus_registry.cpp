#include "exporters/prometheus/prometheus_registry.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "exporters/common/utf8.h"

namespace profilis {

namespace {

// Length-prefixed, so no two label-value tuples share a key whatever bytes they hold.
void encode_key(std::string& key, std::span<const std::string_view> values) {
  key.clear();
  for (std::string_view v : values) {
    const auto length = static_cast<std::uint32_t>(v.size());
    key.append(reinterpret_cast<const char*>(&length), sizeof length);
    key.append(v);
  }
}

std::vector<std::string_view> other_values(std::size_t n) {
  return std::vector<std::string_view>(n, kOverflowLabelValue);
}

std::string other_key(std::size_t n) {
  std::string key;
  encode_key(key, other_values(n));
  return key;
}

bool is_name_char(char c, bool first, bool colon_ok) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return alpha || (colon_ok && c == ':') || (!first && c >= '0' && c <= '9');
}

bool is_valid_name(std::string_view name, bool colon_ok) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0, colon_ok)) return false;
  }
  return true;
}

void validate(const FamilyDesc& desc) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("metric " + desc.name + ": " + why);
  };
  if (!is_valid_name(desc.name, true)) fail("invalid metric name");
  for (std::size_t i = 0; i < desc.label_names.size(); ++i) {
    const std::string& label = desc.label_names[i];
    if (!is_valid_name(label, false) || label.starts_with("__")) fail("invalid label " + label);
    if (desc.type == MetricType::kHistogram && label == "le") fail("label le is reserved");
    if (std::find(desc.label_names.begin(), desc.label_names.begin() + i, label) !=
        desc.label_names.begin() + i) {
      fail("duplicate label " + label);
    }
  }
  for (std::size_t i = 0; i < desc.bounds.size(); ++i) {
    if (!std::isfinite(desc.bounds[i]) || (i > 0 && desc.bounds[i] <= desc.bounds[i - 1])) {
      fail("bucket bounds must be finite and ascending");
    }
  }
}

void check_arity(const FamilyDesc& desc, std::size_t n) {
  if (n != desc.label_names.size()) {
    throw std::invalid_argument("metric " + desc.name + ": expected " +
                                std::to_string(desc.label_names.size()) + " label values, got " +
                                std::to_string(n));
  }
}

void read_into(const Counter& c, SeriesSnapshot& out) { out.value = c.value(); }
void read_into(const Gauge& g, SeriesSnapshot& out) { out.value = g.value(); }
void read_into(const Histogram& h, SeriesSnapshot& out) { out.histogram = h.collect(); }

}  // namespace

// ---- Histogram ----

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

HistogramData Histogram::collect() const {
  HistogramData data;
  data.cumulative.resize(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    data.cumulative[i] = running;
  }
  data.count = running;
  data.sum = sum_.load(std::memory_order_relaxed);
  return data;
}

// ---- Family<T> ----

template <typename T>
Family<T>::Family(FamilyDesc desc, std::size_t max_series, Counter* overflow)
    : FamilyBase(std::move(desc)),
      max_series_(max_series),
      overflow_(overflow),
      other_key_(other_key(desc_.label_names.size())) {}

template <typename T>
T& Family<T>::labels(std::span<const std::string_view> values) {
  check_arity(desc_, values.size());
  if (std::all_of(values.begin(), values.end(), is_valid_utf8)) return lookup(values);
  // Rare: repair first, so values differing only in invalid bytes share one series.
  std::vector<std::string> repaired(values.size());
  std::transform(values.begin(), values.end(), repaired.begin(), to_valid_utf8);
  const std::vector<std::string_view> views(repaired.begin(), repaired.end());
  return lookup(views);
}

template <typename T>
T& Family<T>::lookup(std::span<const std::string_view> values) {
  thread_local std::string key;  // reused, so a hit allocates nothing
  encode_key(key, values);
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(std::string_view(key)); it != index_.end()) return it->second->metric;
  if (index_.size() >= max_series_) return fold();
  return create(key, values);
}

template <typename T>
T& Family<T>::fold() {
  if (overflow_ != nullptr) overflow_->inc();
  if (auto it = index_.find(std::string_view(other_key_)); it != index_.end()) {
    return it->second->metric;
  }
  return create(other_key_, other_values(desc_.label_names.size()));
}

template <typename T>
T& Family<T>::create(std::string key, std::span<const std::string_view> values) {
  std::vector<std::string> owned(values.begin(), values.end());
  std::unique_ptr<Series> series;
  if constexpr (std::is_same_v<T, Histogram>) {
    series = std::make_unique<Series>(std::move(owned), std::span<const double>(desc_.bounds));
  } else {
    series = std::make_unique<Series>(std::move(owned));
  }
  Series* raw = series.get();
  series_.push_back(std::move(series));
  index_.emplace(std::move(key), raw);
  return raw->metric;
}

template <typename T>
std::size_t Family<T>::size() const {
  std::lock_guard lock(mutex_);
  return series_.size();
}

template <typename T>
FamilySnapshot Family<T>::collect() const {
  std::vector<const Series*> listed;
  {
    std::lock_guard lock(mutex_);
    listed.reserve(series_.size());
    for (const auto& series : series_) listed.push_back(series.get());
  }
  // Series are read outside the lock: they never move, and their values are atomics.
  FamilySnapshot snapshot{desc_, {}};
  snapshot.series.resize(listed.size());
  for (std::size_t i = 0; i < listed.size(); ++i) {
    snapshot.series[i].label_values = listed[i]->label_values;
    read_into(listed[i]->metric, snapshot.series[i]);
  }
  return snapshot;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- CallbackFamily ----

void CallbackFamily::add(std::vector<std::string> label_values, Read read) {
  check_arity(desc_, label_values.size());
  for (std::string& value : label_values) value = to_valid_utf8(value);
  std::lock_guard lock(mutex_);
  for (const Series& series : series_) {
    if (series.label_values == label_values) {
      throw std::invalid_argument("metric " + desc_.name + ": label set added twice");
    }
  }
  series_.push_back({std::move(label_values), std::move(read)});
}

FamilySnapshot CallbackFamily::collect() const {
  std::vector<Series> listed;
  {
    std::lock_guard lock(mutex_);
    listed = series_;
  }
  // Callbacks run outside the lock: they may take locks of their own (the collector's).
  FamilySnapshot snapshot{desc_, {}};
  for (const Series& series : listed) {
    double value = std::numeric_limits<double>::quiet_NaN();
    try {
      value = series.read();
    } catch (...) {
      // One broken callback must not take the whole /metrics page down; NaN shows it.
    }
    snapshot.series.push_back({series.label_values, value, {}});
  }
  return snapshot;
}

// ---- Registry ----

Registry::Registry(RegistryOptions options) : options_(options) {
  // Its series are bounded by the number of families, so it needs no limit of its own.
  FamilyDesc desc{std::string(kSeriesOverflowFamily),
                  "Lookups of new label sets folded into the __other__ series of a full family.",
                  MetricType::kCounter,
                  {"family"},
                  {}};
  auto family = std::make_unique<Family<Counter>>(std::move(desc),
                                                  std::numeric_limits<std::size_t>::max(), nullptr);
  overflow_family_ = family.get();
  families_.push_back(std::move(family));
}

FamilyBase* Registry::find(std::string_view name) const {
  for (const auto& family : families_) {
    if (family->desc().name == name) return family.get();
  }
  return nullptr;
}

template <typename T>
Family<T>& Registry::add_family(FamilyDesc desc) {
  validate(desc);
  std::lock_guard lock(mutex_);
  if (FamilyBase* existing = find(desc.name)) {
    auto* same = dynamic_cast<Family<T>*>(existing);
    if (same == nullptr || same->desc().label_names != desc.label_names ||
        same->desc().bounds != desc.bounds) {
      throw std::invalid_argument("metric " + desc.name + " already registered differently");
    }
    return *same;
  }
  // Created now, so every family shows a 0 rather than nothing until it first overflows.
  Counter& overflow = overflow_family_->labels({desc.name});
  auto family =
      std::make_unique<Family<T>>(std::move(desc), options_.max_series_per_family, &overflow);
  Family<T>& result = *family;
  families_.push_back(std::move(family));
  return result;
}

Family<Counter>& Registry::add_counter(std::string name, std::string help,
                                       std::vector<std::string> label_names) {
  return add_family<Counter>(
      {std::move(name), std::move(help), MetricType::kCounter, std::move(label_names), {}});
}

Family<Gauge>& Registry::add_gauge(std::string name, std::string help,
                                   std::vector<std::string> label_names) {
  return add_family<Gauge>(
      {std::move(name), std::move(help), MetricType::kGauge, std::move(label_names), {}});
}

Family<Histogram>& Registry::add_histogram(std::string name, std::string help,
                                           std::vector<std::string> label_names,
                                           std::vector<double> bounds) {
  return add_family<Histogram>({std::move(name), std::move(help), MetricType::kHistogram,
                                std::move(label_names), std::move(bounds)});
}

void Registry::add_callback(FamilyDesc desc, std::vector<std::string> label_values,
                            CallbackFamily::Read read) {
  validate(desc);
  check_arity(desc, label_values.size());
  std::lock_guard lock(mutex_);
  FamilyBase* family = find(desc.name);
  if (family == nullptr) {
    families_.push_back(std::make_unique<CallbackFamily>(desc));
    family = families_.back().get();
  }
  auto* callbacks = dynamic_cast<CallbackFamily*>(family);
  if (callbacks == nullptr || callbacks->desc().type != desc.type ||
      callbacks->desc().label_names != desc.label_names) {
    throw std::invalid_argument("metric " + desc.name + " already registered differently");
  }
  callbacks->add(std::move(label_values), std::move(read));
}

void Registry::add_callback_counter(std::string name, std::string help,
                                    std::vector<std::string> label_names,
                                    std::vector<std::string> label_values,
                                    CallbackFamily::Read read) {
  add_callback({std::move(name), std::move(help), MetricType::kCounter, std::move(label_names), {}},
               std::move(label_values), std::move(read));
}

void Registry::add_callback_gauge(std::string name, std::string help,
                                  std::vector<std::string> label_names,
                                  std::vector<std::string> label_values,
                                  CallbackFamily::Read read) {
  add_callback({std::move(name), std::move(help), MetricType::kGauge, std::move(label_names), {}},
               std::move(label_values), std::move(read));
}

std::vector<FamilySnapshot> Registry::collect() const {
  std::vector<const FamilyBase*> listed;
  {
    std::lock_guard lock(mutex_);
    for (const auto& family : families_) listed.push_back(family.get());
  }
  std::vector<FamilySnapshot> snapshots;
  snapshots.reserve(listed.size());
  for (const FamilyBase* family : listed) snapshots.push_back(family->collect());
  return snapshots;
}

}  // namespace profilis
