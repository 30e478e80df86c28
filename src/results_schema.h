// The results file's schema shared by its writer (results_writer.cpp) and
// its reader (results_reader.cpp): the networks table's columns and how each
// is stored, the plan file's format name, and the check of a row (results_schema.cpp).
// Internal to the results layer.
#pragma once

#include <cstdint>
#include <string>

#include "netsweep/results.h"

namespace netsweep::results_schema {

constexpr const char* kPlanFormat = "netsweep-plan";

// What a column is besides its name and field.
struct ColumnKind {
  bool added_later = false;  // files of earlier versions lack it: read as NaN there
  bool trained = false;      // training fills it in: what a network did, not what it is
};
constexpr ColumnKind kAddedInVersion1_1{true, false};
constexpr ColumnKind kTrained{false, true};

// The networks table: one dataset per NetworkRow field, written and read
// through this one list (in this order).
template <typename F>
void for_each_network_column(F&& column_of) {
  auto column = [&](const char* name, auto member, ColumnKind kind = {}) { column_of(name, member, kind); };
  column("id", &NetworkRow::id);
  column("hidden_shape", &NetworkRow::hidden_shape);
  column("hidden_layers", &NetworkRow::hidden_layers);
  column("width", &NetworkRow::width);
  column("uniform", &NetworkRow::uniform);
  column("activation", &NetworkRow::activation);
  column("optimizer", &NetworkRow::optimizer);
  column("lr", &NetworkRow::lr);
  column("batch", &NetworkRow::batch);
  column("l1", &NetworkRow::l1, kAddedInVersion1_1);
  column("l2", &NetworkRow::l2, kAddedInVersion1_1);
  column("momentum", &NetworkRow::momentum, kAddedInVersion1_1);
  column("seed", &NetworkRow::seed);
  column("replica", &NetworkRow::replica);
  column("status", &NetworkRow::status, kTrained);
  column("epochs_trained", &NetworkRow::epochs_trained, kTrained);
  column("parameters", &NetworkRow::parameters);
  column("final_epoch_loss", &NetworkRow::final_epoch_loss, kTrained);
  column("final_train_loss", &NetworkRow::final_train_loss, kTrained);
  column("final_test_loss", &NetworkRow::final_test_loss, kTrained);
  column("final_train_accuracy", &NetworkRow::final_train_accuracy, kTrained);
  column("final_test_accuracy", &NetworkRow::final_test_accuracy, kTrained);
  column("wall_seconds", &NetworkRow::wall_seconds, kTrained);
}

// How a NetworkRow field is stored: ints as int32, flags as int8, the rest as they are.
template <typename T>
struct Stored {
  using type = T;
};
template <>
struct Stored<int> {
  using type = int32_t;
};
template <>
struct Stored<bool> {
  using type = int8_t;
};

// A network's row against itself (its shape, parameter count and names describe
// one network); throws ResultsError naming the network and the column.
void check_network_row(const NetworkRow& r, int index, int64_t inputs, int64_t outputs, int64_t epochs,
                       const std::string& path);

}  // namespace netsweep::results_schema
