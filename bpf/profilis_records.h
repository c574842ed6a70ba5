/* Record layouts and limits shared by the BPF programs and the agent. Plain C types only. */
#ifndef PROFILIS_RECORDS_H
#define PROFILIS_RECORDS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define PROFILIS_COMM_LEN 16
/* Open calls kept per thread; deeper nesting is dropped and counted. Power of two for cheap
 * masking. */
#define PROFILIS_MAX_DEPTH 32
/* Threads with open calls tracked at once; the map is LRU, so dead threads age out instead of
 * filling it. */
#define PROFILIS_MAX_THREADS 8192
#define PROFILIS_MAX_TARGET_PIDS 1024

enum profilis_record_kind {
	PROFILIS_RECORD_FN = 1,
};

/* Index into the per-CPU `drops` array. */
enum profilis_drop_reason {
	PROFILIS_DROP_RINGBUF_FULL = 0, /* ring buffer had no room: the event is lost */
	PROFILIS_DROP_TOO_DEEP =
	    1, /* nesting beyond PROFILIS_MAX_DEPTH: the call is not measured */
	PROFILIS_DROP_NO_STACK = 2,  /* per-thread stack could not be created */
	PROFILIS_DROP_ABANDONED = 3, /* calls left by a longjmp or exception unwind, discarded */
	PROFILIS_DROP_UNMATCHED = 4, /* a return with no matching entry (attached mid-call) */
	PROFILIS_DROP__COUNT = 5,
};

struct profilis_fn_record {
	__u32 kind; /* PROFILIS_RECORD_FN */
	__u32 pid;
	__u32 tid;
	__u32 depth;	/* open calls below this one on the same thread */
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 dur_ns;
	__u64 fn_id; /* attach cookie: index into the agent's probe table */
	char comm[PROFILIS_COMM_LEN];
};

#endif /* PROFILIS_RECORDS_H */
