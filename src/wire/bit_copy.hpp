// bit_copy<To>(from): the bits of `from` as a `To` of the same size, what C++20's
// std::bit_cast does. Written out with memcpy because not every standard library peermq
// builds with has std::bit_cast (libc++ 13, emscripten's, lacks it); compilers turn the
// copy into a register move.
#pragma once

#include <cstring>
#include <type_traits>

namespace peermq::wire {

template <class To, class From>
To bit_copy(const From& from) noexcept {
  static_assert(sizeof(To) == sizeof(From));
  static_assert(std::is_trivially_copyable_v<To> && std::is_trivially_copyable_v<From>);
  To to;
  std::memcpy(&to, &from, sizeof to);
  return to;
}

}  // namespace peermq::wire
