// peer_common.hpp: what the peer clients of the comparison scripts share (nats_peer,
// rabbitmq_peer, zmq_peer): -name=value flags, a monotonic clock, and the two result lines the
// peermq producer prints, `latency: p50=Nus p99=Nus max=Nus` and `WORD: K/N` (WORD is
// "answers" or "confirmed"), so the scripts read every system's output alike.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace bench_peer {

// -name=value flags; anything else is a usage error (reported with the program's name).
struct Flags {
  std::map<std::string, std::string, std::less<>> values;

  bool parse(const char* program, int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      const std::string_view arg = argv[i];
      const auto eq = arg.find('=');
      if (arg.size() < 2 || arg[0] != '-' || eq == std::string_view::npos) {
        std::fprintf(stderr, "%s: bad flag %s (use -name=value)\n", program, argv[i]);
        return false;
      }
      values.emplace(std::string(arg.substr(1, eq - 1)), std::string(arg.substr(eq + 1)));
    }
    return true;
  }
  std::string text(std::string_view name, std::string_view fallback) const {
    const auto it = values.find(name);
    return it == values.end() ? std::string(fallback) : it->second;
  }
  std::int64_t integer(std::string_view name, std::int64_t fallback) const {
    const auto it = values.find(name);
    return it == values.end() ? fallback : std::strtoll(it->second.c_str(), nullptr, 10);
  }
};

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The latency line (none when nothing completed), then `word: done/count`; flushed.
inline void print_result(std::vector<std::int64_t>& latencies_us, std::uint64_t done,
                         std::uint64_t count, const char* word = "answers") {
  if (!latencies_us.empty()) {
    std::sort(latencies_us.begin(), latencies_us.end());
    const auto at = [&](double p) {
      const auto i = static_cast<std::size_t>(p * static_cast<double>(latencies_us.size()));
      return latencies_us[std::min(latencies_us.size() - 1, i)];
    };
    std::printf("latency: p50=%lldus p99=%lldus max=%lldus\n", static_cast<long long>(at(0.50)),
                static_cast<long long>(at(0.99)), static_cast<long long>(latencies_us.back()));
  }
  std::printf("%s: %llu/%llu\n", word, static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(count));
  std::fflush(stdout);
}

// The run shape every load mode takes: -count (1,000), -inflight (1), -size (100 bytes,
// at least 8: the first 8 carry the message id), -timeout (60 s).
struct Load {
  std::uint64_t count;
  std::uint64_t inflight;
  std::size_t size;
  std::int64_t timeout_ns;

  static Load from(const Flags& flags) {
    return Load{
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, flags.integer("count", 1000))),
        static_cast<std::uint64_t>(std::max<std::int64_t>(1, flags.integer("inflight", 1))),
        static_cast<std::size_t>(std::clamp<std::int64_t>(flags.integer("size", 100), 8, 1 << 20)),
        flags.integer("timeout", 60) * 1'000'000'000};
  }
  // A payload of `size` letters; its first 8 bytes are overwritten with each message's id.
  std::vector<char> payload() const {
    std::vector<char> p(size);
    for (std::size_t i = 0; i < size; ++i) p[i] = static_cast<char>('a' + i % 26);
    return p;
  }
};

}  // namespace bench_peer
