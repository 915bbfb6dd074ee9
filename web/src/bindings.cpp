// The JavaScript face of the wasm module (embind): class WebNode (web_node.hpp) and the
// identity helpers. web/page/peermq.js is the one user; its Node class is the public API.
#include <emscripten/bind.h>

#include <sodium.h>

#include <peermq/identity.hpp>

#include "log/log.hpp"
#include "web_node.hpp"

namespace peermq::web {
namespace {

using emscripten::val;

// 64 hex digits -> seed; nullopt for anything else.
std::optional<Secret<kSeedSize>> seed_of(const std::string& hex) {
  Secret<kSeedSize> seed;
  std::size_t length = 0;
  if (hex.size() != 2 * kSeedSize ||
      sodium_hex2bin(seed.data(), seed.size(), hex.data(), hex.size(), nullptr, &length,
                     nullptr) != 0 ||
      length != kSeedSize) {
    return std::nullopt;
  }
  return seed;
}

std::string hex_of(const Secret<kSeedSize>& seed) {
  std::string hex(2 * kSeedSize + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), seed.data(), seed.size());
  hex.pop_back();
  return hex;
}

// A fresh seed from libsodium's randombytes (crypto.getRandomValues in a browser).
std::string generate_seed() {
  return hex_of(Identity::generate().seed());
}

// The address of a seed, "" if it is not 64 hex digits.
std::string address_of_seed(const std::string& seed_hex) {
  auto seed = seed_of(seed_hex);
  return seed ? Identity::from_seed(*seed).address().to_string() : std::string();
}

// new WebNode(seedHex, relayAddress or '', send): throws (a JS error) on a bad argument,
// the one place a caller's mistake cannot come back as a sentence.
WebNode* make_node(const std::string& seed_hex, const std::string& relay, val send) {
  auto seed = seed_of(seed_hex);
  if (!seed) throw std::invalid_argument("seed: 64 hex digits expected");
  std::optional<PublicKey> relay_key;
  if (!relay.empty()) {
    auto a = Address::parse(relay);
    if (!a) throw std::invalid_argument("relay: not an address: " + relay);
    relay_key = a->public_key();
  }
  return new WebNode(Identity::from_seed(*seed), relay_key, std::move(send));
}

// "error" .. "trace", as -log=LEVEL takes it; false for another word.
bool set_log_level(const std::string& level) {
  auto l = log::parse_level(level);
  if (l) log::set_level(*l);
  return l.ok();
}

}  // namespace

EMSCRIPTEN_BINDINGS(peermq) {
  emscripten::function("generateSeed", &generate_seed);
  emscripten::function("addressOfSeed", &address_of_seed);
  emscripten::function("setLogLevel", &set_log_level);
  emscripten::class_<WebNode>("WebNode")
      .constructor(&make_node, emscripten::allow_raw_pointers())
      .function("opened", &WebNode::opened)
      .function("closed", &WebNode::closed)
      .function("receive", &WebNode::receive)
      .function("onState", &WebNode::on_state)
      .function("address", &WebNode::address)
      .function("counters", &WebNode::counters)
      .function("addPeer", &WebNode::add_peer)
      .function("send", &WebNode::send)
      .function("onMessage", &WebNode::on_message)
      .function("consume", &WebNode::consume)
      .function("answer", &WebNode::answer)
      .function("reject", &WebNode::reject)
      .function("stopConsumer",
                emscripten::optional_override([](WebNode& n) { n.stop_consumer(); }))
      .function("produce", &WebNode::produce)
      .function("publish", &WebNode::publish)
      // embind of 3.1.6 takes no noexcept member pointers
      .function("close", emscripten::optional_override([](WebNode& n) { n.close(); }));
}

}  // namespace peermq::web
