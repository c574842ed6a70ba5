// SPDX-License-Identifier: GPL-2.0
/* Database-driver latency: uprobes and uretprobes on the client libraries' query functions (libpq,
 * libmariadb/libmysqlclient, libsqlite3), one DB record per query with its SQL text. The attach
 * cookie says which library function a probe sits on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "ring_records.bpf.h"
#include "shared_maps.bpf.h"
#include "sql_text.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* libpq's PGresult is private but has kept this layout since PostgreSQL 7.4: ntups first, then
 * numAttributes, attDescs, tuples, tupArrSize, numParameters, paramDescs, resultStatus. */
#define PGRESULT_NTUPS_OFFSET 0
#define PGRESULT_STATUS_OFFSET 40
enum {
	PGRES_TUPLES_OK = 2,
	PGRES_BAD_RESPONSE = 5,
	PGRES_FATAL_ERROR = 7,
	PGRES_SINGLE_TUPLE = 9,
	PGRES_PIPELINE_ABORTED = 11
};
enum { SQLITE_ROW = 100, SQLITE_DONE = 101 };

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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PROFILIS_MAX_THREADS);
	__type(key, __u32);
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
	__u32 pid;
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

static __always_inline void set_key(struct handle_key *key, __u32 pid, __u64 handle)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->pid = pid;
	key->handle = handle;
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

/* What a PGresult says: error (NULL or a failure status) and rows (-1 unless tuples came). */
static __always_inline void pg_result(__u64 res, __u32 *error, __s64 *rows)
{
	int status = 0, ntups = 0;
	*rows = -1;
	if (!res) {
		*error = 1;
		return;
	}
	bpf_probe_read_user(&status, sizeof(status), (void *)(res + PGRESULT_STATUS_OFFSET));
	bpf_probe_read_user(&ntups, sizeof(ntups), (void *)(res + PGRESULT_NTUPS_OFFSET));
	*error = status == PGRES_BAD_RESPONSE || status == PGRES_FATAL_ERROR ||
		 status == PGRES_PIPELINE_ABORTED;
	if (status == PGRES_TUPLES_OK || status == PGRES_SINGLE_TUPLE)
		*rows = ntups;
}

SEC("uprobe")
int BPF_KPROBE(db_entry)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	if (!is_target(pid))
		return 0;
	struct db_thread fresh = {};
	struct db_thread *t = lookup_or_create(&db_threads, tid, &fresh);
	if (!t) {
		increment_counter(PROFILIS_DROP_NO_STACK);
		return 0;
	}
	if (t->depth++ > 0)
		return 0;
	t->api = (__u32)bpf_get_attach_cookie(ctx);
	t->start_ns = now;
	t->args[0] = PT_REGS_PARM1(ctx);
	t->args[1] = PT_REGS_PARM2(ctx);
	t->args[2] = PT_REGS_PARM3(ctx);
	t->args[3] = PT_REGS_PARM4(ctx);
	t->args[4] = PT_REGS_PARM5(ctx);
	t->args[5] = ctx->r9; /* libbpf 1.1 has no PT_REGS_PARM6; x86-64 passes it in r9 */
	return 0;
}

