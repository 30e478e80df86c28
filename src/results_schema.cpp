// The results schema's checks shared by the reader: what a network's row must
// say of itself before the pictures and summaries draw from it; and what a row
// says of its network (written by the writer, compared by merge).
#include "results_schema.h"

#include <cmath>
#include <type_traits>

#include "host_util.h"
#include "netsweep/problem.h"
#include "netsweep/results.h"
#include "netsweep/text.h"

namespace netsweep::results_schema {

void check_network_row(const NetworkRow& r, int index, int64_t inputs, int64_t outputs, int64_t epochs,
                       const std::string& path) {
  auto fail = [&](const std::string& field, const std::string& what) {
    throw ResultsError(path + ": network " + std::to_string(index) + ": networks/" + field + " " + what);
  };
  std::vector<int> hidden;
  if (r.hidden_shape != "0") {  // "0": no hidden layer
    try {
      hidden = parse_shape(r.hidden_shape);
    } catch (const SpecError&) {
      fail("hidden_shape", "'" + r.hidden_shape + "' is not a list of layer widths");
    }
  }
  if (int64_t(hidden.size()) != r.hidden_layers)
    fail("hidden_shape", "'" + r.hidden_shape + "' does not have networks/hidden_layers (" +
                             std::to_string(r.hidden_layers) + ") layers");
  for (int width : hidden)
    if (r.uniform ? width != r.width : r.width != -1)
      fail("width", std::to_string(r.width) + " does not match networks/hidden_shape '" + r.hidden_shape + "'");
  int64_t parameters = 0, in = inputs;  // saturating: every value here is the file's
  for (size_t l = 0; l <= hidden.size(); ++l) {
    const int64_t out = l < hidden.size() ? hidden[l] : outputs;
    parameters = saturating_add(parameters, saturating_mul(saturating_add(in, 1), out));
    in = out;
  }
  if (parameters != r.parameters)
    fail("parameters", std::to_string(r.parameters) + " is not what networks/hidden_shape '" + r.hidden_shape +
                           "' has with " + std::to_string(inputs) + " inputs and " + std::to_string(outputs) +
                           " outputs");
  auto known = [&](const char* field, const std::string& value, auto parse) {
    try {
      parse(value);
    } catch (const SpecError&) {
      fail(field, "'" + value + "' is not one netsweep knows");
    }
  };
  known("activation", r.activation, parse_activation);
  known("optimizer", r.optimizer, parse_optimizer);
  known("status", r.status, parse_status);
  if (r.batch < 0) fail("batch", "is negative");  // 0: full batch
  for (const auto& [field, value] : {std::pair<const char*, float>{"final_train_accuracy", r.final_train_accuracy},
                                     {"final_test_accuracy", r.final_test_accuracy}})
    if (value < 0 || value > 1) fail(field, "is not a share from 0 to 1");  // NaN: no such set
  if (r.epochs_trained < 0 || r.epochs_trained > epochs) fail("epochs_trained", "is not within 0..epochs");
  // Settings and a time that the tables print: a value no run writes would be printed as if one had.
  if (!(r.lr > 0) || std::isinf(r.lr)) fail("lr", "is not a positive learning rate");
  for (const auto& [field, value] : {std::pair<const char*, float>{"l1", r.l1}, {"l2", r.l2}})
    if (value < 0 || std::isinf(value)) fail(field, "is not a penalty of 0 or more");  // NaN: files before 1.1
  if (r.wall_seconds < 0 || std::isinf(r.wall_seconds)) fail("wall_seconds", "is not a time in seconds");
}

}  // namespace netsweep::results_schema

namespace netsweep {

NetworkRow network_identity(const TrainingProblem& p, size_t i) {
  const NetworkConfig& c = p.networks[i];
  NetworkRow row;
  row.id = c.id;
  row.hidden_shape = c.shape_label();
  row.hidden_layers = int(c.hidden.size());
  row.width = c.uniform && !c.hidden.empty() ? c.hidden[0] : -1;
  row.uniform = c.uniform;
  row.activation = to_string(c.activation);
  row.optimizer = to_string(c.optimizer.kind);
  row.lr = float(c.optimizer.lr);
  row.l1 = float(c.optimizer.l1);
  row.l2 = float(c.optimizer.l2);
  row.momentum = c.optimizer.kind == Optimizer::momentum ? float(c.optimizer.momentum) : NAN;
  row.batch = c.batch;
  row.seed = c.seed;
  row.replica = c.replica;
  row.parameters = p.layout.networks[i].count;
  return row;
}

RowDifference identity_difference(const NetworkRow& stored, const NetworkRow& want) {
  RowDifference d;
  results_schema::for_each_network_column([&](const char* name, auto member, results_schema::ColumnKind kind) {
    if (!d.column.empty() || kind.trained) return;
    const auto& a = stored.*member;
    const auto& b = want.*member;
    using T = std::decay_t<decltype(a)>;
    if constexpr (std::is_same_v<T, std::string>) {
      if (a != b) d = {name, a, b};
    } else if constexpr (std::is_floating_point_v<T>) {
      const bool missing = kind.added_later && std::isnan(a);  // NaN == NaN: momentum of other optimizers
      if (!missing && !(a == b || (std::isnan(a) && std::isnan(b)))) d = {name, format_number(a), format_number(b)};
    } else if (a != b) {
      d = {name, std::to_string(a), std::to_string(b)};
    }
  });
  return d;
}

}  // namespace netsweep
