/*
 * profilis/usdt.h — request, function and query markers that profilis-agent turns into REQ, FN
 * and DB events. C and C++; needs nothing but GCC or Clang (it writes the SystemTap SDT notes
 * itself, without <sys/sdt.h>).
 *
 *     #include <profilis/usdt.h>
 *
 *     int handle(const char* method, const char* route) {
 *       PROFILIS_REQ_BEGIN(method, route);
 *       PROFILIS_FN_BEGIN("load_user");
 *       int ok = load_user();
 *       PROFILIS_FN_END("load_user", !ok);
 *       PROFILIS_DB_BEGIN("sqlite", "SELECT name FROM users WHERE id = ?");
 *       long rows = run_query();
 *       PROFILIS_DB_END(rows, rows < 0);
 *       PROFILIS_REQ_END(200);
 *       return 0;
 *     }
 *
 *     // C++: the guards end on every way out, an exception included (which marks them failed).
 *     void handle(const char* route) {
 *       profilis::req_scope request("GET", route);      // status 500 if an exception leaves
 *       profilis::fn_scope work("handle");               // error=true if an exception leaves
 *       if (!authorized()) { request.set_status(403); return; }
 *       request.set_status(200);
 *     }
 *
 * Markers pair per thread, begin with end, and nest: the agent reports a REQ when REQ_END follows
 * REQ_BEGIN on the same thread, an FN per FN_BEGIN/FN_END, a DB per DB_BEGIN/DB_END. Strings are
 * read when the begin marker fires (the route and the query) or the end marker fires (the FN name),
 * so they only need to live until then; string constants of the marker's own file are read by the
 * agent from the file instead. A string the agent cannot read is reported empty and named in the
 * event's "unreadable" field. `error` is any integer, non-zero meaning failed; `rows` is
 * the row count, -1 when unknown; `status` an HTTP status.
 *
 * Cost. Every marker is guarded by its is-enabled semaphore, which the kernel raises only in the
 * processes an agent traces: with no agent a marker is a load, a compare and a not-taken branch,
 * and its arguments are not evaluated (so they may be expensive, but must not have side effects you
 * rely on). When traced, the probe site is a 5-byte NOP, which this kernel turns into a call to a
 * uprobe trampoline instead of a breakpoint trap. That call pushes below the stack pointer, where a
 * leaf function may keep live data (the x86-64 red zone), so the marker steps the stack pointer
 * over the 128-byte red zone around the site. Its arguments are passed in %rdi and %rsi (the
 * first and second), which lets the agent read them straight from the registers it is handed; a
 * string that is a constant is read by the agent from the file, not on every hit.
 *
 * Define PROFILIS_USDT_DISABLE to compile every marker away. On targets other than x86-64 the
 * markers compile to nothing. The C++ scope guards need C++17 (std::uncaught_exceptions); the
 * markers need C99 or C++11. The two instructions that step the stack pointer carry no CFI, so an
 * unwinder stopped exactly on a probe site of a function without a frame pointer sees a frame 128
 * bytes off (its CFA may be based on %rbp or %rsp, which an asm statement cannot know). Begin and
 * end are enabled separately, so an end may fire without its begin when an agent attaches mid-call;
 * the agent counts and drops it.
 */
#ifndef PROFILIS_USDT_H
#define PROFILIS_USDT_H

#if defined(__x86_64__) && !defined(PROFILIS_USDT_DISABLE)

/* One is-enabled semaphore per marker, in every object (executable or shared library) that uses
 * it: weak, so each translation unit may define it; hidden, so each object keeps its own, which is
 * what the note of each object points at and what the kernel counts in. */
#define PROFILIS__SEMAPHORE(marker) profilis_##marker##_semaphore
#define PROFILIS__DEFINE_SEMAPHORE(marker)                                                      \
  __attribute__((weak, visibility("hidden"), section(".probes"), used)) volatile unsigned short \
  PROFILIS__SEMAPHORE(marker)

