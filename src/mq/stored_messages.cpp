#include "mq/stored_messages.hpp"

#include <cassert>
#include <cstring>

#include "wire/limits.hpp"

namespace peermq::mq {

namespace {

void copy_bytes(std::uint8_t* to, std::span<const std::uint8_t> from) noexcept {
  if (!from.empty()) std::memcpy(to, from.data(), from.size());
}

}  // namespace

// A block's first part (the encoded headers) has a 16-bit size, and its data a 24-bit one
// (mq/message_store.hpp).
static_assert(5 + limits::kMaxHeaders *
                      (5 + limits::kMaxHeaderName + 5 + limits::kMaxHeaderValue) <=
              0xffff);
static_assert(limits::kMaxPayload + limits::kMaxReasonText < (std::size_t{1} << 24));

Pos StoredMessages::create(std::uint64_t uid, const NewMessage& m, SlotState state) {
  const std::size_t header_bytes = m.headers.count == 0 ? 0 : m.headers.encoded.size();
  const auto size = static_cast<std::uint32_t>(header_bytes + m.payload.size());
  BlockSpec spec;
  spec.id = m.id;
  spec.producer = m.producer;
  spec.size = size;
  spec.first = static_cast<std::uint16_t>(header_bytes);
  spec.flags = static_cast<std::uint8_t>(m.flags & kKnownFlags);
  spec.expires = m.expires;
  const Pos p = store_.append(uid, state, spec);
  producers_.retain(m.producer);
  Slot& s = store_.at(p);
  copy_bytes(block_data(s), m.headers.encoded.first(header_bytes));
  copy_bytes(block_data(s) + header_bytes, m.payload);
  s.command = router_.intern_command(m.command);
  s.priority = static_cast<std::uint8_t>(m.priority & 0x0f);
  expiry_.note(m.expires);
  ++count_;
  bytes_ += size;
  return p;
}

void StoredMessages::drop(Pos p) {
  Slot& s = store_.at(p);
  assert(s.state == SlotState::held || s.state == SlotState::pending);
  --count_;
  bytes_ -= block_size(s);
  const std::uint32_t command = s.command;
  const std::uint32_t producer = block_producer(s);
  store_.kill(p);
  router_.release_command(command);
  producers_.release(producer);
}

}  // namespace peermq::mq
