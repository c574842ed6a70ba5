#include "agent/pipeline/sql_normalize.h"

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace profilis {
namespace {

enum : std::uint8_t {
  kSpace = 1,
  kIdentStart = 2,  // letters, '_', bytes >= 0x80 (UTF-8)
  kIdentCont = 4,   // the above, digits and '$'
  kDigit = 8,
  kTagCont = 16,  // a dollar-quote tag after its first byte: like kIdentCont without '$'
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (const char c : {' ', '\t', '\n', '\r', '\f', '\v'}) {
    t[static_cast<unsigned char>(c)] = kSpace;
  }
  for (int c = 0; c < 256; ++c) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    const bool digit = c >= '0' && c <= '9';
    if (letter) t[c] |= kIdentStart | kIdentCont | kTagCont;
    if (digit) t[c] |= kDigit | kIdentCont | kTagCont;
  }
  t['$'] |= kIdentCont;
  return t;
}

constexpr std::array<std::uint8_t, 256> kClasses = make_classes();

bool has(unsigned char c, std::uint8_t cls) { return (kClasses[c] & cls) != 0; }

bool is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}
bool is_bin(unsigned char c) { return c == '0' || c == '1'; }
bool is_oct(unsigned char c) { return c >= '0' && c <= '7'; }

// Case-insensitive comparison against a lowercase ASCII keyword (letters only).
bool iequals(const unsigned char* p, std::size_t len, std::string_view lower) {
  if (len != lower.size()) return false;
  for (std::size_t i = 0; i < len; ++i) {
    if ((p[i] | 0x20) != static_cast<unsigned char>(lower[i])) return false;
  }
  return true;
}

// Keywords after which a minus before digits is a sign, as after an operator.
bool expects_operand_after(const unsigned char* p, std::size_t len) {
  static constexpr std::string_view kKeywords[] = {
      "select", "where",   "and",  "or",    "not",     "on",       "set",    "values", "by",
      "when",   "then",    "else", "limit", "offset",  "return",   "having", "is",     "like",
      "ilike",  "between", "in",   "case",  "default", "distinct", "all",    "any",    "some"};
  if (len > 8) return false;
  for (const std::string_view kw : kKeywords) {
    if (iequals(p, len, kw)) return true;
  }
  return false;
}

class Normalizer {
 public:
  Normalizer(std::string_view sql, char* out)
      : s_(reinterpret_cast<const unsigned char*>(sql.data())),
        n_(sql.size()),
        base_(out),
        w_(out) {}

  // Returns the length written.
  std::size_t run() {
    std::size_t i = 0;
    while (i < n_) {
      const unsigned char c = s_[i];
      const std::uint8_t cls = kClasses[c];
      if (cls & kSpace) {
        space();
        ++i;
      } else if (cls & kIdentStart) {
        i = word(i);
      } else if (cls & kDigit) {
        i = number_or_word(i);
      } else {
        i = other(i, c);
      }
    }
    finish();
    return static_cast<std::size_t>(w_ - base_);
  }

 private:
  enum class Prev : std::uint8_t { kStart, kOperand, kOperator, kWord };
  enum class InList : std::uint8_t { kIdle, kAfterIn, kOpen, kItem, kComma };
  enum class Lex : std::uint8_t { kLiteral, kWord, kNone };
  struct NumberLex {
    Lex kind;
    std::size_t end;
  };

  std::size_t other(std::size_t i, unsigned char c) {
    switch (c) {
      case '\'':
        return quoted_literal(i);
      case '"':
      case '`': {
        const std::size_t end = quoted_identifier(i, c);
        verbatim(i, end);
        return end;
      }
      case '-':
        if (i + 1 < n_ && s_[i + 1] == '-') return line_comment(i);
        if (starts_number(i + 1) && expects_operand()) {
          const NumberLex lex = lex_number(i + 1);
          if (lex.kind == Lex::kLiteral) {
            literal();
            return lex.end;
          }
        }
        break;
      case '/':
        if (i + 1 < n_ && s_[i + 1] == '*') return block_comment(i);
        break;
      case '.':
        if (starts_number(i) && expects_operand()) {
          const NumberLex lex = lex_number(i);
          if (lex.kind == Lex::kLiteral) {
            literal();
            return lex.end;
          }
        }
        break;
      case '$':
        return dollar(i);
      case '?': {
        std::size_t end = i + 1;
        while (end < n_ && has(s_[end], kDigit)) ++end;
        const InList list = in_list_;
        verbatim(i, end);
        if (end == i + 1) {
          in_list_ = list;
          list_item();
        }
        return end;
      }
      default:
        break;
    }
    punct(c);
    return i + 1;
  }

