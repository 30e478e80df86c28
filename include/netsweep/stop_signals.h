// Host only: stopping on SIGTERM, SIGINT or SIGHUP (the terminal closed)
// between units of work, so that nothing half-written is left. `run` and
// netsweep-render hold a StopSignals while they work and check the flag where
// a stop is safe.
#pragma once

#include <signal.h>

#include <atomic>

namespace netsweep {

inline std::atomic<bool> g_stop_requested{false};
inline std::atomic<int> g_stop_signal{0};  // the signal that asked, 0: none
inline int g_stop_signals_held = 0;        // StopSignals alive (main thread only)

inline void on_stop_signal(int sig) {
  g_stop_signal = sig;
  g_stop_requested = true;
}

inline const char* signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

// For the whole program (both mains): output into a closed pipe (`2>&1 |
// head`) or past `ulimit -f` fails that write (EPIPE, EFBIG), which is
// reported, instead of killing the process with whatever it was writing.
inline void ignore_write_signals() {
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);
}

// The handlers, for the outermost object's lifetime (the flags cleared as it
// starts); nested ones (each part of a sweep inside the parts loop) keep them
// and a signal already noted.
class StopSignals {
 public:
  StopSignals() {
    if (g_stop_signals_held++ > 0) return;
    g_stop_requested = false;
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term_);
    sigaction(SIGINT, &sa, &old_int_);
    // Under nohup SIGHUP is ignored, and stays so.
    sigaction(SIGHUP, nullptr, &old_hup_);
    if (old_hup_.sa_handler != SIG_IGN) sigaction(SIGHUP, &sa, nullptr);
  }
  ~StopSignals() {
    if (--g_stop_signals_held > 0) return;
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGHUP, &old_hup_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_term_ {};
  struct sigaction old_int_ {};
  struct sigaction old_hup_ {};
};

}  // namespace netsweep