/* Remembers the text of a statement being prepared, under (handle, name). */
static __noinline void remember_text(struct scratch *s, __u64 handle, __u64 name, __u64 text,
				     __u64 len)
{
	set_key(&s->key, s->pid, handle);
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
	set_key(&s->key, s->pid, handle);
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

/* Starts an asynchronous query on `handle` with the text already in s->pending.sql. */
static __noinline void start_pending(struct scratch *s, __u64 handle, __u32 vendor, __u64 start_ns)
{
	s->pending.start_ns = start_ns;
	s->pending.rows = -1;
	s->pending.vendor = vendor;
	s->pending.error = 0;
	set_key(&s->key, s->pid, handle);
	bpf_map_update_elem(&pending_queries, &s->key, &s->pending, BPF_ANY);
}

/* Ends the pending query on `handle`, if any, with its event. */
static __noinline void finish_pending(struct scratch *s, __u64 handle, __u32 error)
{
	set_key(&s->key, s->pid, handle);
	struct pending *p = bpf_map_lookup_elem(&pending_queries, &s->key);
	if (!p)
		return;
	emit(s, p, error);
	bpf_map_delete_elem(&pending_queries, &s->key);
}

static __noinline void on_pg_return(struct scratch *s, struct db_thread *t)
{
	__u32 error = 0;
	__s64 rows = -1;
	__u64 conn = t->args[0];
	switch (t->api) {
	case PROFILIS_PQ_EXEC:
	case PROFILIS_PQ_EXEC_PARAMS:
		read_c_string(&s->pending.sql, (void *)t->args[1]);
		pg_result(s->ret, &error, &rows);
		emit_call(s, t, PROFILIS_DB_POSTGRESQL, error, rows);
		return;
	case PROFILIS_PQ_PREPARE: /* a round trip to the server: an event of its own */
		remember_text(s, conn, t->args[1], t->args[2], TEXT_NUL_TERMINATED);
		pg_result(s->ret, &error, &rows);
		emit_call(s, t, PROFILIS_DB_POSTGRESQL, error, rows);
		return;
	case PROFILIS_PQ_EXEC_PREPARED:
		recall_text(s, conn, t->args[1]);
		pg_result(s->ret, &error, &rows);
		emit_call(s, t, PROFILIS_DB_POSTGRESQL, error, rows);
		return;
	case PROFILIS_PQ_SEND_QUERY:
	case PROFILIS_PQ_SEND_QUERY_PARAMS:
	case PROFILIS_PQ_SEND_PREPARE:
	case PROFILIS_PQ_SEND_QUERY_PREPARED:
		if (t->api == PROFILIS_PQ_SEND_QUERY_PREPARED) {
			recall_text(s, conn, t->args[1]);
		} else if (t->api == PROFILIS_PQ_SEND_PREPARE) {
			remember_text(s, conn, t->args[1], t->args[2], TEXT_NUL_TERMINATED);
		} else {
			read_c_string(&s->pending.sql, (void *)t->args[1]);
		}
		if ((int)s->ret == 0) { /* not sent: the query failed right here */
			emit_call(s, t, PROFILIS_DB_POSTGRESQL, 1, -1);
			return;
		}
		start_pending(s, conn, PROFILIS_DB_POSTGRESQL, t->start_ns);
		return;
	case PROFILIS_PQ_GET_RESULT: {
		if (!s->ret) { /* NULL: the query's last result was consumed */
			finish_pending(s, conn, 0);
			return;
		}
		set_key(&s->key, s->pid, conn);
		struct pending *p = bpf_map_lookup_elem(&pending_queries, &s->key);
		if (!p)
			return;
		pg_result(s->ret, &error, &rows);
		p->error |= error;
		if (rows >= 0)
			p->rows = (p->rows < 0 ? 0 : p->rows) + rows;
		return;
	}
	case PROFILIS_PQ_FINISH:
		set_key(&s->key, s->pid, conn);
		bpf_map_delete_elem(&pending_queries, &s->key);
		return;
	}
}

static __noinline void on_mysql_return(struct scratch *s, struct db_thread *t)
{
	__u64 handle = t->args[0];
	__u32 failed = (int)s->ret != 0;
	switch (t->api) {
	case PROFILIS_MY_REAL_QUERY:
		read_sized_string(&s->pending.sql, (void *)t->args[1], t->args[2]);
		emit_call(s, t, PROFILIS_DB_MYSQL, failed, -1);
		return;
	case PROFILIS_MY_QUERY:
		read_c_string(&s->pending.sql, (void *)t->args[1]);
		emit_call(s, t, PROFILIS_DB_MYSQL, failed, -1);
		return;
	case PROFILIS_MY_SEND_QUERY:
		read_sized_string(&s->pending.sql, (void *)t->args[1], t->args[2]);
		if (failed)
			emit_call(s, t, PROFILIS_DB_MYSQL, 1, -1);
		else
			start_pending(s, handle, PROFILIS_DB_MYSQL, t->start_ns);
		return;
	case PROFILIS_MY_READ_QUERY_RESULT: /* returns my_bool: only the low byte counts */
		finish_pending(s, handle, (__u8)s->ret != 0);
		return;
	case PROFILIS_MY_STMT_PREPARE:
		if (!failed)
			remember_text(s, handle, 0, t->args[1], t->args[2]);
		return;
	case PROFILIS_MY_STMT_EXECUTE:
		recall_text(s, handle, 0);
		emit_call(s, t, PROFILIS_DB_MYSQL, failed, -1);
		return;
	case PROFILIS_MY_STMT_CLOSE:
		set_key(&s->key, s->pid, handle);
		bpf_map_delete_elem(&statement_texts, &s->key);
		return;
	case PROFILIS_MY_CLOSE:
		set_key(&s->key, s->pid, handle);
		bpf_map_delete_elem(&pending_queries, &s->key);
		return;
	}
}

/* sqlite3_prepare_v2/v3 return the statement through ppStmt and where the first statement's text
 * ends through pzTail: the text is what lies between. */
static __noinline void sqlite_prepared(struct scratch *s, __u64 sql, __u64 n_byte, __u64 pp_stmt,
				       __u64 pz_tail)
{
	__u64 stmt = 0, tail = 0;
	bpf_probe_read_user(&stmt, sizeof(stmt), (void *)pp_stmt);
	if (!stmt)
		return;
	if (pz_tail)
		bpf_probe_read_user(&tail, sizeof(tail), (void *)pz_tail);
	if (tail > sql)
		remember_text(s, stmt, 0, sql, tail - sql);
	else if ((int)n_byte > 0) /* an int: the register's upper half is not part of it */
		remember_text(s, stmt, 0, sql, (__u32)n_byte);
	else
		remember_text(s, stmt, 0, sql, TEXT_NUL_TERMINATED);
}

/* A statement that does not even compile is a failed query of the program's: it is reported, with
 * the time the attempt took. */
static __noinline void sqlite_prepare_failed(struct scratch *s, struct db_thread *t)
{
	if ((int)t->args[2] > 0)
		read_sized_string(&s->pending.sql, (void *)t->args[1], (__u32)t->args[2]);
	else
		read_c_string(&s->pending.sql, (void *)t->args[1]);
	emit_call(s, t, PROFILIS_DB_SQLITE, 1, -1);
}

static __noinline void on_sqlite_return(struct scratch *s, struct db_thread *t)
{
	__u64 handle = t->args[0];
	int rc = (int)s->ret;
	switch (t->api) {
	case PROFILIS_SQ_EXEC:
		read_c_string(&s->pending.sql, (void *)t->args[1]);
		emit_call(s, t, PROFILIS_DB_SQLITE, rc != 0, -1);
		return;
	case PROFILIS_SQ_PREPARE_V2:
		if (rc == 0)
			sqlite_prepared(s, t->args[1], t->args[2], t->args[3], t->args[4]);
		else
			sqlite_prepare_failed(s, t);
		return;
	case PROFILIS_SQ_PREPARE_V3:
		if (rc == 0)
			sqlite_prepared(s, t->args[1], t->args[2], t->args[4], t->args[5]);
		else
			sqlite_prepare_failed(s, t);
		return;
	case PROFILIS_SQ_STEP: {
		set_key(&s->key, s->pid, handle);
		struct pending *p = bpf_map_lookup_elem(&pending_queries, &s->key);
		if (!p) { /* the first step of an execution starts it */
			recall_text(s, handle, 0);
			start_pending(s, handle, PROFILIS_DB_SQLITE, t->start_ns);
			set_key(&s->key, s->pid, handle);
			p = bpf_map_lookup_elem(&pending_queries, &s->key);
			if (!p)
				return;
			p->rows = 0;
		}
		if (rc == SQLITE_ROW) {
			p->rows++;
			return;
		}
		finish_pending(s, handle, rc != SQLITE_DONE);
		return;
	}
	case PROFILIS_SQ_RESET:
	case PROFILIS_SQ_FINALIZE:
		/* An execution abandoned before SQLITE_DONE ends here, with the rows it gave. */
		finish_pending(s, handle, 0);
		if (t->api == PROFILIS_SQ_FINALIZE) {
			set_key(&s->key, s->pid, handle);
			bpf_map_delete_elem(&statement_texts, &s->key);
		}
		return;
	}
}

SEC("uretprobe")
int BPF_KRETPROBE(db_return)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	if (!is_target(pid))
		return 0;
	struct db_thread *t = bpf_map_lookup_elem(&db_threads, &tid);
	if (!t || t->depth == 0) { /* its entry came before the agent attached */
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 0;
	}
	if (--t->depth > 0)
		return 0;
	if (t->api != (__u32)bpf_get_attach_cookie(ctx)) {
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 0;
	}
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	s->pid_tgid = id;
	s->pid = pid;
	s->now = now;
	s->ret = PT_REGS_RC(ctx);
	if (t->api <= PROFILIS_PQ_FINISH)
		on_pg_return(s, t);
	else if (t->api <= PROFILIS_MY_CLOSE)
		on_mysql_return(s, t);
	else
		on_sqlite_return(s, t);
	return 0;
}

