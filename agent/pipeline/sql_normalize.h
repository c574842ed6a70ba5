// SQL text normalizer behind `--sql-text redacted` (the default): literals become `?` so that the
// same query shape always yields the same text and no value a program sent leaves the host.
#pragma once

#include <string>
#include <string_view>

namespace profilis {

// Normalizes `sql` into `out` (cleared first; its capacity is reused, so with enough capacity the
// call allocates nothing). One pass over the input, which is never read past its end.
//
// Replaced by `?`:
//  - string literals: '...' (with '' and backslash escapes), E'...', N'...', X'...', B'...',
//    U&'...', MySQL introducers (_utf8mb4'...'), PostgreSQL dollar quoting $$...$$ and
//    $tag$...$tag$;
//  - numbers: 42, 3.14, .5, 1., 6.02e23, 1e-9, 1_000 and 0x1F, 0b101, 0o17;
//  - TRUE and FALSE (any case, whole words only).
// A minus sign is folded into the number (`x = -1` gives `x = ?`) when it stands right before the
// digits and follows something that cannot end an operand: the start, an operator or punctuation
// other than `)` and `]`, or one of the keywords SELECT WHERE AND OR NOT ON SET VALUES BY WHEN THEN
// ELSE LIMIT OFFSET RETURN HAVING IS LIKE ILIKE BETWEEN IN CASE DEFAULT DISTINCT ALL ANY SOME.
// Otherwise it is the binary operator and stays (`a-1` gives `a-?`, `a - 1` gives `a - ?`).
//
// `IN (...)` lists whose items are all literals (or bare `?` placeholders) become `IN (?)`, with
// any whitespace or case; a list cut off by truncation becomes `IN (?` (no parenthesis is
// invented). Comments (`-- ...` to the end of the line, `/* ... */` nesting as in PostgreSQL) count
// as whitespace; whitespace runs become one space and the ends are trimmed. Around punctuation one
// shape has one text however it was spaced: no space before `,` `)` `]` `;`, exactly one after `,`,
// none after `(` `[` (`SELECT 'ok' /* c */ ,1` and `SELECT 'ok', 1` both give `SELECT ?, ?`).
//
// Kept as they are: keywords and identifiers with their case, identifiers with digits (t1, col_2,
// MySQL's 1abc), quoted identifiers ("123", `a1`; "..." is always an identifier, as in standard
// SQL, PostgreSQL and SQLite), placeholders ($1, ?, ?2, :name, @name, %s, %(name)s), NULL.
//
// Truncated input (the kernel copies a bounded prefix) ends sensibly: an unterminated string or
// dollar-quoted string becomes `?`, an unterminated comment is dropped, an unterminated quoted
// identifier is kept as it is.
//
// Limit: backslash always escapes inside '...', as MySQL and E'...' strings have it; a PostgreSQL
// standard string ending in a backslash ('C:\') therefore runs on to the next quote.
void normalize_sql(std::string_view sql, std::string& out);

// Convenience form of the above.
std::string normalize_sql(std::string_view sql);

}  // namespace profilis
