// Runs the netsweep binary (NETSWEEP_BINARY) with arguments; its exit code
// and its stdout and stderr together.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace netsweep::test {

struct CommandResult {
  int exit_code;
  std::string output;
};

// stderr_too false: stdout alone (a JSON document), stderr left to the test's log.
inline CommandResult run_cli(const std::string& args, bool stderr_too = true) {
  const std::string command = std::string(NETSWEEP_BINARY) + " " + args + (stderr_too ? " 2>&1" : "");
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace netsweep::test
