// --points FILE:LABEL: parse_points_json, then the dataset the CLI would make.
#include "fuzz_util.h"

using namespace netsweep;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const PointSet p = parse_points_json(text, 1, "fuzz.json");
    fuzz::check_point_set(p);
    FUZZ_CHECK(p.dims == 2);
    for (int l : p.labels) FUZZ_CHECK(l == 1);
    PointSet other;  // a second class, as with --points a.json:0 --points b.json:1
    other.coords = {0.5f, 0.5f};
    other.labels = {0};
    const Dataset d = make_dataset({p, other}, 0.25f, 7, "[]");
    validate_dataset(d, "fuzz");
    FUZZ_CHECK(d.classes == 2 && d.train.size() + d.test.size() == p.size() + 1);
  } catch (const std::exception& e) {
    fuzz::refused(e);
  }
  return 0;
}