  // An identifier or keyword, a boolean, or the prefix of a string literal (E'', N'', X'', B'',
  // U&'', _charset'').
  std::size_t word(std::size_t i) {
    // Copied while scanning, to where a kept word goes; a literal overwrites it again.
    char* dst = w_ + (pending_space_ && w_ != base_ ? 1 : 0);
    dst[0] = static_cast<char>(s_[i]);
    std::size_t end = i + 1;
    while (end < n_) {
      const unsigned char c = s_[end];
      if (!has(c, kIdentCont)) break;
      dst[end - i] = static_cast<char>(c);
      ++end;
    }
    const std::size_t len = end - i;
    if (end < n_ && (s_[end] == '\'' || s_[end] == '&')) {
      const unsigned char first = s_[i] | 0x20;
      if (s_[end] == '\'' && (s_[i] == '_' || (len == 1 && (first == 'e' || first == 'n' ||
                                                            first == 'x' || first == 'b')))) {
        return quoted_literal(end);
      }
      if (len == 1 && first == 'u' && s_[end] == '&' && end + 1 < n_ && s_[end + 1] == '\'') {
        return quoted_literal(end + 1);
      }
    }
    if (len <= 5 && (iequals(s_ + i, len, "true") || iequals(s_ + i, len, "false"))) {
      literal();
      return end;
    }
    if (dst != w_) *w_ = ' ';
    pending_space_ = false;
    glued_ = false;
    w_ = dst + len;
    prev_ = Prev::kWord;
    prev_word_ = s_ + i;
    prev_word_len_ = len;
    if (len == 2 && iequals(s_ + i, len, "in")) {
      in_list_ = InList::kAfterIn;
      in_at_ = static_cast<std::size_t>(w_ - base_);
    } else {
      in_list_ = InList::kIdle;
    }
    return end;
  }

  std::size_t number_or_word(std::size_t i) {
    const NumberLex lex = lex_number(i);
    if (lex.kind == Lex::kLiteral) {
      literal();
    } else {
      // `'a'1x` must not come out as `?1x`, which reads back as the placeholder ?1.
      if (w_ != base_ && w_[-1] == '?') pending_space_ = true;
      verbatim(i, lex.end);
    }
    return lex.end;
  }

  bool starts_number(std::size_t p) const {
    return p < n_ && (has(s_[p], kDigit) || (s_[p] == '.' && p + 1 < n_ && has(s_[p + 1], kDigit)));
  }

  // Digits, allowing single underscores between digits (PostgreSQL 16: 1_000_000).
  std::size_t digits(std::size_t q) const {
    while (q < n_) {
      if (has(s_[q], kDigit) || (s_[q] == '_' && q > 0 && has(s_[q - 1], kDigit) && q + 1 < n_ &&
                                 has(s_[q + 1], kDigit))) {
        ++q;
      } else {
        break;
      }
    }
    return q;
  }

