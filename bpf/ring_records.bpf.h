/* Putting records into the shared ring buffer. Every record goes through reserve_record or
 * output_record, which count it as produced (and as dropped when the ring is full), so the agent
 * can prove produced = read + dropped; and every record's header is filled by fill_record_header,
 * so the agent reads one layout for what all kinds share. */
#ifndef PROFILIS_RING_RECORDS_BPF_H
#define PROFILIS_RING_RECORDS_BPF_H

#include "current_comm.bpf.h"
#include "profilis_records.h"
#include "shared_maps.bpf.h"

/* The header of a record of the calling thread; `pid_tgid` as bpf_get_current_pid_tgid gives it,
 * which every program has already read for its filter. */
static __always_inline void fill_record_header(struct profilis_record_header *h, __u32 kind,
					       __u64 pid_tgid, __u64 start_ns, __u64 dur_ns)
{
	h->kind = kind;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->_pad = 0;
	h->start_ns = start_ns;
	h->dur_ns = dur_ns;
	current_comm(h->comm);
}

/* Room for a record of `size` bytes in the ring buffer, its header filled, or NULL (counted: the
 * event is lost). The caller fills the rest and submits it with submit_record. */
static __always_inline void *reserve_record(__u64 size, __u32 kind, __u64 pid_tgid, __u64 start_ns,
					    __u64 dur_ns)
{
	increment_counter(PROFILIS_COUNT_PRODUCED);
	struct profilis_record_header *h = bpf_ringbuf_reserve(&events, size, 0);
	if (!h) {
		increment_counter(PROFILIS_DROP_RINGBUF_FULL);
		return 0;
	}
	fill_record_header(h, kind, pid_tgid, start_ns, dur_ns);
	return h;
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

/* A record built in a buffer of the program's (its header by fill_record_header), copied into the
 * ring buffer: for records whose size is known only at run time (a DB record ends where its
 * query's text does, so a short query takes a tenth of the room of the longest). Counted like
 * reserve_record. */
static __always_inline void output_record(void *record, __u64 size)
{
	increment_counter(PROFILIS_COUNT_PRODUCED);
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flag = wakeup_flag(waiting, waiting + size + PROFILIS_RINGBUF_HEADER);
	if (bpf_ringbuf_output(&events, record, size, flag))
		increment_counter(PROFILIS_DROP_RINGBUF_FULL);
}

#endif /* PROFILIS_RING_RECORDS_BPF_H */
