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
/* --aggregate: each call of an aggregated function is added, in the kernel, to its series (per
 * process and function) in a per-CPU map instead of becoming a record. The buckets are those of
 * every duration histogram (docs/design.md §6: 5 ms ... 10 s, then +Inf), counted each on its own
 * (the agent makes them cumulative). */
#define PROFILIS_AGGREGATE_BUCKETS 12
#define PROFILIS_MAX_AGGREGATE_SERIES 16384
/* The upper bounds of the first PROFILIS_AGGREGATE_BUCKETS - 1 buckets, in ns. */
#define PROFILIS_AGGREGATE_BOUNDS_NS                                                               \
	{                                                                                          \
		5000000ULL, 10000000ULL, 25000000ULL, 50000000ULL, 100000000ULL, 250000000ULL,     \
		    500000000ULL, 1000000000ULL, 2000000000ULL, 5000000000ULL, 10000000000ULL      \
	}
/* The bit of an entry cookie that marks an aggregated function. */
#define PROFILIS_ENTRY_AGGREGATE (1ULL << 32)
struct profilis_aggregate_key {
	__u32 pid;
	__u32 _pad;
	__u64 fn_id;
};
struct profilis_aggregate {
	__u64 count;
	__u64 sum_ns;
	__u64 buckets[PROFILIS_AGGREGATE_BUCKETS];
};
/* --aggregate for --python-fn: a series per process and code object, whose file and function name
 * pointers identify it; the name ("file.py:function", as a record would give it) is written by the
 * kernel into each CPU's copy at its first call there. */
struct profilis_python_aggregate_key {
	__u32 pid;
	__u32 _pad;
	__u64 file;
	__u64 function;
};

/* Goroutines inside traced Go calls at one time (an entry exists only while a call is open). */
#define PROFILIS_MAX_GOROUTINES 65536

/* The cookie of a probe on an exit instruction: bits 0-31 the id of the function whose call it
 * concerns, 32-39 when the instruction leaves (enum profilis_exit_condition: a conditional jump
 * leaves only when taken), 40-41 what it does (enum profilis_exit_kind), 42-63 for a tail jump the
 * id + 1 of the function it jumps to (PROFILIS_TAIL_UNTRACED when that one is not traced). */
#define PROFILIS_EXIT_CONDITION_SHIFT 32
#define PROFILIS_EXIT_KIND_SHIFT 40
#define PROFILIS_EXIT_TARGET_SHIFT 42
#define PROFILIS_EXIT_FN_MASK 0xffffffffULL
#define PROFILIS_TAIL_UNTRACED 0x3fffffU
enum profilis_exit_condition {
	PROFILIS_EXIT_ALWAYS = 0,      /* ret, jmp */
	PROFILIS_EXIT_IF_RCX_ZERO = 1, /* jrcxz */
	PROFILIS_EXIT_IF_ECX_ZERO = 2, /* jecxz */
	PROFILIS_EXIT_IF_CC = 16,      /* + the x86 condition code (0 = o ... 15 = g) of a jcc */
};
enum profilis_exit_kind {
	/* The call ends here (a ret, or a jump out that cannot be followed). */
	PROFILIS_EXIT_RETURN = 0,
	/* A tail jump: the call goes on in the function jumped to, and ends when that one returns.
	 */
	PROFILIS_EXIT_TAIL_JUMP = 1,
	/* An exit of a function the call tail-jumped into: the call ends here, if it did jump. */
	PROFILIS_EXIT_CONTINUATION = 2,
	/* Go: the jump back to the entry after the runtime grew the stack or served a preemption
	 * request; the entry that follows goes on with the same call. */
	PROFILIS_EXIT_RESTART = 3,
};
/* Threads with open calls tracked at once; the map is LRU, so dead threads age out instead of
 * filling it. */
#define PROFILIS_MAX_THREADS 8192
/* Processes the pid filter holds a verdict for at once: the targets, or under --node/--binary
 * every live process that was excluded or seen to exec (entries go when the process exits). */
#define PROFILIS_MAX_TARGET_PIDS 32768

