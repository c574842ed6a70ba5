// SPDX-License-Identifier: GPL-2.0
/* Function latency: a uprobe at each traced function's entry, and its return seen either by a
 * uretprobe or by uprobes on the function's own exit instructions (`ret`, jumps that leave it),
 * paired on a stack per thread — or per goroutine in Go, where a call may end on another thread. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "aggregates.bpf.h"
#include "ring_records.bpf.h"
#include "shared_maps.bpf.h"
#include "process_rules.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 min_duration_ns = 0;

struct frame {
	__u64 sp; /* stack pointer at entry: where the return address lives (Go: see go_sp) */
	__u64 start_ns;
	__u64 fn_id;
	/* Set when the call tail-jumped: the id + 1 of the function it goes on in (or
	 * PROFILIS_TAIL_UNTRACED); it ends when that function's call ends. */
	__u32 tail_target;
	__u16 restarting; /* Go: the call jumped back to its entry (PROFILIS_EXIT_RESTART) */
	__u16 aggregate;  /* --aggregate: the call is added to its series, not reported */
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
 * discarded and counted. `at_call`: 0 at a return, 1 at a call, 2 at a call where no uretprobe can
 * have chained it (Go). A call of `fn_id` is chained from a frame that tail-jumped to it. */
static __always_inline void drop_dead_frames(struct call_stack *st, __u64 sp, int at_call,
					     __u64 fn_id)
{
	int chained =
	    at_call == 2 ? 0 : -1; /* -1: unknown until a frame at exactly `sp` needs it */
	for (int i = 0; i < PROFILIS_MAX_DEPTH; i++) {
		__u32 d = st->depth;
		if (d == 0)
			return;
		struct frame *top = &st->frames[(d - 1) & (PROFILIS_MAX_DEPTH - 1)];
		__u64 frame_sp = top->sp;
		if (frame_sp > sp)
			return;
		if (frame_sp == sp) {
			if (!at_call)
				return;
			if (top->tail_target == fn_id + 1)
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

/* Pushes the call of `fn_id` entered at stack pointer `sp`. `go`: `sp` is a goroutine's stack
 * position (go_position), no uretprobe trampoline can be chained, and the entry that follows the
 * call's own jump back to it (PROFILIS_EXIT_RESTART) goes on with that call. */
static __always_inline void push_call(struct call_stack *st, __u64 sp, __u64 fn_id, __u64 now,
				      int go, __u32 tail_target, __u16 aggregate)
{
	if (go) {
		__u32 d = st->depth;
		if (d > 0) {
			struct frame *top = &st->frames[(d - 1) & (PROFILIS_MAX_DEPTH - 1)];
			if (top->restarting && top->sp == sp && top->fn_id == fn_id) {
				top->restarting = 0;
				return;
			}
		}
	}
	drop_dead_frames(st, sp, go ? 2 : 1, fn_id);
	__u32 d = st->depth;
	if (d >= PROFILIS_MAX_DEPTH) {
		increment_counter(PROFILIS_DROP_TOO_DEEP);
		return;
	}
	/* Keeps the mask the compiler would drop after the check above, which the verifier needs.
	 */
	barrier_var(d);
	struct frame *f = &st->frames[d & (PROFILIS_MAX_DEPTH - 1)];
	f->sp = sp;
	f->start_ns = now;
	f->fn_id = fn_id;
	f->tail_target = tail_target;
	f->restarting = 0;
	f->aggregate = aggregate;
	st->depth = d + 1;
}

AGGREGATE_MAP(aggregates, struct profilis_aggregate_key, struct profilis_aggregate);

static __always_inline void aggregate_call(__u64 fn_id, __u64 dur, __u64 id)
{
	/* Global, so that no call zeroes a copy on its stack. */
	static const struct profilis_aggregate empty = {};
	struct profilis_aggregate_key key = {.pid = id >> 32, .fn_id = fn_id};
	struct profilis_aggregate *a = aggregate_series(&aggregates, &key, &empty);
	if (a)
		add_to_aggregate(a, dur);
}

static __always_inline void report_call(struct frame *f, __u32 depth, __u64 now, __u64 id)
{
	__u64 dur = now - f->start_ns;
	if (dur < min_duration_ns)
		return;
	if (f->aggregate) {
		aggregate_call(f->fn_id, dur, id);
		return;
	}
	struct profilis_fn_record *r =
	    reserve_record(sizeof(*r), PROFILIS_RECORD_FN, id, f->start_ns, dur);
	if (!r)
		return;
	r->fn_id = f->fn_id;
	r->depth = depth;
	r->_pad = 0;
	submit_record(r, sizeof(*r));
}

/* Pops the call of `fn_id` whose entry stack pointer was `entry_sp` and reports it, then the calls
 * that had tail-jumped into it, which end with it. Returns 1 when the stack is left empty.
 * `at_exit_instruction`: the probe sits on a `ret` or a jump that may also run while the function
 * has not yet unwound its frame to the entry level (a loop back, a recursive call's exit): such a
 * hit is not this call's return, and is neither counted nor reported. */
static __always_inline int pop_call(struct call_stack *st, __u64 entry_sp, __u64 fn_id, __u64 now,
				    __u64 id, int at_exit_instruction)
{
	__u32 d = st->depth;
	if (at_exit_instruction && d > 0) {
		struct frame *top = &st->frames[(d - 1) & (PROFILIS_MAX_DEPTH - 1)];
		if (top->sp > entry_sp)
			return 0; /* a frame still below the entry level: not leaving yet */
	}
	drop_dead_frames(st, entry_sp, 0, 0);
	d = st->depth;
	if (d == 0) {
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 1;
	}
	struct frame *f = &st->frames[(d - 1) & (PROFILIS_MAX_DEPTH - 1)];
	if (f->sp != entry_sp || f->fn_id != fn_id) {
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 0;
	}
	for (int i = 0; i < PROFILIS_MAX_DEPTH; i++) {
		d = st->depth;
		if (d == 0)
			break;
		f = &st->frames[(d - 1) & (PROFILIS_MAX_DEPTH - 1)];
		if (i > 0 && (f->sp != entry_sp || f->tail_target != fn_id + 1))
			break;
		fn_id = f->fn_id;
		st->depth = d - 1;
		report_call(f, d - 1, now, id);
	}
	return st->depth == 0;
}

SEC("uprobe")
int BPF_KPROBE(fn_entry)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (!attached_target(pid))
		return 0;
	struct call_stack *st = stack_of(1);
	if (!st) {
		increment_counter(PROFILIS_DROP_NO_STACK);
		return 0;
	}
	__u64 sp = PT_REGS_SP(ctx);
	/* Beyond the function's id, the cookie of a function that is only a tail jump names the
	 * function its call goes on in (PROFILIS_EXIT_TARGET_SHIFT). */
	__u64 cookie = bpf_get_attach_cookie(ctx);
	push_call(st, sp, cookie & PROFILIS_EXIT_FN_MASK, now, 0,
		  cookie >> PROFILIS_EXIT_TARGET_SHIFT, (cookie & PROFILIS_ENTRY_AGGREGATE) != 0);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(fn_return)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!attached_target(id >> 32))
		return 0;
	struct call_stack *st = stack_of(0);
	if (!st) {
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 0;
	}
	/* `ret` popped the return address, so the entry stack pointer is 8 bytes lower. */
	pop_call(st, PT_REGS_SP(ctx) - 8, bpf_get_attach_cookie(ctx), now, id, 0);
	return 0;
}

/* Whether the jump at an exit site is taken: the site's cookie carries its condition (enum
 * profilis_exit_condition), tested on the flags and registers as they are before it runs. */
static __always_inline int exit_taken(struct pt_regs *ctx, __u64 cookie)
{
	__u32 condition = (cookie >> PROFILIS_EXIT_CONDITION_SHIFT) & 0xff;
	if (condition == PROFILIS_EXIT_ALWAYS)
		return 1;
	if (condition == PROFILIS_EXIT_IF_RCX_ZERO)
		return ctx->cx == 0;
	if (condition == PROFILIS_EXIT_IF_ECX_ZERO)
		return (__u32)ctx->cx == 0;
	/* x86 condition codes: cc >> 1 picks the test, cc & 1 negates it. */
	__u32 cc = condition - PROFILIS_EXIT_IF_CC;
	__u64 flags = ctx->flags;
	__u32 cf = flags & 1, pf = (flags >> 2) & 1, zf = (flags >> 6) & 1, sf = (flags >> 7) & 1,
	      of = (flags >> 11) & 1;
	__u32 test = 0;
	switch (cc >> 1) {
	case 0:
		test = of;
		break;
	case 1:
		test = cf;
		break;
	case 2:
		test = zf;
		break;
	case 3:
		test = cf | zf;
		break;
	case 4:
		test = sf;
		break;
	case 5:
		test = pf;
		break;
	case 6:
		test = sf ^ of;
		break;
	default:
		test = zf | (sf ^ of);
		break;
	}
	return test ^ (cc & 1);
}

/* What an exit instruction of the call of the cookie's function means for it, by the cookie's kind
 * (enum profilis_exit_kind). Returns 1 when the stack is left empty. */
static __always_inline int at_exit(struct call_stack *st, __u64 sp, __u64 cookie, __u64 now,
				   __u64 id)
{
	__u64 fn_id = cookie & PROFILIS_EXIT_FN_MASK;
	__u32 kind = (cookie >> PROFILIS_EXIT_KIND_SHIFT) & 3;
	if (kind == PROFILIS_EXIT_RETURN)
		return pop_call(st, sp, fn_id, now, id, 1);
	__u32 d = st->depth;
	if (d == 0)
		return 1;
	struct frame *top = &st->frames[(d - 1) & (PROFILIS_MAX_DEPTH - 1)];
	/* Only the call's own frame, at the entry level: otherwise this function runs for another
	 * caller, or a traced function the call jumped into is on top and ends the chain itself. */
	if (top->sp != sp || top->fn_id != fn_id)
		return 0;
	if (kind == PROFILIS_EXIT_TAIL_JUMP) {
		top->tail_target = cookie >> PROFILIS_EXIT_TARGET_SHIFT;
		return 0;
	}
	if (kind == PROFILIS_EXIT_RESTART) {
		top->restarting = 1;
		return 0;
	}
	if (!top->tail_target)
		return 0;
	return pop_call(st, sp, fn_id, now, id, 1);
}

/* On a `ret` or a jump out of the function, before it runs: the return address is still on the
 * stack, so the stack pointer is the entry one. */
SEC("uprobe")
int BPF_KPROBE(fn_exit)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!attached_target(id >> 32))
		return 0;
	__u64 cookie = bpf_get_attach_cookie(ctx);
	if (!exit_taken(ctx, cookie))
		return 0;
	struct call_stack *st = stack_of(0);
	if (!st)
		return 0; /* no call open on this thread: a path through the exit, not a return */
	at_exit(st, PT_REGS_SP(ctx), cookie, now, id);
	return 0;
}

