// SPDX-License-Identifier: GPL-2.0
/* Database-driver latency: uprobes and uretprobes on the client libraries' query functions (libpq,
 * libmariadb/libmysqlclient, libsqlite3), one DB record per query with its SQL text; and the
 * PostgreSQL server's own query probes. One object, so that all of them share one skeleton and
 * the agent's maps; each library's functions are handled in its own header under db/. The attach
 * cookie says which library function a probe sits on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "shared_maps.bpf.h"
#include "db/calls.bpf.h"
#include "db/libpq.bpf.h"
#include "db/mysql.bpf.h"
#include "db/sqlite.bpf.h"
#include "db/pg_server.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe")
int BPF_KPROBE(db_entry)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	if (!attached_target(pid))
		return 0;
	struct db_thread *t = bpf_task_storage_get(&db_threads, bpf_get_current_task_btf(), 0,
						   BPF_LOCAL_STORAGE_GET_F_CREATE);
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

SEC("uretprobe")
int BPF_KRETPROBE(db_return)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	if (!attached_target(pid))
		return 0;
	struct db_thread *t = bpf_task_storage_get(&db_threads, bpf_get_current_task_btf(), 0, 0);
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
	s->now = now;
	s->ret = PT_REGS_RC(ctx);
	/* Each library's handler takes only its own functions. */
	if (!on_libpq_return(s, t) && !on_mysql_return(s, t))
		on_sqlite_return(s, t);
	return 0;
}