/* SQL text read from the traced process: at most this much (the agent may ask for less). */
#define PROFILIS_SQL_MAX 1024
/* Statement name of a libpq prepared statement, as part of a map key. */
#define PROFILIS_STMT_NAME_MAX 64
/* Prepared statements and in-flight asynchronous queries remembered at once (LRU-bounded). */
#define PROFILIS_MAX_STATEMENTS 16384

/* Strings the profilis:* markers pass, read from the traced process at most this long (with the
 * NUL); longer ones are cut. */
#define PROFILIS_METHOD_MAX 16
#define PROFILIS_ROUTE_MAX 128
#define PROFILIS_NAME_MAX 128
#define PROFILIS_VENDOR_MAX 16
/* Open marker requests and queries kept per thread (powers of two); deeper ones are counted as
 * too deep and not reported, without disturbing the pairing of the others. */
#define PROFILIS_MAX_REQ_DEPTH 4
#define PROFILIS_MAX_DB_DEPTH 4
/* Marker objects (a file with markers, in one traced process) whose constant strings the agent
 * reads from the file; past this many, names are read from the process. */
#define PROFILIS_MAX_MARKER_OBJECTS 4096

enum profilis_record_kind {
	PROFILIS_RECORD_FN = 1,
	PROFILIS_RECORD_DB = 2,
	PROFILIS_RECORD_REQ = 3,      /* from the REQ markers */
	PROFILIS_RECORD_NAMED_FN = 4, /* from the FN markers and --python-fn: the name travels */
};

enum profilis_db_vendor {
	PROFILIS_DB_POSTGRESQL = 1,
	PROFILIS_DB_MYSQL = 2,
	PROFILIS_DB_SQLITE = 3,
};

/* The client-library function a DB probe sits on: its attach cookie. Each library's programs
 * name the values they handle; nothing depends on their order. */
enum profilis_db_api {
	PROFILIS_PQ_EXEC = 1,
	PROFILIS_PQ_EXEC_PARAMS,
	PROFILIS_PQ_PREPARE,
	PROFILIS_PQ_EXEC_PREPARED,
	PROFILIS_PQ_SEND_QUERY,
	PROFILIS_PQ_SEND_QUERY_PARAMS,
	PROFILIS_PQ_SEND_PREPARE,
	PROFILIS_PQ_SEND_QUERY_PREPARED,
	PROFILIS_PQ_GET_RESULT,
	PROFILIS_PQ_FINISH,
	PROFILIS_MY_REAL_QUERY,
	PROFILIS_MY_QUERY,
	PROFILIS_MY_SEND_QUERY,
	PROFILIS_MY_READ_QUERY_RESULT,
	PROFILIS_MY_STMT_PREPARE,
	PROFILIS_MY_STMT_EXECUTE,
	PROFILIS_MY_STMT_CLOSE,
	PROFILIS_MY_CLOSE,
	PROFILIS_SQ_EXEC,
	PROFILIS_SQ_PREPARE_V2,
	PROFILIS_SQ_PREPARE_V3,
	PROFILIS_SQ_STEP,
	PROFILIS_SQ_RESET,
	PROFILIS_SQ_FINALIZE,
};

/* A process's entry in the pid filter (target_pids). */
enum profilis_pid_verdict {
	PROFILIS_PID_TRACED = 1,
	PROFILIS_PID_EXCLUDED = 2,
};

/* Which processes every program traces (each BPF object's trace_mode). */
enum profilis_trace_mode {
	PROFILIS_TRACE_NONE = 0,   /* stopped, or not started */
	PROFILIS_TRACE_LISTED = 1, /* --pid: the processes the filter says are traced */
	PROFILIS_TRACE_UNLISTED =
	    2, /* --binary, --node: every process the filter does not exclude */
};

/* Globs the kernel runs: the --include-comm / --exclude-comm globs at every exec, so that a new
 * process is traced, or not, from its first instruction, and the --python-fn globs at every Python
 * call. Only '*' and '?' are special. The agent compiles each glob into position masks (a
 * bit-parallel shift-and automaton: bit j set = the glob's first j characters match so far), which
 * the kernel runs one step per character of the name (bpf/globs.bpf.h). A glob holds at most
 * PROFILIS_GLOB_MAX - 1 characters once runs of stars are collapsed. */
