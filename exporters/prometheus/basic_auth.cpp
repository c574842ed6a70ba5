#include "exporters/prometheus/basic_auth.h"

#include <crypt.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace profilis {

namespace {

// A bcrypt hash: "$2b$" cost "$" 22 characters of salt, 31 of hash.
constexpr std::size_t kBcryptLength = 60;
constexpr std::size_t kBcryptSettingLength = 29;  // prefix, cost and salt

bool is_bcrypt(std::string_view secret) {
  return secret.starts_with("$2a$") || secret.starts_with("$2b$") || secret.starts_with("$2y$");
}

// Time independent of where the strings first differ, so a wrong guess tells nothing of the
// secret's prefix.
bool equal_in_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

// crypt_r's output for `password` under the setting in `hash`, or "" when libxcrypt rejects it.
// crypt_data is 32 KiB: on the heap, not on a server thread's stack.
std::string bcrypt(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  const char* out = ::crypt_r(password.c_str(), hash.c_str(), data.get());
  return out != nullptr && out[0] != '*' ? std::string(out) : std::string();
}

bool is_valid_bcrypt(const std::string& hash) {
  if (hash.size() != kBcryptLength) return false;
  const std::string out = bcrypt("", hash);
  return out.size() == kBcryptLength &&
         out.compare(0, kBcryptSettingLength, hash, 0, kBcryptSettingLength) == 0;
}

}  // namespace

BasicAuthUsers BasicAuthUsers::load(const std::string& path) {
  auto cannot_read = [&](int err) {
    return std::invalid_argument(path + ": cannot read it: " + std::system_category().message(err));
  };
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             std::fclose);
  if (!file) throw cannot_read(errno);
  std::string text;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) {
    text.append(buffer, n);
  }
  if (std::ferror(file.get())) throw cannot_read(errno);  // e.g. a directory: EISDIR
  return parse(text, path);
}

BasicAuthUsers BasicAuthUsers::parse(std::string_view text, const std::string& name) {
  BasicAuthUsers users;
  std::size_t number = 0;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    ++number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    auto fail = [&](const std::string& why) {
      throw std::invalid_argument(name + ":" + std::to_string(number) + ": " + why);
    };
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) fail("no ':' between user and password");
    User user{std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))};
    if (user.name.empty()) fail("empty user");
    if (user.secret.empty()) fail("empty password for user \"" + user.name + "\"");
    if (std::any_of(users.users_.begin(), users.users_.end(),
                    [&](const User& u) { return u.name == user.name; })) {
      fail("user \"" + user.name + "\" again");
    }
    user.bcrypt = is_bcrypt(user.secret);
    if (user.bcrypt && !is_valid_bcrypt(user.secret)) {
      fail("not a valid bcrypt hash for user \"" + user.name + "\"");
    }
    users.users_.push_back(std::move(user));
  }
  if (users.users_.empty()) throw std::invalid_argument(name + ": no users");
  return users;
}

bool BasicAuthUsers::check(std::string_view user, std::string_view password) const {
  // crypt_r reads a C string: a NUL would cut the password short.
  if (password.find('\0') != std::string_view::npos) return false;
  for (const User& candidate : users_) {
    if (candidate.name != user) continue;
    if (!candidate.bcrypt) return equal_in_constant_time(password, candidate.secret);
    return equal_in_constant_time(bcrypt(std::string(password), candidate.secret),
                                  candidate.secret);
  }
  return false;
}

}  // namespace profilis
