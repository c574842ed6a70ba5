// SPDX-License-Identifier: GPL-2.0
/* USDT probes: the profilis:* markers of include/profilis/usdt.h, paired begin with end per thread
 * into REQ, FN and DB records; and third-party probes given with --usdt, as points (one FN record
 * per hit) or START,END pairs (one FN record per pair, with its duration). The attach cookie of a
 * --usdt probe is its index in the agent's name table. And CPython's function__entry/__return
 * probes, paired per thread into FN records named "file.py:function" for the functions the
 * --python-fn globs match (filtered here, at entry). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "aggregates.bpf.h"
#include "globs.bpf.h"
#include "ring_records.bpf.h"
#include "shared_maps.bpf.h"
#include "sql_text.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 min_duration_ns = 0;

/* An open FN marker (id 0) or --usdt pair (id: its cookie). */
struct span {
	__u64 start_ns;
	__u64 id;
};

struct span_stack {
	__u32 depth; /* may exceed PROFILIS_MAX_DEPTH: those spans are counted, not kept */
	__u32 _pad;
	struct span spans[PROFILIS_MAX_DEPTH];
};

/* A begin marker's strings, kept until its end: each as its text, or as its address when it is a
 * constant of the marker's object (by_address), or neither when it could not be read
 * (unreadable). */
struct req_frame {
	__u64 start_ns;
	struct profilis_marker_strings strings;
	char method[PROFILIS_METHOD_MAX];
	char route[PROFILIS_ROUTE_MAX];
};

struct req_stack {
	__u32 depth;
	__u32 _pad;
	struct req_frame frames[PROFILIS_MAX_REQ_DEPTH];
};

struct db_frame {
	__u64 start_ns;
	struct profilis_marker_strings strings;
	char vendor[PROFILIS_VENDOR_MAX];
	struct sql_text sql;
};

struct db_stack {
	__u32 depth;
	__u32 _pad;
	struct db_frame frames[PROFILIS_MAX_DB_DEPTH];
};

/* A DB record is built here and copied into the ring buffer, as long as its query's text. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profilis_db_record);
} db_record_space SEC(".maps");

/* Per-thread state lives in task storage: created zeroed on a thread's first marker, freed with
 * the thread, and found without a hash lookup. FN markers and --usdt pairs have stacks of their
 * own, so that a pair that does not nest with the markers (a query started in one function and
 * finished in another) cannot unpair them. */
#define TASK_STORAGE(name, value_type)                                                             \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_TASK_STORAGE);                                           \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__type(key, int);                                                                  \
		__type(value, value_type);                                                         \
	} name SEC(".maps")

TASK_STORAGE(fn_spans, struct span_stack);
TASK_STORAGE(pair_spans, struct span_stack);
TASK_STORAGE(req_frames, struct req_stack);
TASK_STORAGE(db_frames, struct db_stack);

/* An open traced Python call: the code object's file and function name pointers identify it (a
 * return whose pointers differ is not the return of this call), and where the base name starts. */
struct python_frame {
	__u64 start_ns;
	__u64 file;
	__u64 function;
	__u32 base;	 /* offset of the file's base name in its name */
	__u32 aggregate; /* added up in the kernel (--aggregate) rather than reported */
};

struct python_stack {
	__u32 depth; /* may exceed PROFILIS_PYTHON_MAX_DEPTH: see python_return */
	__u32 _pad;
	struct python_frame frames[PROFILIS_PYTHON_MAX_DEPTH];
};

TASK_STORAGE(python_frames, struct python_stack);

/* Set by the agent: the --python-fn globs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profilis_python_filters);
} python_filters SEC(".maps");

/* The names of a Python call being filtered, per CPU (too big for the BPF stack). */
struct python_names {
	char function[PROFILIS_PYTHON_NAME_MAX];
	char file[PROFILIS_PYTHON_PATH_MAX];
	/* glob_run reads within GLOB_RUN_MASK + 1 bytes of `function`, the base name among them. */
	char _spare[GLOB_RUN_MASK + 1 - PROFILIS_PYTHON_NAME_MAX - PROFILIS_PYTHON_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct python_names);
} python_scratch SEC(".maps");

AGGREGATE_MAP(python_aggregates, struct profilis_python_aggregate_key,
	      struct profilis_python_aggregate);