/* Server side: PostgreSQL's own USDT probes (query__start, query__done) in its backends. A
 * backend is a child of the postmaster the agent was pointed at, so it counts as a target too. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PROFILIS_MAX_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} server_query_starts SEC(".maps");

static __always_inline int is_target_or_its_child(__u32 pid)
{
	if (is_target(pid))
		return 1;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	return is_target((__u32)BPF_CORE_READ(task, real_parent, tgid));
}

SEC("usdt")
int BPF_USDT(pg_query_start, void *query)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	if (!is_target_or_its_child(id >> 32))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&server_query_starts, &tid, &now, BPF_ANY);
	return 0;
}

SEC("usdt")
int BPF_USDT(pg_query_done, void *query)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 *start = bpf_map_lookup_elem(&server_query_starts, &tid);
	/* Checked again: a query that outlives the agent's stop must not produce a record then. */
	if (!start || !is_target_or_its_child(id >> 32))
		return 0;
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	s->pid_tgid = id;
	s->pid = id >> 32;
	s->now = bpf_ktime_get_ns();
	read_c_string(&s->pending.sql, query);
	s->pending.start_ns = *start;
	s->pending.vendor = PROFILIS_DB_POSTGRESQL;
	s->pending.error = 0; /* a failing query raises an error past query__done: none fire here */
	s->pending.rows = -1;
	emit(s, &s->pending, 0);
	bpf_map_delete_elem(&server_query_starts, &tid);
	return 0;
}
