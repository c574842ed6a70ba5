// The users of --prometheus-basic-auth-file: who may scrape /metrics.
//
// One `user:password` per line. A password that starts with $2a$, $2b$ or $2y$ is a bcrypt hash
// (htpasswd -B, Python's bcrypt), checked with libxcrypt's crypt_r; anything else is the password
// itself. The user ends at the first colon, so passwords may hold colons. Blank lines and lines
// whose first non-blank character is # are ignored; a trailing \r is dropped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace profilis {

class BasicAuthUsers {
 public:
  // Throws std::invalid_argument naming the file and, for a bad line, its number: "FILE: cannot
  // read it: REASON", "FILE:3: no ':' between user and password", "FILE:5: user \"x\" again",
  // "FILE:2: not a valid bcrypt hash", "FILE: no users".
  static BasicAuthUsers load(const std::string& path);
  // The same from text; `name` stands for the file in messages.
  static BasicAuthUsers parse(std::string_view text, const std::string& name);

  // Thread-safe. A bcrypt check costs what the hash's cost factor says (~0.1 s at cost 10).
  bool check(std::string_view user, std::string_view password) const;

  std::size_t size() const { return users_.size(); }

 private:
  struct User {
    std::string name;
    std::string secret;
    bool bcrypt = false;
  };
  std::vector<User> users_;
};

}  // namespace profilis
