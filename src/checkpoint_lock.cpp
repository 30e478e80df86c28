// The checkpoint directory's lock (checkpoint.h): one run of an output at a
// time uses its checkpoint.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "netsweep/checkpoint.h"

namespace netsweep {
namespace fs = std::filesystem;

// Two runs of one output would overwrite each other's state and frames, and
// the first to finish remove the directory under the other: the second is
// refused. The lock goes with its process, however it ends (kill -9 too).
void CheckpointStore::lock_directory() {
  const std::string path = dir_ + "/lock";
  for (int attempt = 0; attempt < 10; ++attempt) {
    lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) throw ResultsError(path + ": cannot open: " + std::strerror(errno));
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (::fcntl(lock_fd_, F_SETLK, &lock) != 0) {
      if (errno == ENOLCK) {  // a file system without locks: the run goes on, and says so
        without_lock_ = true;
        return;
      }
      if (errno != EACCES && errno != EAGAIN) throw ResultsError(path + ": cannot lock: " + std::strerror(errno));
      ::close(lock_fd_);
      lock_fd_ = -1;
      const std::string holder = lock_holder(path);
      throw ResultsError(dir_ + ": in use by another run of the same output (" +
                         (holder.empty() ? std::string("a process") : holder) +
                         "); wait for it to end, or give another -o");
    }
    // Locked, but the lock file may have been removed (a run finishing) or
    // replaced since it was opened: a lock on that file guards nothing.
    struct stat held {};
    struct stat now {};
    if (::fstat(lock_fd_, &held) == 0 && ::stat(path.c_str(), &now) == 0 && held.st_dev == now.st_dev &&
        held.st_ino == now.st_ino)
      return;
    ::close(lock_fd_);
    lock_fd_ = -1;
    std::error_code ec;
    fs::create_directories(dir_, ec);
  }
  throw ResultsError(path + ": cannot lock: it keeps being replaced (other runs of the same output?)");
}

std::string checkpoint_holder(const std::string& dir) { return lock_holder(dir + "/lock"); }

}  // namespace netsweep
