// Reading JSON lines (the agent's JSONL files and console output, the fixtures' logs) in tests.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace profilis::e2e {

using Json = nlohmann::ordered_json;

// Every line of `text` as JSON; a line that is not is a test failure naming `origin`.
std::vector<Json> parse_json_lines(const std::string& text, const std::string& origin);

// The JSON lines of a file, or a test failure when there is none.
std::vector<Json> read_json_lines(const std::string& path);

// An event's keys in order, without the fields that name the traced process's container
// (`container_id`, then on Kubernetes `k8s_namespace`, `k8s_pod`, `k8s_container`) when they follow
// `service` in that order: a test run inside a container or pod sees them, elsewhere they are
// absent.
std::vector<std::string> keys_without_container_fields(const Json& event);

}  // namespace profilis::e2e
