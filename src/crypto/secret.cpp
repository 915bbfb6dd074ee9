#include <peermq/secret.hpp>

#include <sodium.h>

namespace peermq {

void secure_zero(void* data, std::size_t size) noexcept {
  sodium_memzero(data, size);
}

}  // namespace peermq
