#include <peermq/version.hpp>

namespace peermq {

const char* version() noexcept { return PEERMQ_VERSION; }

}  // namespace peermq