/* Indexed by marker object id - 1 (the attach cookie of every marker probe): the read-only memory
 * whose strings the agent reads itself. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PROFILIS_MAX_MARKER_OBJECTS);
	__type(key, __u32);
	__type(value, struct profilis_address_range);
} marker_objects SEC(".maps");

/* The calling thread's pid_tgid (bpf_get_current_pid_tgid) while tracing, else 0. */
static __always_inline __u64 traced_thread(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	return attached_target(id >> 32) ? id : 0;
}

/* The calling thread's entry of `map`; created when `create` is set and there is none. */
static __always_inline void *thread_state(void *map, int create)
{
	void *value = bpf_task_storage_get(map, bpf_get_current_task_btf(), 0,
					   create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (!value && create)
		increment_counter(PROFILIS_DROP_NO_STACK);
	return value;
}

static __always_inline void push_span(void *map, __u64 id, __u64 now)
{
	struct span_stack *st = thread_state(map, 1);
	if (!st)
		return;
	__u32 d = st->depth;
	if (d < PROFILIS_MAX_DEPTH) {
		st->spans[d & (PROFILIS_MAX_DEPTH - 1)].start_ns = now;
		st->spans[d & (PROFILIS_MAX_DEPTH - 1)].id = id;
	} else {
		increment_counter(PROFILIS_DROP_TOO_DEEP);
	}
	st->depth = d + 1;
}

/* The start of the innermost open span with this id, popped; 0 when there is none to report (an
 * end without a begin, or a span that was too deep to keep). */
static __always_inline __u64 pop_span(void *map, __u64 id)
{
	struct span_stack *st = thread_state(map, 0);
	if (!st || st->depth == 0) {
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 0;
	}
	__u32 d = st->depth - 1;
	if (d >= PROFILIS_MAX_DEPTH) {
		st->depth = d;
		return 0;
	}
	struct span *s = &st->spans[d & (PROFILIS_MAX_DEPTH - 1)];
	if (s->id != id) {
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 0;
	}
	st->depth = d;
	return s->start_ns;
}

static __always_inline void emit_fn(__u64 id, __u64 start_ns, __u64 dur_ns, __u64 fn_id)
{
	struct profilis_fn_record *r =
	    reserve_record(sizeof(*r), PROFILIS_RECORD_FN, id, start_ns, dur_ns);
	if (!r)
		return;
	r->fn_id = fn_id;
	r->depth = 0;
	r->_pad = 0;
	submit_record(r, sizeof(*r));
}

/* Each marker has two programs: one attached by USDT note, which takes its arguments from wherever
 * the note says (libbpf's spec lookup and a read per argument), and one attached as a plain uprobe
 * to sites that pass them in the registers include/profilis/usdt.h pins (%rdi, %rsi), which
 * reads them straight from the context: ~40 ns less per FN_END here (bench/usdt_overhead.sh). */

static __always_inline int on_fn_begin(void)
{
	__u64 now = bpf_ktime_get_ns();
	if (traced_thread())
		push_span(&fn_spans, 0, now);
	return 0;
}

/* The read-only memory of marker object `object` (an attach cookie, 0 for none), or NULL. */
static __always_inline struct profilis_address_range *marker_range(__u64 object)
{
	__u32 index = (__u32)object - 1;
	if (object == 0 || object > PROFILIS_MAX_MARKER_OBJECTS)
		return 0;
	return bpf_map_lookup_elem(&marker_objects, &index);
}

/* Whether `p` points into `range` (NULL: no range). */
static __always_inline int in_range(const struct profilis_address_range *range, const void *p)
{
	__u64 addr = (__u64)p;
	return range && addr >= range->start && addr < range->end;
}

/* The marker object `object` when `name` points into its read-only memory, else 0. */
static __always_inline __u32 const_name_object(__u64 object, void *name)
{
	return in_range(marker_range(object), name) ? (__u32)object : 0;
}

/* Starts a begin marker's strings for marker object `object`. */
static __always_inline void start_strings(struct profilis_marker_strings *strings, __u64 object)
{
	__builtin_memset(strings, 0, sizeof(*strings));
	strings->object = (__u32)object;
}

/* A begin marker's string `index` (0 or 1) into its frame: its address when it is a constant of
 * the marker's object (in `range`: the agent reads it from the file, and no page of the process
 * need be mapped), else its text, read now; marked unreadable when the text cannot be read (its
 * page is not mapped, or the address is bad): the text is then empty. */
static __always_inline void take_string(struct profilis_marker_strings *strings, int index,
					char *text, __u32 size, const void *ptr,
					const struct profilis_address_range *range)
{
	text[0] = 0;
	if (in_range(range, ptr)) {
		strings->addr[index & 1] = (__u64)ptr;
		strings->by_address |= 1 << index;
	} else if (bpf_probe_read_user_str(text, size, ptr) < 0) {
		text[0] = 0;
		strings->unreadable |= 1 << index;
	}
}

/* An FN marker's record but the name's text, reserved; NULL when the ring buffer is full. */
static __always_inline struct profilis_named_fn_record *reserve_named_fn(__u64 size, __u64 id,
									 __u64 start, __u64 now,
									 long error, void *name,
									 __u32 name_object)
{
	struct profilis_named_fn_record *r =
	    reserve_record(size, PROFILIS_RECORD_NAMED_FN, id, start, now - start);
	if (!r)
		return 0;
	r->name_addr = (__u64)name;
	r->name_object = name_object;
	r->error = error != 0;
	r->unreadable = 0;
	r->_pad = 0;
	return r;
}

static __always_inline int on_fn_end(void *name, long error, __u64 object)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = traced_thread();
	if (!id)
		return 0;
	__u64 start = pop_span(&fn_spans, 0);
	if (!start || now - start < min_duration_ns)
		return 0;
	__u32 name_object = const_name_object(object, name);
	struct profilis_named_fn_record *r;
	if (name_object) {
		/* The name travels as its address: the record ends where `name` would begin. */
		const __u64 size = __builtin_offsetof(struct profilis_named_fn_record, name);
		r = reserve_named_fn(size, id, start, now, error, name, name_object);
		if (r)
			submit_record(r, size);
		return 0;
	}
	r = reserve_named_fn(sizeof(*r), id, start, now, error, name, 0);
	if (!r)
		return 0;
	if (bpf_probe_read_user_str(r->name, sizeof(r->name), name) < 0) {
		r->name[0] = 0;
		r->unreadable = PROFILIS_STR_NAME;
	}
	submit_record(r, sizeof(*r));
	return 0;
}