  // `p` is at a digit or at a '.' followed by a digit. A number directly followed by an identifier
  // byte is no literal: `1abc` and `0x1G` are words (MySQL allows identifiers that start with
  // digits), kept whole; `.5x` is not lexed as a number at all (the '.' is punctuation).
  NumberLex lex_number(std::size_t p) const {
    std::size_t q = p;
    const bool dot_start = s_[p] == '.';
    bool radix = false;
    if (!dot_start && s_[p] == '0' && p + 1 < n_) {
      const unsigned char r = s_[p + 1] | 0x20;
      bool (*pred)(unsigned char) = r == 'x'   ? is_hex
                                    : r == 'b' ? is_bin
                                    : r == 'o' ? is_oct
                                               : nullptr;
      // `0x` with no digit: cut off (or junk); a literal unless a word goes on (`0xg`).
      if (pred != nullptr && (p + 2 == n_ || !has(s_[p + 2], kIdentCont))) {
        return {Lex::kLiteral, p + 2};
      }
      if (pred != nullptr && pred(s_[p + 2])) {
        q = p + 3;
        while (q < n_ && (pred(s_[q]) || (s_[q] == '_' && q + 1 < n_ && pred(s_[q + 1])))) ++q;
        radix = true;
      }
    }
    if (!radix) {
      q = digits(q);
      if (q < n_ && s_[q] == '.') q = digits(q + 1);
      if (q < n_ && (s_[q] | 0x20) == 'e') {
        std::size_t r = q + 1;
        if (r < n_ && (s_[r] == '+' || s_[r] == '-')) ++r;
        if (r < n_ && has(s_[r], kDigit)) {
          q = digits(r);
        } else if (r != q + 1 || r == n_ || !has(s_[r], kIdentCont)) {
          // An exponent with no digit, as when cut off (`1e`, `1e-`): still a literal, unless a
          // word goes on (`1ex`).
          q = r;
        }
      }
    }
    if (q < n_ && has(s_[q], kIdentCont)) {
      if (dot_start) return {Lex::kNone, p};
      std::size_t end = p;
      while (end < n_ && has(s_[end], kIdentCont)) ++end;
      if (end > q) return {Lex::kWord, end};
    }
    return {Lex::kLiteral, q};
  }

  // '...' with '' and backslash escapes; unterminated runs to the end.
  std::size_t quoted_literal(std::size_t quote) {
    std::size_t j = quote + 1;
    while (j < n_) {
      const unsigned char c = s_[j];
      if (c == '\\') {
        j += 2;
      } else if (c == '\'') {
        if (j + 1 < n_ && s_[j + 1] == '\'') {
          j += 2;
        } else {
          ++j;
          break;
        }
      } else {
        ++j;
      }
    }
    literal();
    return j < n_ ? j : n_;
  }

  // "..." or `...` with the quote doubled inside; unterminated runs to the end.
  std::size_t quoted_identifier(std::size_t i, unsigned char q) const {
    std::size_t j = i + 1;
    while (j < n_) {
      const void* hit = std::memchr(s_ + j, q, n_ - j);
      if (hit == nullptr) return n_;
      j = static_cast<std::size_t>(static_cast<const unsigned char*>(hit) - s_) + 1;
      if (j < n_ && s_[j] == q) {
        ++j;
      } else {
        return j;
      }
    }
    return n_;
  }

  // $1 (kept), $$...$$ or $tag$...$tag$ (a literal), or a lone '$'.
  std::size_t dollar(std::size_t i) {
    if (i + 1 < n_ && has(s_[i + 1], kDigit)) {
      std::size_t end = i + 2;
      while (end < n_ && has(s_[end], kDigit)) ++end;
      verbatim(i, end);
      return end;
    }
    std::size_t t = i + 1;
    if (t < n_ && has(s_[t], kIdentStart)) {
      ++t;
      while (t < n_ && has(s_[t], kTagCont)) ++t;
    }
    if (t < n_ && s_[t] == '$') {
      const std::string_view text(reinterpret_cast<const char*>(s_), n_);
      const std::string_view delimiter = text.substr(i, t + 1 - i);
      const std::size_t close = text.find(delimiter, t + 1);
      literal();
      return close == std::string_view::npos ? n_ : close + delimiter.size();
    }
    punct('$');
    return i + 1;
  }

  std::size_t line_comment(std::size_t i) {
    space();
    const void* nl = std::memchr(s_ + i + 2, '\n', n_ - (i + 2));
    return nl == nullptr ? n_
                         : static_cast<std::size_t>(static_cast<const unsigned char*>(nl) - s_);
  }

  // /* ... */, nesting as in PostgreSQL; unterminated runs to the end.
  std::size_t block_comment(std::size_t i) {
    space();
    std::size_t j = i + 2;
    int depth = 1;
    while (j + 1 < n_) {
      if (s_[j] == '*' && s_[j + 1] == '/') {
        j += 2;
        if (--depth == 0) return j;
      } else if (s_[j] == '/' && s_[j + 1] == '*') {
        j += 2;
        ++depth;
      } else {
        ++j;
      }
    }
    return n_;
  }