#define PROFILIS_GLOB_MAX 64
struct profilis_glob {
	__u64 star;	  /* positions holding a '*' (runs of stars collapsed to one) */
	__u64 accept;	  /* the position after the last character: a whole match */
	__u64 match[256]; /* per character: positions a '?' or that character holds */
};

/* A process name has at most 15 characters, so a longer comm glob is a mistake. */
#define PROFILIS_COMM_GLOB_MAX 32
#define PROFILIS_MAX_COMM_GLOBS 8
struct profilis_process_rules {
	__u32 include_count;
	__u32 exclude_count;
	/* Set with --include-container: a new process is excluded until the agent has read its
	 * cgroup and lets it in. */
	__u32 hold_new;
	__u32 _pad;
	struct profilis_glob include[PROFILIS_MAX_COMM_GLOBS];
	struct profilis_glob exclude[PROFILIS_MAX_COMM_GLOBS];
};

/* --python-fn [FILE_GLOB:]FUNC_GLOB: which Python functions CPython's function__entry probe
 * opens an FN span for. A call matches a filter when its function name (co_name) matches
 * `function` and its file's base name (co_filename after the last '/') matches `file`. */
#define PROFILIS_MAX_PYTHON_FNS 8
/* A function name (and a file's base name) is read this far for the filter (with the NUL)... */
#define PROFILIS_PYTHON_NAME_MAX 128
/* ...and a file name this far, to find its base name: longer paths are matched on their first
 * PROFILIS_PYTHON_PATH_MAX - 1 bytes. */
#define PROFILIS_PYTHON_PATH_MAX 256
/* Open traced Python calls kept per thread (a power of two, 32 KiB of task storage): more than
 * CPython's default recursion limit (1000). Deeper recursion of one function is counted and paired
 * by name, not reported. */
#define PROFILIS_PYTHON_MAX_DEPTH 1024

struct profilis_python_filter {
	struct profilis_glob file;
	struct profilis_glob function;
};

struct profilis_python_filters {
	__u32 count;
	__u32 any_file;	 /* bit i: filter i has no FILE_GLOB (every file) */
	__u32 aggregate; /* bit i: filter i's calls are added up in the kernel (--aggregate) */
	__u32 _pad;
	struct profilis_python_filter filters[PROFILIS_MAX_PYTHON_FNS];
};

/* The value of a profilis_python_aggregate_key's series, per CPU. */
struct profilis_python_aggregate {
	struct profilis_aggregate calls;
	char
	    name[PROFILIS_NAME_MAX]; /* empty in a CPU's copy where it has not run, or unreadable */
};

/* What the kernel tells the agent about processes under --node/--binary, on a ring of its own. */
enum profilis_process_notice_kind {
	PROFILIS_PROCESS_EXEC = 1,
	PROFILIS_PROCESS_EXIT = 2,
};

struct profilis_process_notice {
	__u32 kind; /* enum profilis_process_notice_kind */
	__u32 pid;
	__u32 verdict; /* enum profilis_pid_verdict given at exec */
	__u32 _pad;
	char comm[PROFILIS_COMM_LEN];
};

/* Index into the per-CPU `counters` array: why records were not produced or lost, and how many
 * were produced. */
enum profilis_counter {
	PROFILIS_DROP_RINGBUF_FULL = 0, /* ring buffer had no room: the event is lost */
	PROFILIS_DROP_TOO_DEEP =
	    1, /* nesting beyond PROFILIS_MAX_DEPTH: the call is not measured */
	PROFILIS_DROP_NO_STACK = 2,  /* per-thread stack could not be created */
	PROFILIS_DROP_ABANDONED = 3, /* calls left by a longjmp or exception unwind, discarded */
	PROFILIS_DROP_UNMATCHED = 4, /* a return with no matching entry (attached mid-call) */
	/* Not a drop: every record a probe tried to put in the ring buffer, whether there was room
	 * or not, so that produced = read by the agent + PROFILIS_DROP_RINGBUF_FULL. */
	PROFILIS_COUNT_PRODUCED = 5,
	/* --aggregate: a call of an aggregated function found no free series slot: not counted */
	PROFILIS_DROP_AGGREGATE_FULL = 6,
	PROFILIS_COUNTER__COUNT = 7,
};

