#include "exporters/prometheus/basic_auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

namespace profilis {
namespace {

// bcrypt of "secret" at cost 5 with the $2y$ prefix htpasswd -B writes (made with libxcrypt's
// crypt_gensalt and crypt), and the OpenBSD test vector for "U*U" ($2a$).
constexpr const char* kHash2y = "$2y$05$1wnQqsbVp6t9bs8MxGCNe.ACjncRBNgDcogoYN3Oqp.1jL7zyGhZ6";
constexpr const char* kHash2a = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

std::string parse_error(const std::string& text) {
  try {
    BasicAuthUsers::parse(text, "auth.txt");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(BasicAuthUsers, shouldCheckPlainPasswords) {
  const auto users = BasicAuthUsers::parse("prometheus:s3cret\n", "auth.txt");
  EXPECT_TRUE(users.check("prometheus", "s3cret"));
  EXPECT_FALSE(users.check("prometheus", "s3cre"));
  EXPECT_FALSE(users.check("prometheus", "s3cret "));
  EXPECT_FALSE(users.check("other", "s3cret"));
  EXPECT_FALSE(users.check("", ""));
}

TEST(BasicAuthUsers, shouldCheckBcryptHashesOfEveryPrefix) {
  const auto users =
      BasicAuthUsers::parse(std::string("a:") + kHash2y + "\nb:" + kHash2a + "\n", "auth.txt");
  EXPECT_TRUE(users.check("a", "secret"));  // kHash2y was made from "secret"
  EXPECT_FALSE(users.check("a", "Secret"));
  EXPECT_FALSE(users.check("a", kHash2y));  // the hash is not the password
  EXPECT_TRUE(users.check("b", "U*U"));
  EXPECT_FALSE(users.check("b", "U*V"));
}

TEST(BasicAuthUsers, shouldAcceptThe2bPrefix) {
  // "secret" again, with the $2b$ prefix of Python's bcrypt and libxcrypt's own default.
  const auto users = BasicAuthUsers::parse(
      "user:$2b$05$LqAQHJ8zCYD5i5VKvCgsG.e/4Wl3PRswVilN4JjZrgJVv.V510Y1K\n", "auth.txt");
  EXPECT_TRUE(users.check("user", "secret"));
}

TEST(BasicAuthUsers, shouldLetPasswordsHoldColons) {
  const auto users = BasicAuthUsers::parse("u:a:b:c\n", "auth.txt");
  EXPECT_TRUE(users.check("u", "a:b:c"));
}

TEST(BasicAuthUsers, shouldRefuseAPasswordWithANul) {
  const auto users = BasicAuthUsers::parse(std::string("a:") + kHash2y + "\n", "auth.txt");
  EXPECT_FALSE(users.check("a", std::string("secret\0more", 11)));
}

TEST(BasicAuthUsers, shouldSkipCommentsBlankLinesAndCarriageReturns) {
  const auto users =
      BasicAuthUsers::parse("# scrapers\n\n   \n  # indented comment\r\nu:p\r\nv:q", "auth.txt");
  EXPECT_EQ(users.size(), 2u);
  EXPECT_TRUE(users.check("u", "p"));
  EXPECT_TRUE(users.check("v", "q"));
}

TEST(BasicAuthUsers, shouldNameTheFileAndLineOfAMalformedLine) {
  EXPECT_EQ(parse_error("# c\nu:p\nnocolon\n"), "auth.txt:3: no ':' between user and password");
  EXPECT_EQ(parse_error(":p\n"), "auth.txt:1: empty user");
  EXPECT_EQ(parse_error("u:\n"), "auth.txt:1: empty password for user \"u\"");
  EXPECT_EQ(parse_error("u:p\nu:q\n"), "auth.txt:2: user \"u\" again");
}

TEST(BasicAuthUsers, shouldRefuseAMalformedBcryptHash) {
  EXPECT_EQ(parse_error("u:$2y$05$tooshort\n"),
            "auth.txt:1: not a valid bcrypt hash for user \"u\"");
  EXPECT_EQ(parse_error("u:$2y$99$1wnQqsbVp6t9bs8MxGCNe.ACjncRBNgDcogoYN3Oqp.1jL7zyGhZ6\n"),
            "auth.txt:1: not a valid bcrypt hash for user \"u\"");
}

TEST(BasicAuthUsers, shouldRefuseAFileWithoutUsers) {
  EXPECT_EQ(parse_error(""), "auth.txt: no users");
  EXPECT_EQ(parse_error("# nobody yet\n"), "auth.txt: no users");
}

TEST(BasicAuthUsers, shouldLoadAFile) {
  char path[] = "/tmp/profilis-auth.XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "u:p\n";
  EXPECT_TRUE(BasicAuthUsers::load(path).check("u", "p"));
  ::unlink(path);
}

TEST(BasicAuthUsers, shouldSayWhyAFileCannotBeRead) {
  try {
    BasicAuthUsers::load("/nonexistent/auth.txt");
    FAIL() << "read a file that does not exist";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/auth.txt: cannot read it: No such file or directory");
  }
  try {
    BasicAuthUsers::load("/tmp");
    FAIL() << "read a directory";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "/tmp: cannot read it: Is a directory");
  }
}

}  // namespace
}  // namespace profilis
