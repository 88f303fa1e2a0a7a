#include "common/program.hpp"

#include <unistd.h>

#include "common/files.hpp"

namespace rbee {

Result<ProgramSetup> load_program_setup() {
  RBEE_ASSIGN_OR_RETURN(Paths paths, Paths::from_process_environment());
  RBEE_RETURN_IF_ERROR(paths.create_directories());
  RBEE_ASSIGN_OR_RETURN(RbeeConfig config, load_config(paths.config_file()));
  return ProgramSetup{paths, config};
}

PidFileGuard::PidFileGuard(std::filesystem::path path) : path_(std::move(path)) {
  (void)write_file_atomic(path_, std::to_string(::getpid()) + "\n");
}

PidFileGuard::~PidFileGuard() {
  auto text = read_file(path_);
  if (text && *text == std::to_string(::getpid()) + "\n") {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
}

}  // namespace rbee
