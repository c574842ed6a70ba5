/* Which processes are traced when probes sit on files for every process (--binary, --node): the
 * pid filter's verdicts, kept by the kernel as processes exec, fork and exit, so that a process is
 * traced (or not) from its first instruction rather than after the agent has looked at it. The
 * agent hears of each exec and exit on a ring of its own, for what only it can decide (containers)
 * and know (labels, new files to probe). Included by one object, fn_latency.bpf.c. */
#ifndef PROFILIS_PROCESS_RULES_BPF_H
#define PROFILIS_PROCESS_RULES_BPF_H

#include "globs.bpf.h"
#include "profilis_records.h"
#include "shared_maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} process_notices SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profilis_process_rules);
} process_rules SEC(".maps");

/* Set by the agent under --node/--binary, before it gives verdicts to the processes already
 * running, so that none execs unseen in between. */
volatile __u32 following = 0;

/* Notices the ring had no room for: the agent then misses labels or files of those processes,
 * never their events, and exports the count. */
volatile __u64 lost_process_notices = 0;

static __always_inline int matches_any(const struct profilis_glob *globs, __u32 count,
				       const char *comm)
{
	for (__u32 i = 0; i < PROFILIS_MAX_COMM_GLOBS; i++) {
		if (i >= count)
			return 0;
		if (glob_matches(&globs[i], comm, PROFILIS_COMM_LEN))
			return 1;
	}
	return 0;
}

static __always_inline void notify(__u32 kind, __u32 pid, __u32 verdict, const char *comm)
{
	struct profilis_process_notice *n = bpf_ringbuf_reserve(&process_notices, sizeof(*n), 0);
	if (!n) {
		__sync_fetch_and_add(&lost_process_notices, 1);
		return;
	}
	n->kind = kind;
	n->pid = pid;
	n->verdict = verdict;
	n->_pad = 0;
	__builtin_memcpy(n->comm, comm, PROFILIS_COMM_LEN);
	bpf_ringbuf_submit(n, 0);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(process_exec, struct task_struct *task)
{
	if (!following)
		return 0;
	__u32 pid = task->tgid;
	__u32 zero = 0;
	struct profilis_process_rules *rules = bpf_map_lookup_elem(&process_rules, &zero);
	if (!rules)
		return 0;
	char comm[PROFILIS_COMM_LEN];
	__builtin_memcpy(comm, task->comm, PROFILIS_COMM_LEN);
	__u8 decided = PROFILIS_PID_TRACED;
	if (rules->hold_new ||
	    (rules->include_count > 0 &&
	     !matches_any(rules->include, rules->include_count, comm)) ||
	    matches_any(rules->exclude, rules->exclude_count, comm))
		decided = PROFILIS_PID_EXCLUDED;
	bpf_map_update_elem(&target_pids, &pid, &decided, BPF_ANY);
	notify(PROFILIS_PROCESS_EXEC, pid, decided, comm);
	return 0;
}

/* A child process starts with its parent's verdict: a fork of an excluded process (the agent's
 * own children among them) stays excluded until it execs something else. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(process_fork, struct task_struct *parent, struct task_struct *child)
{
	if (!following || child->pid != child->tgid)
		return 0;
	__u32 parent_pid = parent->tgid, child_pid = child->tgid;
	__u8 *verdict = bpf_map_lookup_elem(&target_pids, &parent_pid);
	if (verdict) {
		__u8 copy = *verdict;
		bpf_map_update_elem(&target_pids, &child_pid, &copy, BPF_ANY);
	}
	return 0;
}

/* The last thread of a process: its verdict goes, so that the map holds live processes only and a
 * reused pid starts afresh. Per-thread state lives in task storage, which the kernel frees itself.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *task)
{
	if (task->signal->live.counter != 0)
		return 0;
	__u32 pid = task->tgid;
	bpf_map_delete_elem(&target_pids, &pid);
	if (following) {
		char comm[PROFILIS_COMM_LEN];
		__builtin_memcpy(comm, task->comm, PROFILIS_COMM_LEN);
		notify(PROFILIS_PROCESS_EXIT, pid, 0, comm);
	}
	return 0;
}

#endif /* PROFILIS_PROCESS_RULES_BPF_H */
