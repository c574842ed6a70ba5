/* What the client libraries' probes share: the thread's outermost call, statement texts, queries
 * in flight, and the DB record built from them. Each library's header (libpq, mysql, sqlite)
 * handles its own functions' returns with these. */
#ifndef PROFILIS_DB_CALLS_BPF_H
#define PROFILIS_DB_CALLS_BPF_H

#include "profilis_records.h"
#include "ring_records.bpf.h"
#include "sql_text.bpf.h"

/* The outermost client-library call a thread is in. Library functions call each other (PQexec
 * calls PQsendQuery and PQgetResult, sqlite3_exec calls sqlite3_step): only the outermost one is
 * a query of the program's, the nested ones are counted in `depth` and otherwise ignored. */
struct db_thread {
	__u32 depth;
	__u32 api;
	__u64 start_ns;
	__u64 args[6];
};

/* A connection, statement or prepared-statement name in a process. */
struct handle_key {
	__u32 pid;
	__u32 _pad;
	__u64 handle;
	char name[PROFILIS_STMT_NAME_MAX];
};

/* A query started but not finished: asynchronous libpq/MySQL queries, SQLite statements being
 * stepped. */
struct pending {
	__u64 start_ns;
	__s64 rows;
	__u32 vendor;
	__u32 error;
	struct sql_text sql;
};

/* In the task itself: freed when the thread exits (see open_calls in fn_latency.bpf.c). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct db_thread);
} db_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PROFILIS_MAX_STATEMENTS);
	__type(key, struct handle_key);
	__type(value, struct sql_text);
} statement_texts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PROFILIS_MAX_STATEMENTS);
	__type(key, struct handle_key);
	__type(value, struct pending);
} pending_queries SEC(".maps");

/* Values larger than the BPF stack are built here, next to the probe hit's context (BPF functions
 * take at most five arguments, so the helpers below find the thread, time and return value here).
 */
struct scratch {
	struct profilis_db_record record; /* built here, then copied into the ring buffer */
	struct pending pending;
	struct handle_key key;
	__u64 pid_tgid; /* bpf_get_current_pid_tgid() */
	__u64 now;
	__u64 ret;
};

/* `len` for remember_text: the text is NUL-terminated. */
#define TEXT_NUL_TERMINATED (~0ULL)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_space, &zero);
}

/* A string of known length (mysql_real_query and friends pass one). */
static __noinline void read_sized_string(struct sql_text *t, const void *ptr, __u64 len)
{
	__u32 n = text_limit();
	if (len < n)
		n = (__u32)len;
	if (n > PROFILIS_SQL_MAX)
		n = PROFILIS_SQL_MAX;
	const int failed = n > 0 && bpf_probe_read_user(t->text, n, ptr) != 0;
	t->len = failed ? 0 : n;
	t->truncated = len > n;
	t->unreadable = failed;
}

/* s->key for `handle` of the calling process, with no name. */
static __always_inline void set_key(struct scratch *s, __u64 handle)
{
	__builtin_memset(&s->key, 0, sizeof(s->key));
	s->key.pid = s->pid_tgid >> 32;
	s->key.handle = handle;
}

static __noinline void emit(struct scratch *s, const struct pending *p, __u32 error)
{
	struct profilis_db_record *r = &s->record;
	fill_record_header(&r->header, PROFILIS_RECORD_DB, s->pid_tgid, p->start_ns,
			   s->now - p->start_ns);
	r->rows = p->rows;
	r->vendor = p->vendor;
	r->error = (p->error | error) != 0;
	__builtin_memset(&r->strings, 0, sizeof(r->strings));
	put_sql(r, &p->sql);
	output_record(r, db_record_size(r));
}

/* A synchronous call's event: its text is in s->pending.sql. */
static __noinline void emit_call(struct scratch *s, struct db_thread *t, __u32 vendor, __u32 error,
				 __s64 rows)
{
	s->pending.start_ns = t->start_ns;
	s->pending.vendor = vendor;
	s->pending.error = error;
	s->pending.rows = rows;
	emit(s, &s->pending, 0);
}