#ifdef __cplusplus
extern "C" {
#endif
PROFILIS__DEFINE_SEMAPHORE(req_begin);
PROFILIS__DEFINE_SEMAPHORE(req_end);
PROFILIS__DEFINE_SEMAPHORE(fn_begin);
PROFILIS__DEFINE_SEMAPHORE(fn_end);
PROFILIS__DEFINE_SEMAPHORE(db_begin);
PROFILIS__DEFINE_SEMAPHORE(db_end);
#ifdef __cplusplus
}
#endif

#define PROFILIS__STR(x) #x
#define PROFILIS__XSTR(x) PROFILIS__STR(x)

/* The probe site: the 5-byte NOP (nopl 0(%rax,%rax,1)) the kernel optimizes, at local label 990. */
#define PROFILIS__NOP5 "990: .byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"
/* Its SDT note (the layout <sys/sdt.h> writes: the site's address, the .stapsdt.base address that
 * lets tools detect prelinking, the semaphore's address, then provider, name and argument specs).
 * Arguments are "8@%reg" / "-8@%reg": 64-bit values in registers, always %rdi then %rsi (the "D"
 * and "S" constraints below), the notes the agent recognizes to probe a site by registers. */
#define PROFILIS__NOTE(marker, argspec) \
  ".pushsection .note.stapsdt, \"?\", \"note\"\n\t"                              \
  ".balign 4\n\t"                                                                 \
  ".4byte 992f-991f, 994f-993f, 3\n\t"                                            \
  "991: .asciz \"stapsdt\"\n\t"                                                   \
  "992: .balign 4\n\t"                                                            \
  "993: .8byte 990b\n\t"                                                          \
  ".8byte _.stapsdt.base\n\t"                                                     \
  ".8byte " PROFILIS__XSTR(PROFILIS__SEMAPHORE(marker)) "\n\t"                    \
  ".asciz \"profilis\"\n\t"                                                       \
  ".asciz \"" #marker "\"\n\t"                                                    \
  ".asciz \"" argspec "\"\n\t"                                                    \
  "994: .balign 4\n\t"                                                            \
  ".popsection\n\t"                                                               \
  ".ifndef _.stapsdt.base\n\t"                                                    \
  ".pushsection .stapsdt.base, \"aG\", \"progbits\", .stapsdt.base, comdat\n\t" \
  ".weak _.stapsdt.base\n\t"                                                      \
  ".hidden _.stapsdt.base\n\t"                                                    \
  "_.stapsdt.base: .space 1\n\t"                                                  \
  ".size _.stapsdt.base, 1\n\t"                                                   \
  ".popsection\n\t"                                                               \
  ".endif"

/* The site with the stack pointer stepped over the red zone around it. */
#define PROFILIS__SITE(marker, argspec, ...)                                       \
  __asm__ __volatile__("lea -128(%%rsp), %%rsp\n\t" PROFILIS__NOP5                 \
                       "lea 128(%%rsp), %%rsp\n\t" PROFILIS__NOTE(marker, argspec) \
                       :                                                           \
                       : __VA_ARGS__                                               \
                       : "memory")

#define PROFILIS__ENABLED(marker) __builtin_expect(PROFILIS__SEMAPHORE(marker) != 0, 0)
#define PROFILIS__S64(x) ((long long)(x))
#define PROFILIS__PTR(x) ((unsigned long long)(const void*)(x))

#define PROFILIS_REQ_BEGIN(method, route)                                \
  do {                                                                   \
    if (PROFILIS__ENABLED(req_begin))                                    \
      PROFILIS__SITE(req_begin, "8@%0 8@%1", "D"(PROFILIS__PTR(method)), \
                     "S"(PROFILIS__PTR(route)));                         \
  } while (0)

#define PROFILIS_REQ_END(status)                                                                  \
  do {                                                                                            \
    if (PROFILIS__ENABLED(req_end)) PROFILIS__SITE(req_end, "-8@%0", "D"(PROFILIS__S64(status))); \
  } while (0)

