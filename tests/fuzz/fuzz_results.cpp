// Results, plan and checkpoint files: the input's bytes are written to a
// file and read as `netsweep info`, `run --from` and `run --resume` read it:
// ResultsFile and every accessor, read_sweep_source (then the spec checked and
// the problem built as --from would), and CheckpointStore::load on a fixed
// tiny sweep (with its frames.bin) followed by replay_frames.
//
// The checkpoint seed in the corpus is made by this binary:
//   NETSWEEP_FUZZ_WRITE_CHECKPOINT_SEED=state.h5 fuzz_results
#include "results_readers.h"

using namespace netsweep;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* out = std::getenv("NETSWEEP_FUZZ_WRITE_CHECKPOINT_SEED")) {
    fuzz::fixture().write_seed(out);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = fuzz::scratch_dir() + "/input.h5";
  fuzz::write_bytes(path, data, size);
  fuzz::read_all(path, data, size);
  return 0;
}