static __always_inline int on_req_begin(void *method, void *route, __u64 object)
{
	__u64 now = bpf_ktime_get_ns();
	if (!traced_thread())
		return 0;
	struct req_stack *st = thread_state(&req_frames, 1);
	if (!st)
		return 0;
	__u32 d = st->depth;
	st->depth = d + 1;
	if (d >= PROFILIS_MAX_REQ_DEPTH) {
		increment_counter(PROFILIS_DROP_TOO_DEEP);
		return 0;
	}
	struct req_frame *f = &st->frames[d & (PROFILIS_MAX_REQ_DEPTH - 1)];
	struct profilis_address_range *range = marker_range(object);
	f->start_ns = now;
	start_strings(&f->strings, object);
	take_string(&f->strings, 0, f->method, sizeof(f->method), method, range); /* METHOD */
	take_string(&f->strings, 1, f->route, sizeof(f->route), route, range);	  /* ROUTE */
	return 0;
}

static __always_inline int on_req_end(long status)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = traced_thread();
	if (!id)
		return 0;
	struct req_stack *st = thread_state(&req_frames, 0);
	if (!st || st->depth == 0) {
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 0;
	}
	__u32 d = st->depth - 1;
	st->depth = d;
	if (d >= PROFILIS_MAX_REQ_DEPTH)
		return 0;
	struct req_frame *f = &st->frames[d & (PROFILIS_MAX_REQ_DEPTH - 1)];
	if (now - f->start_ns < min_duration_ns)
		return 0;
	struct profilis_req_record *r =
	    reserve_record(sizeof(*r), PROFILIS_RECORD_REQ, id, f->start_ns, now - f->start_ns);
	if (!r)
		return 0;
	r->status = (__s32)status;
	r->_pad = 0;
	r->strings = f->strings;
	__builtin_memcpy(r->method, f->method, sizeof(r->method));
	__builtin_memcpy(r->route, f->route, sizeof(r->route));
	submit_record(r, sizeof(*r));
	return 0;
}