#define PROFILIS_FN_BEGIN(name)                                                                  \
  do {                                                                                           \
    if (PROFILIS__ENABLED(fn_begin)) PROFILIS__SITE(fn_begin, "8@%0", "D"(PROFILIS__PTR(name))); \
  } while (0)

#define PROFILIS_FN_END(name, error)                                 \
  do {                                                               \
    if (PROFILIS__ENABLED(fn_end))                                   \
      PROFILIS__SITE(fn_end, "8@%0 -8@%1", "D"(PROFILIS__PTR(name)), \
                     "S"(PROFILIS__S64((error) != 0)));              \
  } while (0)

#define PROFILIS_DB_BEGIN(vendor, query)                                \
  do {                                                                  \
    if (PROFILIS__ENABLED(db_begin))                                    \
      PROFILIS__SITE(db_begin, "8@%0 8@%1", "D"(PROFILIS__PTR(vendor)), \
                     "S"(PROFILIS__PTR(query)));                        \
  } while (0)

#define PROFILIS_DB_END(rows, error)                                  \
  do {                                                                \
    if (PROFILIS__ENABLED(db_end))                                    \
      PROFILIS__SITE(db_end, "-8@%0 -8@%1", "D"(PROFILIS__S64(rows)), \
                     "S"(PROFILIS__S64((error) != 0)));               \
  } while (0)

#else /* not x86-64, or disabled */

#define PROFILIS_REQ_BEGIN(method, route) ((void)0)
#define PROFILIS_REQ_END(status) ((void)0)
#define PROFILIS_FN_BEGIN(name) ((void)0)
#define PROFILIS_FN_END(name, error) ((void)0)
#define PROFILIS_DB_BEGIN(vendor, query) ((void)0)
#define PROFILIS_DB_END(rows, error) ((void)0)

#endif

#ifdef __cplusplus
#include <exception>

namespace profilis {

/* The guards are hidden: each executable or library keeps its own copies of these inline members,
 * so a scope's begin and end markers fire from the same object's sites (default visibility would
 * let one object's copy interpose on another's). */
#define PROFILIS__HIDDEN __attribute__((visibility("hidden")))

/* An FN event from construction to destruction. `name` must outlive the scope. */
class PROFILIS__HIDDEN fn_scope {
 public:
  explicit fn_scope(const char* name) noexcept
      : name_(name), uncaught_(std::uncaught_exceptions()) {
    PROFILIS_FN_BEGIN(name);
  }
  ~fn_scope() { PROFILIS_FN_END(name_, failed_ || std::uncaught_exceptions() > uncaught_); }
  fn_scope(const fn_scope&) = delete;
  fn_scope& operator=(const fn_scope&) = delete;

  /* Reports the call as failed (error=true) even when it returns normally. */
  void fail() noexcept { failed_ = true; }

 private:
  const char* name_;
  int uncaught_;
  bool failed_ = false;
};

/* A REQ event from construction to destruction, with the status last set (200 unless set_status
 * says otherwise); 500 when an exception leaves the scope. `method` and `route` are read at
 * construction. */
class PROFILIS__HIDDEN req_scope {
 public:
  req_scope(const char* method, const char* route) noexcept
      : uncaught_(std::uncaught_exceptions()) {
    PROFILIS_REQ_BEGIN(method, route);
    (void)method;
    (void)route;
  }
  ~req_scope() { PROFILIS_REQ_END(std::uncaught_exceptions() > uncaught_ ? 500 : status_); }
  req_scope(const req_scope&) = delete;
  req_scope& operator=(const req_scope&) = delete;

  void set_status(int status) noexcept { status_ = status; }

 private:
  int uncaught_;
  int status_ = 200;
};

}  // namespace profilis
#endif /* __cplusplus */

#endif /* PROFILIS_USDT_H */
