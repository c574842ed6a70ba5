// SQL normalizer throughput (issue 4: at least 200 MB/s of SQL on one core), on a mix of queries
// as ORMs, drivers and hand-written code send them: 14 of 56 to 209 bytes plus the short BEGIN and
// SELECT 1 that connection pools send (1683 bytes in all), and a 256-byte statement cut off by the
// kernel's default copy inside a string literal.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/pipeline/sql_normalize.h"

namespace {

const std::vector<std::string>& typical_queries() {
  static const std::vector<std::string> queries = {
      "SELECT id, email, created_at FROM users WHERE id = 48213",
      "SELECT * FROM sessions WHERE token = 'f3a9c2e1-77b4-4c1e-9d0a-6b2f8e5c1a3d' AND expires_at "
      "> "
      "NOW()",
      "INSERT INTO events (user_id, kind, payload, created_at) VALUES (1842, 'login', "
      "'{\"ip\":\"10.0.3.7\",\"agent\":\"curl/8.5\"}', '2024-06-11 09:12:44.123')",
      "UPDATE accounts SET balance = balance - 125.50, updated_at = now() WHERE id = 77 AND "
      "version = 12",
      "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE "
      "o.status IN ('paid', 'shipped', 'delivered') AND o.created_at >= '2024-01-01' ORDER BY "
      "o.created_at DESC LIMIT 50",
      "SELECT \"products\".\"id\", \"products\".\"name\", \"products\".\"price\" FROM "
      "\"products\" WHERE \"products\".\"category_id\" = $1 AND \"products\".\"active\" = TRUE",
      "DELETE FROM cart_items WHERE cart_id = 99120 AND product_id IN (12, 57, 381, 4410, 9)",
      "SELECT count(*) FROM page_views WHERE site_id = 3 AND viewed_at BETWEEN '2024-06-01' AND "
      "'2024-06-30' -- dashboard",
      "/* controller:orders,action:show */ SELECT `orders`.* FROM `orders` WHERE `orders`.`id` = "
      "104422 LIMIT 1",
      "SELECT name, setting FROM pg_settings WHERE name = 'max_connections'",
      "INSERT INTO metrics (host, ts, cpu, mem) VALUES ('web-07', 1718096400, 0.734, 6.2e9) ON "
      "CONFLICT (host, ts) DO UPDATE SET cpu = EXCLUDED.cpu",
      "SELECT u.id FROM users u WHERE u.org_id = 5 AND u.role <> 'guest' AND (u.flags & 0x04) = 0 "
      "AND u.deleted_at IS NULL",
      "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = 'worker-3' WHERE id "
      "= (SELECT id FROM jobs WHERE state = 'queued' ORDER BY priority DESC, id LIMIT 1 FOR UPDATE "
      "SKIP LOCKED) RETURNING id",
      "SELECT t1.a, t2.b FROM t1 LEFT JOIN t2 ON t2.t1_id = t1.id WHERE t1.x > -3.5 AND t2.y < "
      "1e-3",
      "BEGIN",
      "SELECT 1",
  };
  return queries;
}

void run(benchmark::State& state, const std::vector<std::string>& queries) {
  std::string out;
  out.reserve(1024);
  std::size_t bytes = 0;
  for (const auto& q : queries) bytes += q.size();
  for (auto _ : state) {
    for (const auto& q : queries) {
      profilis::normalize_sql(q, out);
      benchmark::DoNotOptimize(out.data());
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * queries.size()));
}

void BM_NormalizeTypicalMix(benchmark::State& state) { run(state, typical_queries()); }
BENCHMARK(BM_NormalizeTypicalMix)->MinTime(1.0);

// What the kernel hands over for a long statement: 256 bytes, cut inside a string literal.
void BM_NormalizeTruncatedLongQuery(benchmark::State& state) {
  std::string q =
      "INSERT INTO audit_log (actor, action, target, detail, at) VALUES ('svc-billing', "
      "'invoice.create', 'customer/88213', '";
  while (q.size() < 256) q += "line item 42 x 3.50 EUR; ";
  q.resize(256);
  run(state, {q});
}
BENCHMARK(BM_NormalizeTruncatedLongQuery)->MinTime(1.0);

}  // namespace
