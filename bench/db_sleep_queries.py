#!/usr/bin/python3
# A client whose queries each take ~2 ms in the server (SELECT pg_sleep(0.002)), for
# bench/db_overhead.sh: the cost of tracing set against a query of a realistic length rather than
# pgbench's fastest. One connection, autocommit so that each query is one round trip (psycopg2
# would otherwise open a transaction with BEGIN). It connects first, so that the connection's set-up
# is not timed, then runs queries for SECONDS by its own clock and prints
# "queries N seconds S queries_per_second R".
# Usage: db_sleep_queries.py HOST PORT SECONDS
import sys
import time

import psycopg2


def main() -> None:
    host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    conn = psycopg2.connect(host=host, port=port, user="postgres", dbname="postgres")
    conn.autocommit = True
    cur = conn.cursor()
    queries = 0
    start = time.monotonic()
    end = start + seconds
    now = start
    while now < end:
        cur.execute("SELECT pg_sleep(0.002)")
        cur.fetchall()
        queries += 1
        now = time.monotonic()
    elapsed = now - start
    conn.close()
    print(f"queries {queries} seconds {elapsed:.6f} queries_per_second {queries / elapsed:.3f}")


if __name__ == "__main__":
    main()
