/* The MySQL client API (libmariadb, libmysqlclient, or linked into the executable): queries,
 * asynchronous send + read, and prepared statements. */
#ifndef PROFILIS_DB_MYSQL_BPF_H
#define PROFILIS_DB_MYSQL_BPF_H

#include "db/calls.bpf.h"

/* The return of a MySQL client function; 0 when t->api is not one. */
static __noinline int on_mysql_return(struct scratch *s, struct db_thread *t)
{
	__u64 handle = t->args[0];
	__u32 failed = (int)s->ret != 0;
	switch (t->api) {
	case PROFILIS_MY_REAL_QUERY:
		read_sized_string(&s->pending.sql, (void *)t->args[1], t->args[2]);
		emit_call(s, t, PROFILIS_DB_MYSQL, failed, -1);
		return 1;
	case PROFILIS_MY_QUERY:
		read_c_string(&s->pending.sql, (void *)t->args[1]);
		emit_call(s, t, PROFILIS_DB_MYSQL, failed, -1);
		return 1;
	case PROFILIS_MY_SEND_QUERY:
		read_sized_string(&s->pending.sql, (void *)t->args[1], t->args[2]);
		if (failed)
			emit_call(s, t, PROFILIS_DB_MYSQL, 1, -1);
		else
			start_pending(s, handle, PROFILIS_DB_MYSQL, t->start_ns);
		return 1;
	case PROFILIS_MY_READ_QUERY_RESULT: /* returns my_bool: only the low byte counts */
		finish_pending(s, handle, (__u8)s->ret != 0);
		return 1;
	case PROFILIS_MY_STMT_PREPARE:
		if (!failed)
			remember_text(s, handle, 0, t->args[1], t->args[2]);
		return 1;
	case PROFILIS_MY_STMT_EXECUTE:
		recall_text(s, handle, 0);
		emit_call(s, t, PROFILIS_DB_MYSQL, failed, -1);
		return 1;
	case PROFILIS_MY_STMT_CLOSE:
		forget_text(s, handle);
		return 1;
	case PROFILIS_MY_CLOSE:
		drop_pending(s, handle);
		return 1;
	default:
		return 0;
	}
}

#endif /* PROFILIS_DB_MYSQL_BPF_H */
