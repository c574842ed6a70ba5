/* Maps every BPF object of the agent shares: one ring buffer, one pid filter, one set of
 * counters. Each object declares them; the agent loads the first and hands its map fds to the
 * others (bpf_map__reuse_fd), so there is a single instance of each in the kernel. Records go into
 * the ring buffer through ring_records.bpf.h. */
#ifndef PROFILIS_SHARED_MAPS_BPF_H
#define PROFILIS_SHARED_MAPS_BPF_H

#include "profilis_records.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* the agent resizes it before load */
} events SEC(".maps");

/* tgid → enum profilis_pid_verdict. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROFILIS_MAX_TARGET_PIDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u8);
} target_pids SEC(".maps");

/* enum profilis_trace_mode, set by the agent in every object: a load from memory it maps, no map
 * lookup. */
volatile __u32 trace_mode = PROFILIS_TRACE_NONE;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROFILIS_COUNTER__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void increment_counter(__u32 counter)
{
	__u64 *n = bpf_map_lookup_elem(&counters, &counter);
	if (n)
		*n += 1;
}

static __always_inline int is_target(__u32 pid)
{
	__u32 mode = trace_mode;
	if (mode == PROFILIS_TRACE_NONE)
		return 0;
	__u8 *verdict = bpf_map_lookup_elem(&target_pids, &pid);
	if (verdict)
		return *verdict == PROFILIS_PID_TRACED;
	return mode == PROFILIS_TRACE_UNLISTED;
}

/* Whether a hit of process `pid` on a probe the agent attaches per traced process (or, under
 * --binary/--node, per file) is traced. Under PROFILIS_TRACE_LISTED (--pid) every such probe is
 * attached per traced process, so the kernel has already filtered by process and the pid filter's
 * hash lookup is saved (~30 ns a hit, bench/usdt_overhead.sh, bench/db_overhead.sh); on files
 * the filter decides. Not for probes on files in every mode (the PostgreSQL server's). */
static __always_inline int attached_target(__u32 pid)
{
	if (trace_mode == PROFILIS_TRACE_LISTED)
		return 1;
	return is_target(pid);
}

/* The per-thread entry of `map` for `tid`, created from `empty` (a value too large for the BPF
 * stack, kept zeroed in a per-CPU array) when the thread has none. */
static __always_inline void *lookup_or_create(void *map, __u32 tid, void *empty)
{
	void *value = bpf_map_lookup_elem(map, &tid);
	if (value || !empty)
		return value;
	bpf_map_update_elem(map, &tid, empty, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, &tid);
}

#endif /* PROFILIS_SHARED_MAPS_BPF_H */
