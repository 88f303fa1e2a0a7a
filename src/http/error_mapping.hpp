#pragma once

#include "common/result.hpp"

namespace rbee::http {

// The HTTP status for an error code (the only place this mapping lives).
int http_status_for(ErrorCode code);
// The error code that best explains an HTTP status from a peer.
ErrorCode error_code_for_status(int status);

}  // namespace rbee::http
