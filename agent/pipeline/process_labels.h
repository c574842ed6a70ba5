// What every event of one traced process carries besides the record's own fields
// (docs/design.md §3: `service`, then where known `container_id` and the `k8s_*` fields).
#pragma once

#include <string>

namespace profilis {

struct ProcessLabels {
  std::string service;
  // Empty for a process outside containers / outside Kubernetes: the field is then not written.
  std::string container_id;
  std::string k8s_namespace;
  std::string k8s_pod;
  std::string k8s_container;

  bool operator==(const ProcessLabels&) const = default;
};

}  // namespace profilis