/* Remembers the text of a statement being prepared, under (handle, name). */
static __noinline void remember_text(struct scratch *s, __u64 handle, __u64 name, __u64 text,
				     __u64 len)
{
	set_key(s, handle);
	if (name)
		bpf_probe_read_user_str(s->key.name, sizeof(s->key.name), (void *)name);
	if (len == TEXT_NUL_TERMINATED)
		read_c_string(&s->pending.sql, (void *)text);
	else
		read_sized_string(&s->pending.sql, (void *)text, len);
	bpf_map_update_elem(&statement_texts, &s->key, &s->pending.sql, BPF_ANY);
}

/* The remembered text of (handle, name) copied into s->pending.sql; empty when unknown. */
static __noinline void recall_text(struct scratch *s, __u64 handle, __u64 name)
{
	set_key(s, handle);
	if (name)
		bpf_probe_read_user_str(s->key.name, sizeof(s->key.name), (void *)name);
	struct sql_text *known = bpf_map_lookup_elem(&statement_texts, &s->key);
	s->pending.sql.len = 0;
	s->pending.sql.truncated = 0;
	s->pending.sql.unreadable = 0;
	if (known) {
		__u32 n = known->len;
		if (n > PROFILIS_SQL_MAX)
			n = PROFILIS_SQL_MAX;
		if (bpf_probe_read_kernel(s->pending.sql.text, n, known->text) == 0)
			s->pending.sql.len = n;
		s->pending.sql.truncated = known->truncated;
		s->pending.sql.unreadable = known->unreadable;
	}
}

/* Forgets the text remembered for statement `handle` (closed or finalized). */
static __always_inline void forget_text(struct scratch *s, __u64 handle)
{
	set_key(s, handle);
	bpf_map_delete_elem(&statement_texts, &s->key);
}

/* Starts an asynchronous query on `handle` with the text already in s->pending.sql. A handle keeps
 * its entry between queries (see finish_pending): it is written in place, copying the text's
 * bytes rather than a whole value (~1.1 KB) into a new entry, which the map would also have to
 * allocate and link (~0.3 µs of each query under pgbench). */
static __noinline void start_pending(struct scratch *s, __u64 handle, __u32 vendor, __u64 start_ns)
{
	s->pending.start_ns = start_ns;
	s->pending.rows = -1;
	s->pending.vendor = vendor;
	s->pending.error = 0;
	set_key(s, handle);
	struct pending *p = bpf_map_lookup_elem(&pending_queries, &s->key);
	if (!p) {
		bpf_map_update_elem(&pending_queries, &s->key, &s->pending, BPF_ANY);
		return;
	}
	__u32 n = s->pending.sql.len;
	if (n > PROFILIS_SQL_MAX)
		n = PROFILIS_SQL_MAX;
	if (bpf_probe_read_kernel(p->sql.text, n, s->pending.sql.text) != 0)
		n = 0;
	p->sql.len = n;
	p->sql.truncated = s->pending.sql.truncated;
	p->sql.unreadable = s->pending.sql.unreadable;
	p->rows = -1;
	p->vendor = vendor;
	p->error = 0;
	p->start_ns = start_ns;
}

/* The query in flight on `handle`, or NULL (none, or its entry is idle: start_ns 0). */
static __always_inline struct pending *find_pending(struct scratch *s, __u64 handle)
{
	set_key(s, handle);
	struct pending *p = bpf_map_lookup_elem(&pending_queries, &s->key);
	return p && p->start_ns ? p : 0;
}

/* Ends the pending query on `handle`, if any, with its event; its entry stays, idle, for the
 * handle's next query (drop_pending removes it when the handle goes). */
static __noinline void finish_pending(struct scratch *s, __u64 handle, __u32 error)
{
	struct pending *p = find_pending(s, handle);
	if (!p)
		return;
	emit(s, p, error);
	p->start_ns = 0;
}

/* Drops the query in flight on `handle` without an event (its connection is closed). */
static __always_inline void drop_pending(struct scratch *s, __u64 handle)
{
	set_key(s, handle);
	bpf_map_delete_elem(&pending_queries, &s->key);
}

#endif /* PROFILIS_DB_CALLS_BPF_H */
