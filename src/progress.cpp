#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <utility>

#include "netsweep/text.h"

namespace netsweep {
namespace {
constexpr auto kTtyInterval = std::chrono::milliseconds(250);
constexpr auto kLogInterval = std::chrono::seconds(10);

// A progress line: rewritten in place on a terminal, a line of its own in a log.
void show_progress(bool tty, const std::string& line) {
  if (tty)
    std::fprintf(stderr, "\r\x1b[2K%s%s", log_prefix().c_str(), line.c_str());
  else
    std::fprintf(stderr, "%s%s\n", log_prefix().c_str(), line.c_str());
  std::fflush(stderr);
}
}  // namespace

namespace {
std::string g_shard;  // set once per run, before any thread logs
}

void set_log_shard(const std::string& shard) { g_shard = shard; }

std::string log_prefix() {
  std::string prefix;
  if (!isatty(STDERR_FILENO)) {
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ ", std::gmtime(&t));
    prefix = buf;
  }
  if (!g_shard.empty()) prefix += "[shard " + g_shard + "] ";
  return prefix + "netsweep: ";
}

// One line, whatever a path in it holds.
void log_line(const std::string& message) {
  std::fprintf(stderr, "%s%s\n", log_prefix().c_str(), one_line(message).c_str());
}

std::string format_duration(double s) {
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}

CountProgress::CountProgress(std::string what, int64_t total, bool enabled, std::chrono::milliseconds quiet_for)
    : what_(std::move(what)),
      total_(total),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      quiet_for_(quiet_for.count() >= 0 ? std::chrono::steady_clock::duration(quiet_for)
                 : tty_                 ? std::chrono::steady_clock::duration(std::chrono::seconds(2))
                                        : std::chrono::steady_clock::duration(kLogInterval)),
      interval_(tty_ ? std::chrono::steady_clock::duration(kTtyInterval)
                     : std::chrono::steady_clock::duration(kLogInterval)),
      shown_(start_) {}

void CountProgress::clear() {
  if (live_) std::fprintf(stderr, "\r\x1b[2K");
  live_ = false;
}

void CountProgress::done(int64_t count) {
  if (!enabled_ || total_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - start_ < quiet_for_ || (shown_any_ && now - shown_ < interval_)) return;
  shown_ = now;
  shown_any_ = true;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction = double(std::min(count, total_)) / double(total_);
  char buf[160];
  std::snprintf(buf, sizeof buf, ": %lld/%lld networks (%.0f%%), %s elapsed, ETA %s", static_cast<long long>(count),
                static_cast<long long>(total_), 100 * fraction, format_duration(elapsed).c_str(),
                fraction > 0 ? format_duration(elapsed * (1 - fraction) / fraction).c_str() : "?");
  show_progress(tty_, one_line(what_) + buf);
  live_ = tty_;
}

ProgressReporter::ProgressReporter(const Progress& progress, int networks, bool enabled)
    : progress_(progress),
      networks_(networks),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {
  if (enabled_) thread_ = std::thread([this] { loop(); });
}

ProgressReporter::~ProgressReporter() { stop(); }

void ProgressReporter::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (enabled_) std::fprintf(stderr, "%s%s%s\n", tty_ ? "\r\x1b[2K" : "", log_prefix().c_str(), line(true).c_str());
}

std::string ProgressReporter::line(bool final) const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double done = double(progress_.work_done.load());
  const double fraction = progress_.work_total > 0 ? std::min(1.0, done / double(progress_.work_total)) : 0.0;
  const int64_t epochs_done = progress_.network_epochs.load();
  const double epochs_per_s =
      elapsed > 0 ? double(epochs_done - progress_.network_epochs_resumed.load()) / elapsed : 0.0;
  char buf[256];
  if (final) {
    std::snprintf(buf, sizeof buf, "%d/%d networks trained in %s (%.0f network-epochs/s)",
                  progress_.networks_done.load(), networks_, format_duration(elapsed).c_str(), epochs_per_s);
  } else {
    const std::string eta = fraction > 0.001 ? format_duration(elapsed * (1 - fraction) / fraction) : "?";
    // Network-epochs move from the first second; whole networks finish late.
    std::snprintf(buf, sizeof buf,
                  "%5.1f%% | %lld/%lld network-epochs | %d/%d networks done | %.0f network-epochs/s | %s elapsed | "
                  "ETA %s",
                  100 * fraction, static_cast<long long>(epochs_done),
                  static_cast<long long>(progress_.network_epochs_total), progress_.networks_done.load(), networks_,
                  epochs_per_s, format_duration(elapsed).c_str(), eta.c_str());
  }
  return buf;
}

void ProgressReporter::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock,
                         tty_ ? std::chrono::duration_cast<std::chrono::milliseconds>(kTtyInterval)
                              : std::chrono::duration_cast<std::chrono::milliseconds>(kLogInterval),
                         [&] { return stopping_; })) {
    show_progress(tty_, line(false));
  }
}

}  // namespace netsweep
