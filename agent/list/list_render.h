// The two forms of `profilis-agent list` output.
#pragma once

#include <cstddef>
#include <string>

#include "agent/list/list_model.h"

namespace profilis {

constexpr std::size_t kListWidth = 100;

// Three sections (functions, USDT probes, DB client libraries), each a title, a table in the
// listing's order and a count line. No line is wider than `max_width` columns: long names and
// argument lists are cut with "…", and objects are shown by their file name (the JSON form has the
// full paths).
std::string render_listing_text(const Listing& listing, std::size_t max_width = kListWidth);

// {"functions":[{"name","mangled","object","address","size"}],
//  "usdt":[{"object","provider","name","arguments","semaphore","sites"}],
//  "db_libraries":[{"vendor","object","found"}]}, addresses as "0x…" strings. Bytes that are not
// UTF-8 are replaced (U+FFFD), so any ELF file gives valid JSON.
std::string render_listing_json(const Listing& listing);

}  // namespace profilis
