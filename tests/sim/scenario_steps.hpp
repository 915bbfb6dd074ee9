// Steps the scenarios share: run the world until something holds, and say what did not.
// Each step adds a failure to the verdict when its condition is not met in time.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "sim/message_stream.hpp"
#include "sim/overlay_observer.hpp"
#include "sim/sim_world.hpp"
#include "sim/verdict.hpp"

namespace peermq::sim {

// Runs until every node given is registered with all its relays.
inline bool await_registered(SimWorld& w, Verdict& v, const std::vector<const SimNode*>& nodes,
                             Duration limit) {
  const bool ok = w.run_until(
      [&] {
        return std::all_of(nodes.begin(), nodes.end(),
                           [](const SimNode* n) { return registered_everywhere(*n); });
      },
      limit);
  return v.expect(ok, "every node registers with its relays");
}

// Runs until every stream has sent everything and all of it arrived; if that does not
// happen within `limit`, says what is missing.
inline bool drain(SimWorld& w, Verdict& v, const std::vector<MessageStream*>& streams,
                  Duration limit) {
  const auto all_sent = [&] {
    return std::all_of(streams.begin(), streams.end(),
                       [](const MessageStream* s) { return s->all_sent(); });
  };
  if (w.run_until([&] { return all_sent() && w.checker().complete(); }, limit)) return true;
  if (!all_sent()) v.fail("the streams did not send everything within the drain time");
  w.checker().judge_complete(v);
  return false;
}

// A restart of either end of `s` (the host's on_peer_reset) loses what the old runs had
// queued or half received: the checker excuses those messages, never a duplicate or a
// reorder. `reset`, when given, is set once it happened.
inline void excuse_losses_on_reset(SimWorld& w, SimNode& from, SimNode& to, const MessageStream& s,
                                   bool* reset = nullptr) {
  const DeliveryChecker::StreamId id = s.id();
  from.on_peer_reset([&w, &to, id, reset](const PublicKey& peer) {
    if (peer != to.key()) return;
    w.checker().excuse_losses(id);
    if (reset != nullptr) *reset = true;
  });
  to.on_peer_reset([&w, &from, id, reset](const PublicKey& peer) {
    if (peer != from.key()) return;
    w.checker().excuse_losses(id);
    if (reset != nullptr) *reset = true;
  });
}

}  // namespace peermq::sim
