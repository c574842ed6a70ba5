/* SQL text read from the traced process, bounded by what the agent asks for. */
#ifndef PROFILIS_SQL_TEXT_BPF_H
#define PROFILIS_SQL_TEXT_BPF_H

#include "profilis_records.h"

/* Bytes of SQL text to read, at most PROFILIS_SQL_MAX; set by the agent before load. */
const volatile __u32 sql_max = 256;

struct sql_text {
	__u32 len;
	__u16 truncated;
	__u16 unreadable; /* the read failed: the text is empty but not known to be */
	char text[PROFILIS_SQL_MAX];
};

static __always_inline __u32 text_limit(void)
{
	__u32 limit = sql_max;
	if (limit == 0 || limit > PROFILIS_SQL_MAX)
		limit = PROFILIS_SQL_MAX;
	return limit;
}

/* A NUL-terminated string of the traced process. Returns 0, or < 0 when it could not be read (its
 * page is not mapped, or the address is bad): the text is then empty. */
static __noinline int read_c_string(struct sql_text *t, const void *ptr)
{
	__u32 limit = text_limit();
	long n = bpf_probe_read_user_str(t->text, limit, ptr);
	t->len = n > 0 ? (__u32)(n - 1) : 0;
	t->truncated = n > 0 && (__u32)n == limit;
	t->unreadable = n < 0;
	return n < 0 ? -1 : 0;
}

/* The text into a DB record (copied, not referenced); call after the record's strings are set. */
static __always_inline void put_sql(struct profilis_db_record *r, const struct sql_text *t)
{
	__u32 n = t->len;
	if (n > PROFILIS_SQL_MAX)
		n = PROFILIS_SQL_MAX;
	r->query_len = bpf_probe_read_kernel(r->query, n, t->text) == 0 ? n : 0;
	r->truncated = t->truncated != 0;
	if (t->unreadable)
		r->strings.unreadable |= PROFILIS_STR_QUERY;
}

/* The bytes of a DB record that hold something: its header and its query's text. */
static __always_inline __u64 db_record_size(const struct profilis_db_record *r)
{
	__u64 size = __builtin_offsetof(struct profilis_db_record, query) +
		     (r->query_len & (2 * PROFILIS_SQL_MAX - 1));
	return size < sizeof(*r) ? size : sizeof(*r);
}

#endif /* PROFILIS_SQL_TEXT_BPF_H */
