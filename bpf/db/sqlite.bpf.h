/* SQLite: sqlite3_exec, and prepared statements, one event per execution from the first
 * sqlite3_step to SQLITE_DONE, an error, or the reset or finalize that abandons it. */
#ifndef PROFILIS_DB_SQLITE_BPF_H
#define PROFILIS_DB_SQLITE_BPF_H

#include "db/calls.bpf.h"

enum { SQLITE_ROW = 100, SQLITE_DONE = 101 };

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

/* A step of statement `stmt`: the first of an execution starts it, a row counts, anything else
 * ends it. */
static __always_inline void sqlite_stepped(struct scratch *s, struct db_thread *t, __u64 stmt,
					   int rc)
{
	struct pending *p = find_pending(s, stmt);
	if (!p) {
		recall_text(s, stmt, 0);
		start_pending(s, stmt, PROFILIS_DB_SQLITE, t->start_ns);
		p = find_pending(s, stmt);
		if (!p)
			return;
		p->rows = 0;
	}
	if (rc == SQLITE_ROW) {
		p->rows++;
		return;
	}
	finish_pending(s, stmt, rc != SQLITE_DONE);
}

/* The return of a SQLite function; 0 when t->api is not one. */
static __noinline int on_sqlite_return(struct scratch *s, struct db_thread *t)
{
	__u64 handle = t->args[0];
	int rc = (int)s->ret;
	switch (t->api) {
	case PROFILIS_SQ_EXEC:
		read_c_string(&s->pending.sql, (void *)t->args[1]);
		emit_call(s, t, PROFILIS_DB_SQLITE, rc != 0, -1);
		return 1;
	case PROFILIS_SQ_PREPARE_V2:
		if (rc == 0)
			sqlite_prepared(s, t->args[1], t->args[2], t->args[3], t->args[4]);
		else
			sqlite_prepare_failed(s, t);
		return 1;
	case PROFILIS_SQ_PREPARE_V3:
		if (rc == 0)
			sqlite_prepared(s, t->args[1], t->args[2], t->args[4], t->args[5]);
		else
			sqlite_prepare_failed(s, t);
		return 1;
	case PROFILIS_SQ_STEP:
		sqlite_stepped(s, t, handle, rc);
		return 1;
	/* An execution abandoned before SQLITE_DONE ends at a reset or finalize, with the rows it
	 * gave. */
	case PROFILIS_SQ_RESET:
		finish_pending(s, handle, 0);
		return 1;
	case PROFILIS_SQ_FINALIZE:
		finish_pending(s, handle, 0);
		drop_pending(s, handle);
		forget_text(s, handle);
		return 1;
	default:
		return 0;
	}
}

#endif /* PROFILIS_DB_SQLITE_BPF_H */
