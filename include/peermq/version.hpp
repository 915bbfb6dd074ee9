#pragma once

namespace peermq {

// The library's version, "MAJOR.MINOR.PATCH".
const char* version() noexcept;

}  // namespace peermq
