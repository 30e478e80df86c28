// `netsweep merge`: the shard files of one sweep joined into one results file.
#pragma once

#include <string>
#include <vector>

namespace netsweep {

// Writes `output` in the ordinary layout (info and the renderer cannot tell it
// from a single-process run). Checks one sweep hash, no missing or duplicated
// network; throws ResultsError naming the files otherwise.
void merge_results(const std::vector<std::string>& inputs, const std::string& output, const std::string& command_line,
                   bool quiet);

}  // namespace netsweep
