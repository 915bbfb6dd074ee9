#include "session/index_table.hpp"

#include <sodium.h>

namespace peermq::session {

std::uint32_t IndexTable::insert(Session* owner) {
  for (;;) {
    const std::uint32_t index = randombytes_random();
    if (index != 0 && table_.emplace(index, owner).second) return index;
  }
}

}  // namespace peermq::session
