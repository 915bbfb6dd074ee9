#include "platform/async.hpp"

#include <atomic>
#include <thread>

#include <doctest/doctest.h>

#include "platform/timer.hpp"

using namespace std::chrono_literals;
using peermq::platform::Async;
using peermq::platform::Loop;
using peermq::platform::Timer;

TEST_CASE("another thread wakes the loop through Async") {
  Loop loop;
  Timer timeout(loop);
  timeout.start(5s, [&] { loop.stop(); });
  timeout.unref();

  std::atomic<int> produced{0};
  int seen = 0;
  Async wake(loop, [&] {
    seen = produced.load();
    if (seen == 3) loop.stop();
  });
  std::thread producer([&] {
    for (int i = 0; i < 3; ++i) {
      produced.fetch_add(1);
      wake.send();
    }
  });
  loop.run();
  producer.join();
  CHECK(seen == 3);  // sends may coalesce, but the last one is never lost
}
