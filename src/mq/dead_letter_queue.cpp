#include "mq/dead_letter_queue.hpp"

#include <cassert>

namespace peermq::mq {

void DeadLetterQueue::enter(Pos p, DeadLetterReason reason) noexcept {
  Slot& s = store_.at(p);
  assert(s.state == SlotState::held);
  s.state = SlotState::dead_letter;
  set_block_flags(
      s, static_cast<std::uint8_t>((block_flags(s) & 0x0f) | (static_cast<unsigned>(reason) << 4)));
  ++count_;
}

void DeadLetterQueue::leave(Pos p) noexcept {
  Slot& s = store_.at(p);
  assert(s.state == SlotState::dead_letter);
  s.state = SlotState::held;
  --count_;
}

void DeadLetterQueue::reset(Pos p) noexcept {
  Slot& s = store_.at(p);
  s.deliveries = 0;
  set_block_flags(s, block_flags(s) & 0x0f);
}

DlqListResult DeadLetterQueue::list(const DlqList& request) const {
  DlqListResult result;
  result.request_id = request.request_id;
  result.total = count_;
  if (request.after == ~std::uint64_t{0}) return result;
  const std::uint64_t scan_limit = std::uint64_t{request.max} * 1024;
  Pos p = store_.lower_bound(request.after + 1);
  std::uint64_t scanned = 0;
  for (; p < store_.tail() && result.entries.size() < request.max && scanned < scan_limit;
       ++p, ++scanned) {
    const Slot& s = store_.at(p);
    if (s.state != SlotState::dead_letter) continue;
    result.entries.push_back(DlqEntry{store_.uid(p), block_id(s), producers_.key(block_producer(s)),
                                      router_.command_name(s.command), s.deliveries, reason(s),
                                      block_size(s)});
  }
  if (p < store_.tail()) result.next = store_.uid(p - 1);
  return result;
}

void DeadLetterQueue::select(const DlqModify& request, std::vector<Pos>& out) const {
  if (request.all) {
    for (Pos p = store_.head(); p < store_.tail(); ++p) {
      if (store_.at(p).state == SlotState::dead_letter) out.push_back(p);
    }
    return;
  }
  for (std::uint64_t uid : request.uids) {
    const Pos p = store_.find_uid(uid);
    if (p != kNoPos) out.push_back(p);
  }
}

}  // namespace peermq::mq