static __always_inline int on_db_begin(void *vendor, void *query, __u64 object)
{
	__u64 now = bpf_ktime_get_ns();
	if (!traced_thread())
		return 0;
	struct db_stack *st = thread_state(&db_frames, 1);
	if (!st)
		return 0;
	__u32 d = st->depth;
	st->depth = d + 1;
	if (d >= PROFILIS_MAX_DB_DEPTH) {
		increment_counter(PROFILIS_DROP_TOO_DEEP);
		return 0;
	}
	struct db_frame *f = &st->frames[d & (PROFILIS_MAX_DB_DEPTH - 1)];
	struct profilis_address_range *range = marker_range(object);
	f->start_ns = now;
	start_strings(&f->strings, object);
	take_string(&f->strings, 0, f->vendor, sizeof(f->vendor), vendor, range); /* VENDOR */
	if (in_range(range, query)) {
		/* The agent reads it from the file, as much as --sql-max-bytes says. */
		f->strings.addr[1] = (__u64)query;
		f->strings.by_address |= PROFILIS_STR_QUERY;
		f->sql.len = 0;
		f->sql.truncated = 0;
		f->sql.unreadable = 0;
	} else if (read_c_string(&f->sql, query) < 0) {
		f->strings.unreadable |= PROFILIS_STR_QUERY;
	}
	return 0;
}

static __always_inline int on_db_end(long rows, long error)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = traced_thread();
	if (!id)
		return 0;
	struct db_stack *st = thread_state(&db_frames, 0);
	if (!st || st->depth == 0) {
		increment_counter(PROFILIS_DROP_UNMATCHED);
		return 0;
	}
	__u32 d = st->depth - 1;
	st->depth = d;
	if (d >= PROFILIS_MAX_DB_DEPTH)
		return 0;
	struct db_frame *f = &st->frames[d & (PROFILIS_MAX_DB_DEPTH - 1)];
	if (now - f->start_ns < min_duration_ns)
		return 0;
	__u32 zero = 0;
	struct profilis_db_record *r = bpf_map_lookup_elem(&db_record_space, &zero);
	if (!r)
		return 0;
	fill_record_header(&r->header, PROFILIS_RECORD_DB, id, f->start_ns, now - f->start_ns);
	r->rows = rows;
	r->vendor = 0;
	r->error = error != 0;
	__builtin_memcpy(r->vendor_name, f->vendor, sizeof(r->vendor_name));
	r->strings = f->strings;
	put_sql(r, &f->sql);
	output_record(r, db_record_size(r));
	return 0;
}

SEC("usdt")
int BPF_USDT(fn_begin)
{
	return on_fn_begin();
}

SEC("uprobe")
int BPF_KPROBE(fn_begin_regs)
{
	return on_fn_begin();
}

SEC("usdt")
int BPF_USDT(fn_end, void *name, long error)
{
	return on_fn_end(name, error, bpf_usdt_cookie(ctx));
}

SEC("uprobe")
int BPF_KPROBE(fn_end_regs, void *name, long error)
{
	return on_fn_end(name, error, bpf_get_attach_cookie(ctx));
}

SEC("usdt")
int BPF_USDT(req_begin, void *method, void *route)
{
	return on_req_begin(method, route, bpf_usdt_cookie(ctx));
}

SEC("uprobe")
int BPF_KPROBE(req_begin_regs, void *method, void *route)
{
	return on_req_begin(method, route, bpf_get_attach_cookie(ctx));
}

SEC("usdt")
int BPF_USDT(req_end, long status)
{
	return on_req_end(status);
}

SEC("uprobe")
int BPF_KPROBE(req_end_regs, long status)
{
	return on_req_end(status);
}

SEC("usdt")
int BPF_USDT(db_begin, void *vendor, void *query)
{
	return on_db_begin(vendor, query, bpf_usdt_cookie(ctx));
}

SEC("uprobe")
int BPF_KPROBE(db_begin_regs, void *vendor, void *query)
{
	return on_db_begin(vendor, query, bpf_get_attach_cookie(ctx));
}

SEC("usdt")
int BPF_USDT(db_end, long rows, long error)
{
	return on_db_end(rows, error);
}

SEC("uprobe")
int BPF_KPROBE(db_end_regs, long rows, long error)
{
	return on_db_end(rows, error);
}

SEC("usdt")
int BPF_USDT(usdt_point)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = traced_thread();
	if (id)
		emit_fn(id, now, 0, bpf_usdt_cookie(ctx));
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_pair_start)
{
	__u64 now = bpf_ktime_get_ns();
	if (traced_thread())
		push_span(&pair_spans, bpf_usdt_cookie(ctx), now);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_pair_end)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 id = traced_thread();
	if (!id)
		return 0;
	__u64 probe = bpf_usdt_cookie(ctx);
	__u64 start = pop_span(&pair_spans, probe);
	if (start && now - start >= min_duration_ns)
		emit_fn(id, start, now - start, probe);
	return 0;
}

