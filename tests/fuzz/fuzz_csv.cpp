// --csv FILE: parse_csv, then the dataset the CLI would make.
#include "fuzz_util.h"

using namespace netsweep;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const PointSet p = parse_csv(text, "fuzz.csv");
    fuzz::check_point_set(p);
    const Dataset d = make_dataset({p}, 0.2f, 3, "[]");
    validate_dataset(d, "fuzz");
    FUZZ_CHECK(d.train.size() + d.test.size() == p.size());
    FUZZ_CHECK(d.regression == (p.dims == 1));
  } catch (const std::exception& e) {
    fuzz::refused(e);
  }
  return 0;
}
