#include "exporters/prometheus/metric_labels.h"

namespace profilis {

std::string_view metric_label_name(MetricLabel label) {
  switch (label) {
    case MetricLabel::kContainerId:
      return "container_id";
    case MetricLabel::kK8sNamespace:
      return "k8s_namespace";
    case MetricLabel::kK8sPod:
      return "k8s_pod";
    case MetricLabel::kK8sContainer:
      return "k8s_container";
  }
  return "unknown";
}

std::string_view metric_label_value(const Event& event, MetricLabel label) {
  switch (label) {
    case MetricLabel::kContainerId:
      return event.container_id;
    case MetricLabel::kK8sNamespace:
      return event.k8s_namespace;
    case MetricLabel::kK8sPod:
      return event.k8s_pod;
    case MetricLabel::kK8sContainer:
      return event.k8s_container;
  }
  return {};
}

}  // namespace profilis
