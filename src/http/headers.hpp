#pragma once

// HTTP header lists as rbee's requests and responses carry them.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rbee::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The first header with this name (names compare case-insensitively), or empty.
std::string find_header(const HeaderList& headers, std::string_view name);

}  // namespace rbee::http
