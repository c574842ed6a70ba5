/* Maps every BPF object of the agent shares: one ring buffer, one pid filter, one set of
 * counters. Each object declares them; the agent loads the first and hands its map fds to the
 * others (bpf_map__reuse_fd), so there is a single instance of each in the kernel. */
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

/* Room for a record of `size` bytes in the ring buffer, or NULL (counted: the event is lost).
 * Every attempt is counted as produced, so the agent can prove produced = read + dropped. */
static __always_inline void *reserve_record(__u64 size)
{
	increment_counter(PROFILIS_COUNT_PRODUCED);
	void *record = bpf_ringbuf_reserve(&events, size, 0);
	if (!record)
		increment_counter(PROFILIS_DROP_RINGBUF_FULL);
	return record;
}

/* Records are submitted without waking the reader, which drains every 50 ms anyway: a wakeup per
 * record is an inter-processor interrupt per probe hit, which cost more than the probe itself
 * (bench/usdt_overhead.sh). A burst that fills the ring faster than that wakes the reader each
 * time the bytes waiting cross a multiple of this threshold (set by the agent from the ring's size:
 * a quarter of it, at most 256 KiB): one wakeup per threshold's worth of records, and a crossing
 * missed in a race between CPUs is caught at the next one. */
const volatile __u64 wakeup_bytes = 256 << 10;

/* The wakeup flag for a record that takes the bytes waiting from `before` to `after`. */
static __always_inline __u64 wakeup_flag(__u64 before, __u64 after)
{
	__u64 step = wakeup_bytes ? wakeup_bytes : 1;
	return after / step != before / step ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* 8: the ring buffer's header of each record. */
#define PROFILIS_RINGBUF_HEADER 8

static __always_inline void submit_record(void *record, __u64 size)
{
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 used = size + PROFILIS_RINGBUF_HEADER;
	bpf_ringbuf_submit(record, wakeup_flag(waiting > used ? waiting - used : 0, waiting));
}

/* A record built in a buffer of the program's, copied into the ring buffer: for records whose size
 * is known only at run time (a DB record ends where its query's text does, so a short query takes
 * a tenth of the room of the longest). Counted like reserve_record. */
static __always_inline void output_record(void *record, __u64 size)
{
	increment_counter(PROFILIS_COUNT_PRODUCED);
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flag = wakeup_flag(waiting, waiting + size + PROFILIS_RINGBUF_HEADER);
	if (bpf_ringbuf_output(&events, record, size, flag))
		increment_counter(PROFILIS_DROP_RINGBUF_FULL);
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
