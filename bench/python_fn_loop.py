"""The loop bench/python_fn_overhead.sh times: CALLS calls of one small function, timed by the
loop thread's CPU time and by the wall clock.

Usage: /usr/bin/python3.11 bench/python_fn_loop.py CALLS [--wait]

Prints "ns_per_call WALL cpu_ns_per_call CPU": per iteration, the call and the loop around it.
With --wait it prints "ready" and waits for a line on stdin first (so that the agent can attach),
and after its result, prints "done" and waits for another line (so that the agent's BPF programs
can be looked at before the process exits and the agent with it).
"""

import sys
import time


def bench_target(x):
    return x


def loop(calls):
    for i in range(calls):
        bench_target(i)


def main():
    calls = int(sys.argv[1])
    if "--wait" in sys.argv:
        print("ready", flush=True)
        sys.stdin.readline()
    wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
    loop(calls)
    cpu, wall = time.thread_time_ns() - cpu, time.perf_counter_ns() - wall
    print(f"ns_per_call {wall / calls:.2f} cpu_ns_per_call {cpu / calls:.2f}", flush=True)
    if "--wait" in sys.argv:
        print("done", flush=True)
        sys.stdin.readline()


if __name__ == "__main__":
    main()
