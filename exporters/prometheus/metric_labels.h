// The event fields that --metric-labels may add to the labels of the event families
// (docs/design.md §6). Each multiplies a family's series by its number of values, so none is there
// unless asked for; the series limit of each family still holds.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "exporters/common/event.h"

namespace profilis {

enum class MetricLabel : std::uint8_t { kContainerId, kK8sNamespace, kK8sPod, kK8sContainer };

inline constexpr std::array kMetricLabels = {MetricLabel::kContainerId, MetricLabel::kK8sNamespace,
                                             MetricLabel::kK8sPod, MetricLabel::kK8sContainer};

// The label's name, the same as the event's JSON key: "container_id", "k8s_namespace", …
std::string_view metric_label_name(MetricLabel label);

// The event's value for it; empty when unknown (a process outside containers or Kubernetes).
std::string_view metric_label_value(const Event& event, MetricLabel label);

}  // namespace profilis
