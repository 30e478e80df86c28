// Paths the commands are given (results.h): where a results or plan file may
// be written (made under a temporary name beside the path, renamed onto it),
// and inputs that are the same file, or hold the same networks.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "h5.h"
#include "netsweep/checkpoint.h"
#include "netsweep/results.h"
#include "netsweep/shard.h"
#include "netsweep/spec.h"
#include "results_schema.h"

namespace netsweep {
namespace {
// An existing file at an output path is replaced only if netsweep wrote it
// (a results or plan file) or it is empty: anything else there (the run's own
// CSV or config, another program's HDF5 file) is data the rename would destroy.
void check_replaceable(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) == 0 && !ec) return;
  std::string format;
  try {
    const h5::Handle file = h5::open_for_reading(path);
    if (h5::has_attr(file, "format")) format = h5::get_string_attr(file, "format", path);
  } catch (const std::exception&) {  // not HDF5, damaged, or unreadable: not known to be netsweep's
  }
  if (format != kFormatName && format != results_schema::kPlanFormat)
    throw ResultsError(path +
                       ": exists and is not a netsweep results or plan file (or cannot be read); netsweep replaces "
                       "only its own files: remove it or give another name");
}

// This host's short name, as it can stand in a file name.
std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == 0) return "host";
  std::string host;
  for (const char* c = name; *c && *c != '.'; ++c)
    host += (std::isalnum(static_cast<unsigned char>(*c)) || *c == '-' || *c == '_') ? *c : '_';
  return host.empty() ? "host" : host;
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

std::string lock_holder(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  const bool held = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;  // sees OFD locks too (pid -1)
  ::close(fd);
  if (!held) return "";
  return probe.l_pid > 0 ? "process " + std::to_string(probe.l_pid) : "a process";
}

PartialLock::PartialLock(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
  struct flock lock {};
  lock.l_type = F_RDLCK;
  lock.l_whence = SEEK_SET;
  if (fd_ >= 0) ::fcntl(fd_, F_OFD_SETLK, &lock);  // without locks, the pid in the name decides
}

PartialLock::~PartialLock() {
  if (fd_ >= 0) ::close(fd_);
}

void sync_parent_directory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string partial_path(const std::string& path) {
  return path + ".partial-" + host_name() + "-" + std::to_string(::getpid());
}

std::vector<std::string> clear_stale_partials(const std::string& path, bool directories) {
  namespace fs = std::filesystem;
  std::vector<std::string> lines;
  std::error_code ec;
  const fs::path out(path);
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const std::string prefix = out.filename().string() + ".partial-", ours = prefix + host_name() + "-";
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid = name.compare(0, ours.size(), ours) == 0 ? name.substr(ours.size()) : "";
    const bool digits = !pid.empty() && pid.size() < 10 && pid.find_first_not_of("0123456789") == std::string::npos;
    const pid_t writer = digits ? pid_t(std::stol(pid)) : 0;  // 0: not this host's, or not a pid
    if (writer == ::getpid()) continue;
    std::error_code type_ec;  // what this output's writer makes: a file, or a gallery's directory
    const fs::file_status type = fs::symlink_status(dir / name, type_ec);
    if (directories ? !fs::is_directory(type) : !fs::is_regular_file(type)) continue;
    const std::string shown = out.parent_path().empty() ? name : (dir / name).string();
    // A partial its writer holds: two writers of one output, the last to rename would win unseen.
    if (const std::string holder = lock_holder((dir / name).string()); !holder.empty())
      throw ResultsError(path + ": another run is writing it now (" +
                         (writer > 0 ? "process " + std::to_string(writer) : holder) + ", into " + shown +
                         "); wait for it to end, or give another output");
    if (writer > 0 && !process_alive(writer)) {
      std::error_code removed;
      fs::remove_all(dir / name, removed);
      lines.push_back(removed ? "cannot remove " + shown + ", left by a process that is gone: " + removed.message()
                              : "removed " + shown + ", left by a process that is gone (killed before it finished)");
    } else if (writer > 0) {
      lines.push_back(shown + " exists: another process is writing " + path + " now");
    } else {
      lines.push_back(shown +
                      " exists: of another host, or not named as this host's netsweep names them; remove it "
                      "if no run is writing " +
                      path);
    }
  }
  return lines;
}

