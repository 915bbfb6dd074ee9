// Delivery::Link: what ties the Delivery handles of one Consumer to its ConsumerClient.
// Shared by the consumer and every handle it gave out, so that a handle outliving its
// consumer finds the link cut (client null) instead of a dangling client. The consumer
// cuts it when it stops, before it says bye: handles dropped after that reject nothing.
//
// Threads: the consumer's loop.
#pragma once

#include <cstdint>
#include <memory>

#include <peermq/delivery.hpp>

#include "service/consumer_client.hpp"

namespace peermq {

struct Delivery::Link {
  service::ConsumerClient* client = nullptr;  // null once the consumer stopped

  static Delivery make(std::shared_ptr<Link> link, std::uint64_t tag, std::uint64_t id) {
    return Delivery(std::move(link), tag, id);
  }
};

}  // namespace peermq
