// The consumer's deferred reply: Delivery handles kept past the handler, answered later,
// held() across reconnects, dropped, and outliving their consumer.
#include <peermq/delivery.hpp>

#include <chrono>
#include <optional>
#include <ostream>  // doctest prints std::error_code through it
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <peermq/broker.hpp>
#include <peermq/consumer.hpp>
#include <peermq/event_loop.hpp>
#include <peermq/producer.hpp>
#include <peermq/queue_error.hpp>

#include "api_test_util.hpp"

using namespace std::chrono_literals;
using namespace peermq;
using peermq::test::run_until;
using peermq::test::Scene;

namespace {

struct Kept {
  std::string text;
  Delivery delivery;
};

}  // namespace

TEST_CASE("a delivery kept past its handler is answered later, and only once") {
  Scene scene("deferred");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  std::vector<Kept> kept;
  Consumer consumer(loop, scene.consumer(broker.address(), {"slow"}));
  consumer.on_delivery([&](const Message& m, Delivery d) {
    CHECK(d.held());
    CHECK(d.id() == m.id);
    kept.push_back({std::string(m.text()), std::move(d)});
  });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(broker.address()));
  REQUIRE(producer.start());
  std::optional<Result<Answer>> answer;
  auto id = producer.publish("slow", "work", [&](Result<Answer> a) { answer.emplace(std::move(a)); });
  REQUIRE(id);

  REQUIRE(run_until(loop, [&] { return !kept.empty(); }, 10s));
  // The handler has returned long ago: the message is still ours, and unanswered.
  CHECK_FALSE(answer.has_value());
  CHECK(broker.stats().in_flight == 1);
  Delivery& d = kept.front().delivery;
  CHECK(d.held());
  CHECK(d.id() == *id);
  REQUIRE(d.answer("done: " + kept.front().text));
  CHECK_FALSE(d.held());
  CHECK(d.answer("again").error() == QueueError::not_held);
  CHECK(d.reject("too late").error() == QueueError::not_held);

  REQUIRE(run_until(loop, [&] { return answer.has_value(); }, 10s));
  REQUIRE_MESSAGE(*answer, answer->error().message());
  CHECK((*answer)->text() == "done: work");
  CHECK((*answer)->id == *id);
}

TEST_CASE("a delivery from before a reconnect is no longer held, and its answer is refused") {
  Scene scene("deferred-reconnect");
  EventLoop loop;
  BrokerOptions first = scene.broker("data-1");
  first.key_file = scene.path("broker.key");
  std::optional<Broker> broker(std::in_place, loop, first);
  REQUIRE(broker->start());
  const Address address = broker->address();
  std::vector<Kept> kept;
  Consumer consumer(loop, scene.consumer(address, {"slow"}));
  consumer.on_delivery([&](const Message& m, Delivery d) {
    kept.push_back({std::string(m.text()), std::move(d)});
  });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(address));
  REQUIRE(producer.start());
  PublishOptions stored_only;
  stored_only.want_answer = false;
  REQUIRE(producer.publish("slow", "first life", nullptr, stored_only));
  REQUIRE(run_until(loop, [&] { return !kept.empty(); }, 10s));
  REQUIRE(kept.front().delivery.held());

  // The same broker (its key) restarted on an empty log: it has nothing to deliver again,
  // so the old delivery stays void once the consumer has seen the restart.
  broker.reset();
  BrokerOptions second = scene.broker("data-2");
  second.key_file = first.key_file;
  broker.emplace(loop, second);
  REQUIRE(broker->start());
  CHECK(broker->address() == address);
  REQUIRE_MESSAGE(run_until(loop, [&] { return !kept.front().delivery.held(); }, 30s),
                  "the consumer did not notice the broker's restart");
  CHECK(kept.front().delivery.answer("from the first life").error() == QueueError::not_held);
  CHECK(kept.size() == 1);  // and nothing was delivered again
  // The consumer carries on with the new broker.
  std::optional<Result<Answer>> answer;
  REQUIRE(producer.publish("slow", "second life", [&](Result<Answer> a) { answer.emplace(a); }));
  REQUIRE(run_until(loop, [&] { return kept.size() == 2; }, 30s));
  CHECK(kept.back().text == "second life");
  REQUIRE(kept.back().delivery.answer("ok"));
  REQUIRE(run_until(loop, [&] { return answer.has_value(); }, 10s));
  CHECK((*answer)->text() == "ok");
}

TEST_CASE("a delivery the handler drops unanswered is rejected and comes again") {
  Scene scene("deferred-dropped");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  std::vector<std::uint32_t> seen;  // delivery counts
  Consumer consumer(loop, scene.consumer(broker.address(), {"job"}));
  consumer.on_delivery([&](const Message& m, Delivery d) {
    seen.push_back(m.delivery);
    if (m.delivery >= 2) (void)d.answer("second time lucky");
    // the first time, d goes out of scope unanswered
  });
  REQUIRE(consumer.start());
  Producer producer(loop, scene.producer(broker.address()));
  auto answer = producer.request("job", "x", 10s);
  REQUIRE_MESSAGE(answer, answer.error().message());
  CHECK(answer->text() == "second time lucky");
  CHECK(seen == std::vector<std::uint32_t>{1, 2});
}

TEST_CASE("a delivery that outlives its consumer holds nothing and says the consumer stopped") {
  Scene scene("deferred-outlived");
  EventLoop loop;
  Broker broker(loop, scene.broker());
  REQUIRE(broker.start());
  std::vector<Kept> kept;
  {
    Consumer consumer(loop, scene.consumer(broker.address(), {"job"}));
    consumer.on_delivery([&](const Message& m, Delivery d) {
      kept.push_back({std::string(m.text()), std::move(d)});
    });
    REQUIRE(consumer.start());
    Producer producer(loop, scene.producer(broker.address()));
    REQUIRE(producer.start());
    REQUIRE(producer.publish("job", "x", nullptr));
    REQUIRE(run_until(loop, [&] { return !kept.empty(); }, 10s));
    CHECK(kept.front().delivery.held());
  }
  CHECK_FALSE(kept.front().delivery.held());
  CHECK(kept.front().delivery.answer("late").error() == QueueError::stopped);
  CHECK(kept.front().delivery.reject("late").error() == QueueError::stopped);
}

TEST_CASE("an empty or moved-from delivery holds nothing") {
  Delivery empty;
  CHECK_FALSE(empty.held());
  CHECK(empty.id() == 0);
  CHECK(empty.answer("x").error() == QueueError::not_held);
  CHECK(empty.reject("x").error() == QueueError::not_held);
  Delivery moved = std::move(empty);
  CHECK_FALSE(moved.held());
  CHECK_FALSE(empty.held());  // NOLINT(bugprone-use-after-move): what a moved-from one does
}
