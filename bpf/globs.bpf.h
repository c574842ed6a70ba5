/* The kernel's side of the globs the agent compiles (struct profilis_glob, agent/probes/
 * kernel_glob.h): one step of the shift-and automaton per character. Each caller runs its own
 * bounded loop over its name, so that the verifier sees a constant bound. */
#ifndef PROFILIS_GLOBS_BPF_H
#define PROFILIS_GLOBS_BPF_H

#include "profilis_records.h"

/* The state before the first character: nothing matched yet (and a leading '*' passed). */
static __always_inline __u64 glob_start(const struct profilis_glob *glob)
{
	return 1 | ((1 & glob->star) << 1);
}

/* The state after character `c`; 0 once no prefix of the glob can match any more. */
static __always_inline __u64 glob_step(const struct profilis_glob *glob, __u64 at, unsigned char c)
{
	__u64 next = ((at & glob->match[c]) << 1) | (at & glob->star);
	return next | ((next & glob->star) << 1);
}

/* Whether the state, at the end of the name, is a whole match. */
static __always_inline int glob_accepts(const struct profilis_glob *glob, __u64 at)
{
	return (at & glob->accept) != 0;
}

/* Whether the NUL-terminated `name`, looked at for at most `max` characters (a constant), matches.
 */
static __always_inline int glob_matches(const struct profilis_glob *glob, const char *name,
					const int max)
{
	__u64 at = glob_start(glob);
	for (int i = 0; i < max; i++) {
		unsigned char c = name[i];
		if (c == 0)
			break;
		at = glob_step(glob, at, c);
		if (!at)
			return 0;
	}
	return glob_accepts(glob, at);
}

/* A glob run over a long name by bpf_loop, which the verifier checks one step of instead of every
 * iteration: character i is name[(start + i) & GLOB_RUN_MASK], so `name` must have
 * GLOB_RUN_MASK + 1 readable bytes, and the name ends at its NUL. */
#define GLOB_RUN_MASK 511
struct glob_run {
	const struct profilis_glob *glob;
	const char *name;
	__u32 start;
	__u32 _pad;
	__u64 at;
};

static long glob_run_step(__u64 i, void *ctx)
{
	struct glob_run *run = ctx;
	unsigned char c = run->name[(run->start + i) & GLOB_RUN_MASK];
	if (c == 0)
		return 1;
	run->at = glob_step(run->glob, run->at, c);
	return run->at == 0;
}

/* Whether the name at `start` of `name` (see struct glob_run), looked at for at most `max`
 * characters, matches. */
static __always_inline int glob_run_matches(const struct profilis_glob *glob, const char *name,
					    __u32 start, __u32 max)
{
	struct glob_run run = {.glob = glob, .name = name, .start = start, .at = glob_start(glob)};
	bpf_loop(max, glob_run_step, &run, 0);
	return glob_accepts(glob, run.at);
}

#endif /* PROFILIS_GLOBS_BPF_H */
