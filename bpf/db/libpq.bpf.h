/* libpq (PostgreSQL's client library): the synchronous PQexec family, prepared statements, and
 * asynchronous queries from PQsend* up to the PQgetResult that returns NULL. */
#ifndef PROFILIS_DB_LIBPQ_BPF_H
#define PROFILIS_DB_LIBPQ_BPF_H

#include "db/calls.bpf.h"

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

/* A synchronous call's event, from the PGresult it returned. */
static __always_inline void pg_call_done(struct scratch *s, struct db_thread *t)
{
	__u32 error = 0;
	__s64 rows = -1;
	pg_result(s->ret, &error, &rows);
	emit_call(s, t, PROFILIS_DB_POSTGRESQL, error, rows);
}

/* A PQsend* call returned: the query is in flight until PQgetResult returns NULL, unless it was
 * not even sent. Its text is in s->pending.sql. */
static __always_inline void pg_sent(struct scratch *s, struct db_thread *t, __u64 conn)
{
	if ((int)s->ret == 0) /* not sent: the query failed right here */
		emit_call(s, t, PROFILIS_DB_POSTGRESQL, 1, -1);
	else
		start_pending(s, conn, PROFILIS_DB_POSTGRESQL, t->start_ns);
}

/* One result of the query in flight on `conn`: its status and rows add up until the last. */
static __always_inline void pg_got_result(struct scratch *s, __u64 conn)
{
	if (!s->ret) { /* NULL: the query's last result was consumed */
		finish_pending(s, conn, 0);
		return;
	}
	struct pending *p = find_pending(s, conn);
	if (!p)
		return;
	__u32 error = 0;
	__s64 rows = -1;
	pg_result(s->ret, &error, &rows);
	p->error |= error;
	if (rows >= 0)
		p->rows = (p->rows < 0 ? 0 : p->rows) + rows;
}

/* The return of a libpq function; 0 when t->api is not one. */
static __noinline int on_libpq_return(struct scratch *s, struct db_thread *t)
{
	__u64 conn = t->args[0];
	switch (t->api) {
	case PROFILIS_PQ_EXEC:
	case PROFILIS_PQ_EXEC_PARAMS:
		read_c_string(&s->pending.sql, (void *)t->args[1]);
		pg_call_done(s, t);
		return 1;
	case PROFILIS_PQ_PREPARE: /* a round trip to the server: an event of its own */
		remember_text(s, conn, t->args[1], t->args[2], TEXT_NUL_TERMINATED);
		pg_call_done(s, t);
		return 1;
	case PROFILIS_PQ_EXEC_PREPARED:
		recall_text(s, conn, t->args[1]);
		pg_call_done(s, t);
		return 1;
	case PROFILIS_PQ_SEND_QUERY:
	case PROFILIS_PQ_SEND_QUERY_PARAMS:
		read_c_string(&s->pending.sql, (void *)t->args[1]);
		pg_sent(s, t, conn);
		return 1;
	case PROFILIS_PQ_SEND_PREPARE:
		remember_text(s, conn, t->args[1], t->args[2], TEXT_NUL_TERMINATED);
		pg_sent(s, t, conn);
		return 1;
	case PROFILIS_PQ_SEND_QUERY_PREPARED:
		recall_text(s, conn, t->args[1]);
		pg_sent(s, t, conn);
		return 1;
	case PROFILIS_PQ_GET_RESULT:
		pg_got_result(s, conn);
		return 1;
	case PROFILIS_PQ_FINISH:
		drop_pending(s, conn);
		return 1;
	default:
		return 0;
	}
}

#endif /* PROFILIS_DB_LIBPQ_BPF_H */
