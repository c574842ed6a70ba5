/* The current thread's name, for records. */
#ifndef PROFILIS_CURRENT_COMM_BPF_H
#define PROFILIS_CURRENT_COMM_BPF_H

/* Copied straight from the task through its BTF pointer (two loads) rather than with
 * bpf_get_current_comm, a helper call that cost ~25 ns more per record here
 * (bench/usdt_overhead.sh). The kernel keeps comm NUL-terminated; a rename racing with the copy
 * may show a mix of the two names, as /proc does. */
static __always_inline void current_comm(char comm[16])
{
	struct task_struct *task = bpf_get_current_task_btf();
	__builtin_memcpy(comm, task->comm, 16);
}

#endif /* PROFILIS_CURRENT_COMM_BPF_H */
