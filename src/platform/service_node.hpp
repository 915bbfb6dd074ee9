// ServiceNode: BrokerNode, ConsumerNode, ProducerNode: a service (service/) on this process's network
// node (platform::Node: the host on a UDP socket) and the loop's executor. What the public
// API and the command line run; the simulator composes the same services on its own
// network and clock instead.
//
// start() starts the node, then the service; stop() stops the service (a broker syncs its
// log, a client says bye), then the node. Threads and lifetime: the Loop's.
#pragma once

#include <string>
#include <type_traits>

#include <peermq/counters.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "platform/loop_executor.hpp"
#include "platform/node.hpp"
#include "service/broker_client.hpp"
#include "service/broker_service.hpp"
#include "storage/posix_file_system.hpp"
#include "service/consumer_client.hpp"
#include "service/producer_client.hpp"

namespace peermq::platform {

class BrokerNode {
 public:
  BrokerNode(Loop& loop, Counters& counters, const Identity& identity, NodeOptions node,
             service::BrokerServiceOptions options)
      : executor_(loop),
        node_(loop, counters, identity, std::move(node)),
        service_(executor_, node_.host(), storage::posix_file_system(), counters,
                 std::move(options)) {}
  ~BrokerNode() { stop(); }

  // Recovers the log first: clients are served only once the broker is what it was.
  Result<void> start(std::string* detail) {
    if (auto s = service_.start(detail); !s) return s;
    return node_.start(detail);
  }
  void stop() noexcept {
    service_.stop();
    node_.stop();
  }
  service::BrokerService& service() noexcept { return service_; }
  Node& node() noexcept { return node_; }

 private:
  LoopExecutor executor_;
  Node node_;
  service::BrokerService service_;
};

// A broker client (ConsumerClient or ProducerClient) on a node whose host runs with
// client_host_options(): not announced, keeping its broker session alive.
template <class Client, class Options>
class ClientNode {
 public:
  ClientNode(Loop& loop, Counters& counters, const Identity& identity, NodeOptions node,
             Options options)
      : executor_(loop),
        node_(loop, counters, identity, client_node(std::move(node))),
        client_(make(std::move(options))) {}
  ~ClientNode() { stop(); }

  Result<void> start(std::string* detail) {
    if (auto s = node_.start(detail); !s) return s;
    return client_.start(detail);
  }
  void stop() noexcept {
    client_.stop();
    node_.stop();
  }
  Client& client() noexcept { return client_; }
  Node& node() noexcept { return node_; }

 private:
  static NodeOptions client_node(NodeOptions o) {
    o.host = service::client_host_options(std::move(o.host));
    return o;
  }
  // A producer has timers of its own; a consumer needs only the host.
  Client make(Options options) {
    if constexpr (std::is_constructible_v<Client, service::Executor&, overlay::Host&, Options>) {
      return Client(executor_, node_.host(), std::move(options));
    } else {
      return Client(node_.host(), std::move(options));
    }
  }

  LoopExecutor executor_;
  Node node_;
  Client client_;
};

using ConsumerNode = ClientNode<service::ConsumerClient, service::ConsumerClientOptions>;
using ProducerNode = ClientNode<service::ProducerClient, service::ProducerClientOptions>;

}  // namespace peermq::platform