std::vector<std::string> claim_output(const std::string& output) {
  if (const std::string holder = checkpoint_holder(output + ".ckpt"); !holder.empty())
    throw ResultsError(output + ": another run is writing it now (" + holder + ", with its checkpoint in " + output +
                       ".ckpt); wait for it to end, or give another output");
  return clear_stale_partials(output);
}

void check_output_path(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) throw ResultsError("-o: the output path is empty");
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(path, ec);
  if (fs::is_symlink(status))
    throw ResultsError(path +
                       ": is a symbolic link; give the path of the file itself (the output is replaced by "
                       "renaming a new file into place, which would replace the link)");
  if (fs::is_directory(status) || fs::path(path).filename().empty())
    throw ResultsError(path + ": is a directory; give a file name (e.g. " + (fs::path(path) / "sweep.h5").string() +
                       ")");
  if (fs::exists(status) && !fs::is_regular_file(status))
    throw ResultsError(path + ": exists and is not a regular file (a device, FIFO or socket); give a file name");
  if (fs::is_regular_file(status)) check_replaceable(path);
  const fs::path dir = fs::absolute(path, ec).parent_path();
  if (ec || !fs::is_directory(dir, ec))
    throw ResultsError(path + ": the directory " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK) != 0)
    throw ResultsError(path + ": the directory " + dir.string() + " is not writable");
  const long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  const size_t temporary = fs::path(partial_path(path)).filename().string().size();
  if (name_max > 0 && temporary > size_t(name_max))
    throw ResultsError(path +
                       ": the file name is too long: it is written first as NAME.partial-HOST-PID, and names in " +
                       dir.string() + " have at most " + std::to_string(name_max) + " characters");
}

void check_distinct_inputs(const std::vector<std::string>& inputs) {
  for (size_t k = 0; k < inputs.size(); ++k)
    for (size_t j = 0; j < k; ++j) {
      std::error_code ec;
      if (std::filesystem::equivalent(inputs[j], inputs[k], ec))
        throw ResultsError(inputs[k] + ": given twice (as " + inputs[j] + ")");
    }
}

std::vector<ResultsFile> open_distinct(const std::vector<std::string>& inputs) {
  check_distinct_inputs(inputs);
  std::vector<ResultsFile> files;
  for (const auto& path : inputs) files.emplace_back(path);
  return files;
}

SweepSpec trained_spec(const ResultsFile& file, bool plane) {
  const SweepSource& source = file.sweep_source();
  const SweepSpec defaults;
  SweepSpec s = source.spec;
  s.features = file.features();
  s.outputs = s.outputs == 0 ? default_outputs(source.data) : s.outputs;
  s.snapshot_every = defaults.snapshot_every;
  if (!plane) {
    s.grid = defaults.grid;
    s.extent = defaults.extent;
  }
  s.neuron_maps = defaults.neuron_maps;
  s.record_weights = defaults.record_weights;
  s.neuron_grid = defaults.neuron_grid;
  return s;
}

