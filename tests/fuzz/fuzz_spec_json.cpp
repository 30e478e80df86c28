// The sweep spec stored in results and plan files (`run --from`):
// spec_from_json, validate, network_count, a round trip through
// spec_to_json, and build_problem on a tiny dataset when the sweep is small.
#include "fuzz_util.h"

using namespace netsweep;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const SweepSpec s = spec_from_json(text);
    s.validate();
    // What was accepted is stored again unchanged.
    const std::string stored = spec_to_json(s);
    FUZZ_CHECK(spec_to_json(spec_from_json(stored)) == stored);
    fuzz::check_spec(s);
  } catch (const std::exception& e) {
    fuzz::refused(e);
  }
  return 0;
}