/* What every record starts with, whatever its kind. */
struct profilis_record_header {
	__u32 kind; /* enum profilis_record_kind */
	__u32 pid;
	__u32 tid;
	__u32 _pad;
	__u64 start_ns; /* CLOCK_MONOTONIC */
	__u64 dur_ns;
	char comm[PROFILIS_COMM_LEN];
};

struct profilis_fn_record {
	struct profilis_record_header header; /* PROFILIS_RECORD_FN */
	__u64 fn_id; /* attach cookie: index into the agent's probe table */
	__u32 depth; /* open calls below this one on the same thread */
	__u32 _pad;
};

/* Marker strings that do not travel as text: bits of a record's `by_address` (the string is a
 * constant of the marker's object, sent as its address in marker object `object`, read by the agent
 * from the file) and `unreadable` (the kernel could not read it: its text is empty, and is not the
 * value). REQ records use METHOD and ROUTE, DB records VENDOR and QUERY, FN records NAME. */
enum profilis_string_field {
	PROFILIS_STR_METHOD = 1 << 0,
	PROFILIS_STR_ROUTE = 1 << 1,
	PROFILIS_STR_VENDOR = 1 << 0,
	PROFILIS_STR_QUERY = 1 << 1,
	PROFILIS_STR_NAME = 1 << 0,
};

/* How the two strings of a REQ or DB marker travel (bits as above; addr[0] and addr[1] are the
 * addresses of the strings with bit 1 << 0 and 1 << 1). */
struct profilis_marker_strings {
	__u64 addr[2];
	__u32 object;
	__u8 by_address;
	__u8 unreadable;
	__u16 _pad;
};

/* In the ring buffer a DB record ends after query_len bytes of query[]. */
struct profilis_db_record {
	struct profilis_record_header header; /* PROFILIS_RECORD_DB */
	__s64 rows;			      /* -1 when unknown */
	__u16 vendor;	 /* enum profilis_db_vendor; 0: the marker's vendor_name */
	__u8 error;	 /* the call failed or returned no result */
	__u8 truncated;	 /* the SQL text was longer than what was read */
	__u32 query_len; /* bytes of query[] that hold text (0: text unknown) */
	char vendor_name[PROFILIS_VENDOR_MAX]; /* NUL-terminated; only when vendor is 0 */
	/* addr: vendor, query. Client libraries set only PROFILIS_STR_QUERY in unreadable. */
	struct profilis_marker_strings strings;
	char query[PROFILIS_SQL_MAX];
};

struct profilis_req_record {
	struct profilis_record_header header; /* PROFILIS_RECORD_REQ */
	__s32 status;
	__u32 _pad;
	struct profilis_marker_strings strings; /* addr: method, route */
	char method[PROFILIS_METHOD_MAX]; /* NUL-terminated (empty when by address or unreadable) */
	char route[PROFILIS_ROUTE_MAX];
};

/* The name travels in `name`, or — when it is a constant of the marker's object — as its address:
 * name_addr then lies in the read-only memory the agent registered as marker object `name_object`
 * (the attach cookie), whose bytes are the file's, so the agent reads the name from the file, and
 * the record ends where `name` would begin. A --python-fn record names "file.py:function": the
 * file's base name (at most 63 bytes), ':' and the function name (at most 63 bytes). */
struct profilis_named_fn_record {
	struct profilis_record_header header; /* PROFILIS_RECORD_NAMED_FN */
	__u64 name_addr;		      /* when name_object is not 0 */
	__u32 name_object;		      /* 0: the name is in `name` */
	__u32 error;
	__u32 unreadable; /* PROFILIS_STR_NAME: the kernel could not read the name */
	__u32 _pad;
	char name[PROFILIS_NAME_MAX]; /* NUL-terminated (empty when unreadable) */
};

/* A marker object's read-only memory, [start, end), in its process. */
struct profilis_address_range {
	__u64 start;
	__u64 end;
};

#endif /* PROFILIS_RECORDS_H */
