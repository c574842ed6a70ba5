// SPDX-License-Identifier: GPL-2.0
/* Function latency: a uprobe and a uretprobe per traced function, paired per thread on a stack. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "ring_records.bpf.h"
#include "shared_maps.bpf.h"
#include "process_rules.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 min_duration_ns = 0;

struct frame {
	__u64 sp; /* stack pointer at entry: where the return address lives */
	__u64 start_ns;
	__u64 fn_id;
};

struct call_stack {
	__u32 depth;
	__u32 _pad;
	struct frame frames[PROFILIS_MAX_DEPTH];
};

/* Per thread, in the task itself: freed by the kernel when the thread exits, so a reused thread id
 * never finds a dead thread's open calls, and thread churn cannot fill a map. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct call_stack);
} open_calls SEC(".maps");

static __always_inline struct call_stack *stack_of(int create)
{
	return bpf_task_storage_get(&open_calls, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* A call whose return address slot already holds the uretprobe trampoline is a tail call chained
 * from a traced function that is still running at the same stack pointer. */
static __always_inline int is_chained_call(__u64 sp)
{
	__u64 return_address = 0, trampoline = 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	if (bpf_probe_read_user(&return_address, sizeof(return_address), (void *)sp))
		return 0;
	trampoline = BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	return trampoline != 0 && return_address == trampoline;
}

/* Frames that cannot be running any more: calls skipped by a longjmp or an unwind. The rules are
 * the kernel's own for its return instances (arch_uretprobe_is_alive): at a new call, a frame at or
 * below the new stack pointer is dead, unless the call is chained from it by a tail call; at a
 * return, a frame below the returning stack pointer is dead. Their returns never come, so they are
 * discarded and counted. */
static __always_inline void drop_dead_frames(struct call_stack *st, __u64 sp, int at_call)
{
	int chained = -1; /* unknown until a frame at exactly `sp` needs the answer */
	for (int i = 0; i < PROFILIS_MAX_DEPTH; i++) {
		__u32 d = st->depth;
		if (d == 0)
			return;
		__u64 frame_sp = st->frames[(d - 1) & (PROFILIS_MAX_DEPTH - 1)].sp;
		if (frame_sp > sp)
			return;
		if (frame_sp == sp) {
			if (!at_call)
				return;
			if (chained < 0)
				chained = is_chained_call(sp);
			if (chained)
				return;
		}
		st->depth = d - 1;
		increment_counter(PROFILIS_DROP_ABANDONED);
	}
}

SEC("uprobe")
int BPF_KPROBE(fn_entry)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	if (!is_target(pid))
		return 0;
	struct call_stack *st = stack_of(1);
	if (!st) {
		increment_counter(PROFILIS_DROP_NO_STACK);
		return 0;
	}
	__u64 sp = PT_REGS_SP(ctx);
	drop_dead_frames(st, sp, 1);
	__u32 d = st->depth;
	if (d >= PROFILIS_MAX_DEPTH) {
		increment_counter(PROFILIS_DROP_TOO_DEEP);
		return 0;
	}
	struct frame *f = &st->frames[d & (PROFILIS_MAX_DEPTH - 1)];
	f->sp = sp;
	f->start_ns = now;
	f->fn_id = bpf_get_attach_cookie(ctx);
	st->depth = d + 1;
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(fn_return)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	if (!is_target(pid))
		return 0;
	struct call_stack *st = stack_of(0);
	if (!st) {
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 0;
	}
	/* `ret` popped the return address, so the entry stack pointer is 8 bytes lower. */
	__u64 entry_sp = PT_REGS_SP(ctx) - 8;
	__u64 fn_id = bpf_get_attach_cookie(ctx);
	drop_dead_frames(st, entry_sp, 0);
	__u32 d = st->depth;
	if (d == 0) {
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 0;
	}
	struct frame *f = &st->frames[(d - 1) & (PROFILIS_MAX_DEPTH - 1)];
	if (f->sp != entry_sp || f->fn_id != fn_id) {
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 0;
	}
	st->depth = d - 1;
	__u64 dur = now - f->start_ns;
	if (dur < min_duration_ns)
		return 0;

	struct profilis_fn_record *r =
	    reserve_record(sizeof(*r), PROFILIS_RECORD_FN, id, f->start_ns, dur);
	if (!r)
		return 0;
	r->fn_id = fn_id;
	r->depth = d - 1;
	r->_pad = 0;
	submit_record(r, sizeof(*r));
	return 0;
}