  bool expects_operand() const {
    switch (prev_) {
      case Prev::kStart:
      case Prev::kOperator:
        return true;
      case Prev::kOperand:
        return false;
      case Prev::kWord:
        return expects_operand_after(prev_word_, prev_word_len_);
    }
    return false;
  }

  // Whitespace or a comment: one space before the next token, except right after `(` or `[`.
  void space() {
    if (!glued_) pending_space_ = true;
  }

  void begin_token() {
    glued_ = false;
    if (pending_space_) {
      if (w_ != base_) *w_++ = ' ';
      pending_space_ = false;
    }
  }

  void literal() {
    begin_token();
    *w_++ = '?';
    prev_ = Prev::kOperand;
    list_item();
  }

  void list_item() {
    in_list_ =
        (in_list_ == InList::kOpen || in_list_ == InList::kComma) ? InList::kItem : InList::kIdle;
  }

  void verbatim(std::size_t begin, std::size_t end) {
    begin_token();
    std::memcpy(w_, s_ + begin, end - begin);
    w_ += end - begin;
    prev_ = Prev::kOperand;
    in_list_ = InList::kIdle;
  }

  void punct(unsigned char c) {
    if (c == ')' && in_list_ == InList::kItem) {
      // Everything after IN becomes " (?)", whatever the spacing was.
      pending_space_ = false;
      w_ = base_ + in_at_;
      std::memcpy(w_, " (?)", 4);
      w_ += 4;
      prev_ = Prev::kOperand;
      in_list_ = InList::kIdle;
      return;
    }
    // One text per shape however it was spaced: nothing before `,` `)` `]` `;`, one space after
    // `,`, nothing after `(` `[` (the IN-list rewrite above keeps its own " (?)").
    if (c == ',' || c == ')' || c == ']' || c == ';') pending_space_ = false;
    begin_token();
    *w_++ = static_cast<char>(c);
    if (c == ',') pending_space_ = true;
    if (c == '(' || c == '[') glued_ = true;
    prev_ = (c == ')' || c == ']') ? Prev::kOperand : Prev::kOperator;
    if (c == '(') {
      in_list_ = in_list_ == InList::kAfterIn ? InList::kOpen : InList::kIdle;
    } else if (c == ',') {
      in_list_ = in_list_ == InList::kItem ? InList::kComma : InList::kIdle;
    } else {
      in_list_ = InList::kIdle;
    }
  }

  void finish() {
    if (in_list_ == InList::kItem || in_list_ == InList::kComma) {
      // Cut off inside a list of literals: collapse what is there, invent no ')'.
      w_ = base_ + in_at_;
      std::memcpy(w_, " (?", 3);
      w_ += 3;
    }
    // Only an unterminated quoted identifier can end in whitespace.
    while (w_ != base_ && has(static_cast<unsigned char>(w_[-1]), kSpace)) --w_;
  }

  const unsigned char* s_;
  std::size_t n_;
  char* base_;
  char* w_;
  bool pending_space_ = false;
  bool glued_ = false;  // right after `(` or `[`: whitespace there is dropped
  Prev prev_ = Prev::kStart;
  const unsigned char* prev_word_ = nullptr;
  std::size_t prev_word_len_ = 0;
  InList in_list_ = InList::kIdle;
  std::size_t in_at_ = 0;
};

}  // namespace

void normalize_sql(std::string_view sql, std::string& out) {
  // The output is never longer than the input, except that a comma followed by a token gains the
  // space after it (`,x` → `, x`: at most one byte per 2 input bytes) and an IN list written
  // without a space, `in(1`, gains one (one per 4, and its commas are collapsed, not spaced).
  const std::size_t bound = sql.size() + sql.size() / 2 + 4;
  out.clear();
  out.resize(bound);
  const std::size_t len = Normalizer(sql, out.data()).run();
  assert(len <= bound);
  out.resize(len);
}

std::string normalize_sql(std::string_view sql) {
  std::string out;
  normalize_sql(sql, out);
  return out;
}

}  // namespace profilis
