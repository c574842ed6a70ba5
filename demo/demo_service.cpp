// The bundled demo workload: a pretend HTTP service that serves "requests" in a loop. Each request
// is marked with the profilis USDT markers (REQ events), runs through a few functions — some marked
// with profilis::fn_scope (FN events from markers), one plain (an FN event when the agent is given
// --fn demo::checksum) — and queries a real SQLite database (DB events from the libsqlite3 probes).
// No exception crosses a function the agent may probe with --fn: a uretprobe replaces the return
// address the C++ unwinder needs (see the README's limits).
// With no agent attached the markers cost a load and a branch each.
#include <profilis/usdt.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace demo {

class Database {
 public:
  explicit Database(const char* path) {
    if (sqlite3_open(path, &db_) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
    exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, visits INTEGER)");
    for (int id = 0; id < 100; ++id) {
      exec("INSERT INTO users VALUES (" + std::to_string(id) + ", 'user-" + std::to_string(id) +
           "', 0)");
    }
  }
  ~Database() { sqlite3_close(db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Literals inline on purpose: the agent shows them redacted ("WHERE id = ?").
  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw std::runtime_error(message);
    }
  }

  std::string name_of(int id) {
    sqlite3_stmt* stmt = nullptr;
    const std::string sql = "SELECT name FROM users WHERE id = " + std::to_string(id);
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return {};
    std::string name;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      name = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return name;
  }

 private:
  sqlite3* db_ = nullptr;
};

// noinline keeps each function a real call (and so a real symbol) at -O2.
[[gnu::noinline]] std::uint64_t checksum(std::string_view payload) {
  std::uint64_t h = 1469598103934665603ull;
  for (int round = 0; round < 200; ++round) {
    for (unsigned char c : payload) h = (h ^ c) * 1099511628211ull;
  }
  return h;
}

[[gnu::noinline]] std::string fetch_user(Database& db, int id, unsigned jitter) {
  profilis::fn_scope scope("fetch_user");
  std::this_thread::sleep_for(std::chrono::microseconds(200 + jitter % 2000));  // the network
  std::string name = db.name_of(id);
  if (name.empty()) scope.fail();
  return name;
}

// False now and then, as a template error would: the FN event says error=true, the request 500.
[[gnu::noinline]] bool render(const std::string& user, unsigned jitter) {
  profilis::fn_scope scope("render");
  if (jitter % 50 == 0) {
    scope.fail();
    return false;
  }
  // The result is used, or GCC drops the call to this pure function, noinline or not.
  return checksum(user + std::string(256, 'x')) != 0;
}

[[gnu::noinline]] int handle_request(Database& db, int id, unsigned jitter) {
  static const char* const kRoutes[] = {"/users/{id}", "/users/{id}/profile", "/health"};
  const char* route = kRoutes[jitter % 3];
  profilis::req_scope request(jitter % 5 == 0 ? "POST" : "GET", route);
  if (route[1] == 'h') return 200;
  const std::string user = fetch_user(db, id % 120, jitter);  // ids ≥ 100 do not exist
  if (user.empty()) {
    request.set_status(404);
    return 404;
  }
  if (jitter % 5 == 0)
    db.exec("UPDATE users SET visits = visits + 1 WHERE id = " + std::to_string(id % 100));
  if (!render(user, jitter)) {
    request.set_status(500);
    return 500;
  }
  return 200;
}

}  // namespace demo

int main(int argc, char** argv) {
  // Optional argument: how many requests to serve (default: until killed).
  const long limit = argc > 1 ? std::strtol(argv[1], nullptr, 10) : -1;
  demo::Database db(":memory:");
  std::printf("demo_service: pid %d serving requests\n", static_cast<int>(getpid()));
  std::fflush(stdout);
  std::mt19937 rng(42);
  for (long i = 0; limit < 0 || i < limit; ++i) {
    demo::handle_request(db, static_cast<int>(i), static_cast<unsigned>(rng()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}