/* The filters run over one Python call's names, filter by filter in a bpf_loop: the verifier
 * checks one filter's step rather than every combination of filters matching or not. */
struct python_match {
	const struct profilis_python_filters *filters;
	const struct python_names *names;
	__u32 base;    /* where the file's base name starts in names->file */
	__u32 matched; /* bit i: filter i matches the function name */
	__u32 passed;  /* a filter matches the file's base name too */
	__u32 first;   /* the first such filter: the call follows its --aggregate */
};

static long match_function(__u64 i, void *ctx)
{
	struct python_match *m = ctx;
	if (i >= PROFILIS_MAX_PYTHON_FNS)
		return 1;
	const struct profilis_glob *glob =
	    &m->filters->filters[i & (PROFILIS_MAX_PYTHON_FNS - 1)].function;
	if (glob_run_matches(glob, m->names->function, 0, PROFILIS_PYTHON_NAME_MAX))
		m->matched |= 1u << i;
	return 0;
}

static long match_file(__u64 i, void *ctx)
{
	struct python_match *m = ctx;
	if (i >= PROFILIS_MAX_PYTHON_FNS)
		return 1;
	if (!(m->matched & (1u << i)))
		return 0;
	const struct profilis_glob *glob =
	    &m->filters->filters[i & (PROFILIS_MAX_PYTHON_FNS - 1)].file;
	if ((m->filters->any_file & (1u << i)) ||
	    glob_run_matches(glob, m->names->function, PROFILIS_PYTHON_NAME_MAX + m->base,
			     PROFILIS_PYTHON_NAME_MAX)) {
		m->passed = 1;
		m->first = i;
		return 1;
	}
	return 0;
}

static long find_base_name(__u64 i, void *ctx)
{
	struct glob_run *run = ctx; /* only its name and start: the base name found so far */
	char c = run->name[i & (PROFILIS_PYTHON_PATH_MAX - 1)];
	if (c == 0)
		return 1;
	if (c == '/')
		run->start = i + 1;
	return 0;
}

/* Where the base name of `file` (NUL-terminated, at most PROFILIS_PYTHON_PATH_MAX - 1 bytes)
 * starts. */
static __always_inline __u32 python_base_name(const char *file)
{
	struct glob_run run = {.name = file};
	bpf_loop(PROFILIS_PYTHON_PATH_MAX, find_base_name, &run, 0);
	return run.start;
}

/* CPython calls this at the start of a function and at each resume of a generator or coroutine:
 * the call is opened when a filter matches its names, else it costs the filter alone. */
static __always_inline int on_python_entry(void *file, void *function)
{
	if (!traced_thread())
		return 0;
	__u32 zero = 0;
	struct profilis_python_filters *filters = bpf_map_lookup_elem(&python_filters, &zero);
	struct python_names *names = bpf_map_lookup_elem(&python_scratch, &zero);
	if (!filters || !names)
		return 0;
	if (bpf_probe_read_user_str(names->function, sizeof(names->function), function) <= 0)
		return 0;
	struct python_match m = {.filters = filters, .names = names};
	__u32 count =
	    filters->count < PROFILIS_MAX_PYTHON_FNS ? filters->count : PROFILIS_MAX_PYTHON_FNS;
	bpf_loop(count, match_function, &m, 0);
	if (!m.matched)
		return 0;
	if (bpf_probe_read_user_str(names->file, sizeof(names->file), file) <= 0)
		return 0;
	m.base = python_base_name(names->file);
	/* In the filters' order, so that the first one the call passes decides its --aggregate; it
	 * stops there (at once when that one takes every file). */
	bpf_loop(count, match_file, &m, 0);
	if (!m.passed)
		return 0;
	/* The clock only once the call is traced: the filter's time is left out of its duration,
	 * and the return's lookup is in it (each ~0.1–0.5 µs here), so the two about cancel. */
	__u64 now = bpf_ktime_get_ns();
	struct python_stack *st = thread_state(&python_frames, 1);
	if (!st)
		return 0;
	__u32 d = st->depth;
	if (d < PROFILIS_PYTHON_MAX_DEPTH) {
		struct python_frame *f = &st->frames[d & (PROFILIS_PYTHON_MAX_DEPTH - 1)];
		f->start_ns = now;
		f->file = (__u64)file;
		f->function = (__u64)function;
		f->base = m.base;
		f->aggregate = (filters->aggregate >> (m.first & 31)) & 1;
	} else {
		increment_counter(PROFILIS_DROP_TOO_DEEP);
	}
	st->depth = d + 1;
	return 0;
}

