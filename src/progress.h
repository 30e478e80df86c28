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

std::string format_duration(double seconds);

// One log line on stderr: "netsweep: MESSAGE", with a UTC timestamp and the
// shard (if any) in front when stderr is not a terminal (batch jobs, logs).
void log_line(const std::string& message);
void set_log_shard(const std::string& shard_label);  // "" for none
std::string log_prefix();

}  // namespace netsweep