/* Go: calls pair per goroutine. Under Go's register ABI (amd64, Go ≥ 1.17) r14 holds the current
 * goroutine's `g`, whose first field is its stack bounds {lo, hi}. A goroutine's stack is copied
 * elsewhere when it grows, keeping each frame's distance from `hi`, so positions are kept as
 * (-1 - distance): the order and equality of stack pointers on one stack, stable across copies. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROFILIS_MAX_GOROUTINES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64); /* the g pointer */
	__type(value, struct call_stack);
} goroutine_calls SEC(".maps");

/* A zeroed stack to create goroutine entries from (too large for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct call_stack);
} empty_stack SEC(".maps");

static __always_inline int go_position(struct pt_regs *ctx, __u64 *g, __u64 *sp)
{
	__u64 hi = 0;
	*g = ctx->r14;
	if (*g == 0 || bpf_probe_read_user(&hi, sizeof(hi), (void *)(*g + 8)))
		return 0;
	__u64 raw = PT_REGS_SP(ctx);
	if (raw > hi)
		return 0; /* not on this goroutine's stack (the system stack): not Go code's call */
	*sp = (__u64)-1 - (hi - raw);
	return 1;
}

SEC("uprobe")
int BPF_KPROBE(go_fn_entry)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (!attached_target(pid))
		return 0;
	__u64 g, sp;
	if (!go_position(ctx, &g, &sp)) {
		increment_counter(PROFILIS_DROP_NO_STACK);
		return 0;
	}
	struct call_stack *st = bpf_map_lookup_elem(&goroutine_calls, &g);
	if (!st) {
		__u32 zero = 0;
		struct call_stack *empty = bpf_map_lookup_elem(&empty_stack, &zero);
		if (empty)
			bpf_map_update_elem(&goroutine_calls, &g, empty, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&goroutine_calls, &g);
		if (!st) {
			increment_counter(PROFILIS_DROP_NO_STACK);
			return 0;
		}
	}
	__u64 cookie = bpf_get_attach_cookie(ctx);
	push_call(st, sp, cookie & PROFILIS_EXIT_FN_MASK, now, 1,
		  cookie >> PROFILIS_EXIT_TARGET_SHIFT, (cookie & PROFILIS_ENTRY_AGGREGATE) != 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(go_fn_exit)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = bpf_get_current_pid_tgid();
	if (!attached_target(id >> 32))
		return 0;
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 g, sp;
	if (!exit_taken(ctx, cookie) || !go_position(ctx, &g, &sp))
		return 0;
	struct call_stack *st = bpf_map_lookup_elem(&goroutine_calls, &g);
	if (!st)
		return 0;
	/* A goroutine with no call open keeps no entry: the map holds goroutines inside traced
	 * calls. */
	if (at_exit(st, sp, cookie, now, id))
		bpf_map_delete_elem(&goroutine_calls, &g);
	return 0;
}