/* "file.py:function" into `name` (PROFILIS_NAME_MAX bytes), each part at most half of it; empty,
 * and 0 returned, when a part cannot be read. */
static __always_inline int python_name(char *name, const char *file, const char *function)
{
	const __u32 half = PROFILIS_NAME_MAX / 2;
	long n = bpf_probe_read_user_str(name, half, file);
	if (n <= 0) {
		name[0] = 0;
		return 0;
	}
	__u32 at = (__u32)n; /* 1 .. half: just past the NUL */
	if (at > half)
		at = half;
	name[(at - 1) & (half - 1)] = ':';
	if (bpf_probe_read_user_str(name + at, half, function) <= 0) {
		name[0] = 0;
		return 0;
	}
	return 1;
}

/* --aggregate: a Python call added to its code object's series. */
static __always_inline void aggregate_python_call(__u64 id, const char *file, const char *function,
						  const char *base, __u64 dur)
{
	struct profilis_python_aggregate_key key = {
	    .pid = id >> 32, .file = (__u64)file, .function = (__u64)function};
	static const struct profilis_python_aggregate empty = {}; /* global: not zeroed per call */
	struct profilis_python_aggregate *a = aggregate_series(&python_aggregates, &key, &empty);
	if (!a)
		return;
	/* Once per CPU and series: the name is written into this CPU's copy at its first call. */
	if (a->name[0] == 0)
		python_name(a->name, base, function);
	add_to_aggregate(&a->calls, dur);
}

/* CPython calls this when a function returns, raises out, or a generator or coroutine yields or
 * awaits (its frame suspends): it closes the innermost open call when that is this code's. */
static __always_inline int on_python_return(void *file, void *function)
{
	__u64 id = traced_thread();
	if (!id)
		return 0;
	struct python_stack *st = thread_state(&python_frames, 0);
	if (!st || st->depth == 0)
		return 0;
	__u32 d = st->depth - 1;
	/* Past the kept depth, the deepest kept frame stands for the calls above it: deep recursion
	 * of one function still pairs (and is not reported). */
	__u32 kept = d < PROFILIS_PYTHON_MAX_DEPTH ? d : PROFILIS_PYTHON_MAX_DEPTH - 1;
	barrier_var(kept); /* else the compiler drops the mask the verifier needs */
	struct python_frame *f = &st->frames[kept & (PROFILIS_PYTHON_MAX_DEPTH - 1)];
	if (f->function != (__u64)function || f->file != (__u64)file)
		return 0; /* a call the filter passed over, or one that began before the agent */
	__u64 now = bpf_ktime_get_ns();
	st->depth = d;
	if (d >= PROFILIS_PYTHON_MAX_DEPTH || now - f->start_ns < min_duration_ns)
		return 0;
	const char *base = (const char *)file + f->base;
	if (f->aggregate) {
		aggregate_python_call(id, file, function, base, now - f->start_ns);
		return 0;
	}
	struct profilis_named_fn_record *r =
	    reserve_named_fn(sizeof(*r), id, f->start_ns, now, 0, 0, 0);
	if (!r)
		return 0;
	if (!python_name(r->name, base, function))
		r->unreadable = PROFILIS_STR_NAME;
	submit_record(r, sizeof(*r));
	return 0;
}

/* By USDT note, the arguments where the note says; or, where the notes say what Debian's
 * python3.11 says (8@%rbp 8@%r12), as plain uprobes that read those registers: no spec lookup
 * and no helper call per argument. */
SEC("usdt")
int BPF_USDT(python_entry, void *file, void *function)
{
	return on_python_entry(file, function);
}

SEC("uprobe")
int BPF_KPROBE(python_entry_regs)
{
	return on_python_entry((void *)ctx->bp, (void *)ctx->r12);
}

SEC("usdt")
int BPF_USDT(python_return, void *file, void *function)
{
	return on_python_return(file, function);
}

SEC("uprobe")
int BPF_KPROBE(python_return_regs)
{
	return on_python_return((void *)ctx->bp, (void *)ctx->r12);
}

/* Attached where the process does not run again (the start of .init) with python:line's semaphore
 * as reference counter, only to raise that semaphore: CPython 3.11 fires function__entry only on
 * its tracing path, which the line probe being enabled turns on. Runs at most once per process,
 * at the start of one begun under --binary. */
SEC("uprobe")
int BPF_KPROBE(python_tracing_on)
{
	return 0;
}
