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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROFILIS_MAX_TARGET_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} target_pids SEC(".maps");

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
	return bpf_map_lookup_elem(&target_pids, &pid) != 0;
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
