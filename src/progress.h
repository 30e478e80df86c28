// The progress line: live and rewritten in place on a terminal, plain
// periodic lines otherwise (logs, batch jobs).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "netsweep/backend.h"

namespace netsweep {

class ProgressReporter {
 public:
  ProgressReporter(const Progress& progress, int networks, bool enabled);
  ~ProgressReporter();  // stops the thread and prints the final line
  void stop();
  // The line as shown now (final: the summary printed at the end).
  std::string line(bool final) const;

 private:
  void loop();

  const Progress& progress_;
  const int networks_;
  const bool enabled_, tty_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// Units of a long write done toward their total ("writing sweep.h5: 340/1080
// networks"), shown as the training line is (live on a terminal, a plain line
// every 10 s otherwise), from the working thread's own calls; nothing for work
// done within `quiet_for` (default: 2 s on a terminal, 10 s otherwise).
class CountProgress {
 public:
  CountProgress(std::string what, int64_t total, bool enabled,
                std::chrono::milliseconds quiet_for = std::chrono::milliseconds(-1));
  ~CountProgress() { clear(); }
  void done(int64_t count);
  void clear();  // the live line, before other output
  CountProgress(const CountProgress&) = delete;
  CountProgress& operator=(const CountProgress&) = delete;

 private:
  const std::string what_;
  const int64_t total_;
  const bool enabled_, tty_;
  const std::chrono::steady_clock::time_point start_;
  const std::chrono::steady_clock::duration quiet_for_, interval_;
  std::chrono::steady_clock::time_point shown_;
  bool shown_any_ = false;
  bool live_ = false;  // a live line is on the terminal
};

std::string format_duration(double seconds);

// One log line on stderr: "netsweep: MESSAGE", with a UTC timestamp and the
// shard (if any) in front when stderr is not a terminal (batch jobs, logs).
void log_line(const std::string& message);
void set_log_shard(const std::string& shard_label);  // "" for none
std::string log_prefix();

}  // namespace netsweep