namespace {
// What trains a network, written out: its own settings as a sweep of one (of a
// trained_spec), Adam's constants at their defaults for other optimizers.
std::string training_of(SweepSpec one, const NetworkConfig& n, size_t train_points) {
  const SweepSpec defaults;
  one.layers.clear();
  one.widths.clear();
  one.shapes = {n.hidden};
  one.activations = {n.activation};
  // Momentum 0 steps as sgd does: the same arithmetic, though a compiler's fused multiply-add
  // may round the two apart in the last bit (run refuses the two in one sweep).
  const bool plain = n.optimizer.kind == Optimizer::momentum && n.optimizer.momentum == 0;
  one.optimizers = {plain ? Optimizer::sgd : n.optimizer.kind};
  one.learning_rates = {float(n.optimizer.lr)};
  one.batch_sizes = {size_t(n.batch) >= train_points ? 0 : n.batch};  // a batch of them all: full batch
  one.seeds = 1;
  one.base_seed = n.seed;
  one.l1 = {float(n.optimizer.l1)};
  one.l2 = {float(n.optimizer.l2)};
  one.momentum = {one.optimizers[0] == Optimizer::momentum ? float(n.optimizer.momentum) : 0.0f};
  if (n.optimizer.kind != Optimizer::adam) {
    one.beta1 = defaults.beta1;
    one.beta2 = defaults.beta2;
    one.adam_eps = defaults.adam_eps;
  }
  // Under the id rule a network's streams follow its place in its sweep.
  return spec_to_json(one) + (n.streams == StreamRule::id ? " id " + std::to_string(n.id) : "");
}

// Each network's training (as training_of writes it, hashed with the points: up to
// a million networks a file), or where the stored spec or data does not stand the
// checks run applies, its place in its sweep.
std::vector<std::string> trainings(const ResultsFile& f) {
  std::vector<std::string> keys;
  try {
    const std::vector<NetworkConfig> configs = expand(f.sweep_source().spec);
    const SweepSpec spec = trained_spec(f);
    const std::string data = sweep_hash(SweepSpec{}, f.sweep_source().data);  // the points' hash
    const size_t points = f.sweep_source().data.train.size();
    for (const NetworkRow& row : f.networks()) {
      if (row.id < 0 || size_t(row.id) >= configs.size()) throw ResultsError("a network id out of its sweep");
      keys.push_back(data +
                     std::to_string(std::hash<std::string>{}(training_of(spec, configs[size_t(row.id)], points))));
    }
  } catch (const std::exception&) {
    keys.clear();
    for (const NetworkRow& row : f.networks()) keys.push_back(f.sweep_hash() + " network " + std::to_string(row.id));
  }
  return keys;
}
}  // namespace

std::string sweep_family(const ResultsFile& f) {
  if (f.sweep_hash().empty()) return "";
  try {
    SweepSpec spec = trained_spec(f, true);  // replicas are drawn and averaged on one plane
    spec.seeds = 1;
    spec.base_seed = 0;
    return sweep_hash(spec, f.sweep_source().data);
  } catch (const std::exception&) {
    return "";
  }
}

void check_distinct_networks(const std::vector<const ResultsFile*>& files,
                             const std::function<bool(const NetworkRow&)>& counted) {
  // A network trains the same in any sweep of the same data (its streams follow its seed and shape), so
  // two files hold the same network where its training is the same, not only where its sweep is.
  std::map<std::string, std::pair<const ResultsFile*, int>> seen;  // training -> (its first file, its id there)
  for (const ResultsFile* f : files) {
    if (f->sweep_hash().empty()) continue;  // files from before shards record no sweep
    const std::vector<std::string> keys = trainings(*f);
    for (size_t i = 0; i < keys.size(); ++i) {
      const NetworkRow& row = f->networks()[i];
      if (counted && !counted(row)) continue;
      if (const auto [it, fresh] = seen.emplace(keys[i], std::pair{f, row.id}); !fresh) {
        const auto [first, id] = it->second;
        throw ResultsError(f->path() + ": network " + std::to_string(row.id) + " (" + row.hidden_shape + " " +
                           row.activation + " " + row.optimizer + ", seed " + std::to_string(row.seed) +
                           ") is network " + std::to_string(id) + " of " + first->path() +
                           " too: the same data, settings and seed train it the same, whatever the files record "
                           "(--grid, --snapshot-every...) (a merged file given with its shards, a copy, or two sweeps "
                           "that overlap; tools/compare_results.py compares runs of one sweep); give each network "
                           "once (--runs selects in netsweep-render), or it counts twice");
      }
    }
  }
}

}  // namespace netsweep
