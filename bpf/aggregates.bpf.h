/* --aggregate: a call's duration added to its series in the kernel, in place of a record. */
#ifndef PROFILIS_AGGREGATES_BPF_H
#define PROFILIS_AGGREGATES_BPF_H

#include "profilis_records.h"
#include "shared_maps.bpf.h"

/* A per-CPU hash of series. Allocated per series as calls create them: preallocated, it would
 * take max_entries x its value x every possible CPU (~240 MB on a 128-CPU node) from each agent,
 * used or not. */
#define AGGREGATE_MAP(name, key_type, value_type)                                                  \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH);                                            \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__uint(max_entries, PROFILIS_MAX_AGGREGATE_SERIES);                                \
		__type(key, key_type);                                                             \
		__type(value, value_type);                                                         \
	} name SEC(".maps")

/* The series of `key` in per-CPU hash `map`, created from `empty` when it has none yet; NULL,
 * counted, when the map has no room for it. */
static __always_inline void *aggregate_series(void *map, const void *key, const void *empty)
{
	void *series = bpf_map_lookup_elem(map, key);
	if (series)
		return series;
	bpf_map_update_elem(map, key, empty, BPF_NOEXIST);
	series = bpf_map_lookup_elem(map, key);
	if (!series)
		increment_counter(PROFILIS_DROP_AGGREGATE_FULL);
	return series;
}

/* Adds a call of `dur` ns to `a`, this CPU's copy of a per-CPU series, which no other CPU writes:
 * no atomic operation is needed. */
static __always_inline void add_to_aggregate(struct profilis_aggregate *a, __u64 dur)
{
	static const __u64 bounds[PROFILIS_AGGREGATE_BUCKETS - 1] = PROFILIS_AGGREGATE_BOUNDS_NS;
	__u32 bucket = PROFILIS_AGGREGATE_BUCKETS - 1;
	for (__u32 i = 0; i < PROFILIS_AGGREGATE_BUCKETS - 1; i++) {
		if (dur <= bounds[i]) {
			bucket = i;
			break;
		}
	}
	a->count += 1;
	a->sum_ns += dur;
	barrier_var(bucket);
	if (bucket < PROFILIS_AGGREGATE_BUCKETS)
		a->buckets[bucket] += 1;
}

#endif /* PROFILIS_AGGREGATES_BPF_H */
