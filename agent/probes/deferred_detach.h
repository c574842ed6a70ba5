// Detaching costs the kernel ~0.1 s per uprobe, mostly one at a time (an RCU grace period under a
// global lock): ~5 s for the ~50 probes of `--db auto`. So that the agent's exit does not wait for
// it, a child process takes over the probes' file descriptors and closes them once the agent has
// exited. The probes stay attached that long, but by then the BPF programs ignore every target.
#pragma once

namespace profilis {

// Forks the child that will close the probes; returns at once in the agent, which may then close
// its own copies cheaply and exit. Does nothing (the agent then detaches itself) if fork fails.
void defer_detach_to_child();

}  // namespace profilis
