/* Server side: PostgreSQL's own USDT probes (query__start, query__done) in its backends. A
 * backend is a child of the postmaster the agent was pointed at, so it counts as a target too. */
#ifndef PROFILIS_DB_PG_SERVER_BPF_H
#define PROFILIS_DB_PG_SERVER_BPF_H

#include <bpf/usdt.bpf.h>
#include "db/calls.bpf.h"

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

#endif /* PROFILIS_DB_PG_SERVER_BPF_H */
